"""`yessindo-bot doctor`: check the set-up, one line per check, exit 1 when any fails.

Each line is `ok`, `FAIL` or `skip` (a channel that is not configured), the check's
name and what was found. A line never carries a secret: passwords, tokens and keys are
only ever said to be set or not, and server answers are cut to their status.
The network checks are real: a Twilio API call with the configured credentials (to
`[whatsapp] api_base_url` when set), an IMAP login, an SMTP login.
"""
from __future__ import annotations

import os
import smtplib
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, TextIO

from bot.config import EMBEDDED, Settings

TIMEOUT = 15.0


@dataclass(frozen=True)
class Check:
    status: str  # "ok" | "FAIL" | "skip"
    name: str
    detail: str

    def line(self) -> str:
        return f"{self.status:<4}  {self.name}: {self.detail}"


def email_configured(settings: Settings) -> bool:
    """An IMAP account to read: a user, a password or an OAuth2 token is set."""
    e = settings.email
    return bool(e.imap_user or e.imap_password or e.imap_oauth2_token or os.environ.get("YESSINDO_EMAIL_OAUTH2_TOKEN"))


def run_checks(settings: Settings, out: TextIO) -> bool:
    """Print every check's line to `out`; True when none failed."""
    ok = True
    for check in checks(settings):
        out.write(check.line() + "\n")
        out.flush()
        ok = ok and check.status != "FAIL"
    return ok


def checks(settings: Settings) -> Iterator[Check]:
    if settings.source == EMBEDDED:
        yield Check("ok", "config", "no config file: the built-in defaults and the environment")
    else:
        yield Check("ok", "config", f"{settings.source} parses")
    yield _database(settings)
    yield from _permissions(settings)
    yield _secret_key(settings)
    yield _public_url(settings)
    yield _livechat(settings)
    for probe in (_twilio, _imap, _smtp):
        yield _guard(probe, settings)


def _guard(probe: Callable[[Settings], Check], settings: Settings) -> Check:
    try:
        return probe(settings)
    except Exception as exc:  # noqa: BLE001 - a check that crashes is a failed check, never a traceback
        return Check("FAIL", probe.__name__.strip("_"), f"{type(exc).__name__}")


# -- local files -------------------------------------------------------------------------

def _database(settings: Settings) -> Check:
    import sqlite3

    path = Path(settings.database)
    if not path.is_file():
        return Check("FAIL", "database", f"{path} does not exist (run `yessindo-bot init-db`)")
    try:
        conn = sqlite3.connect(f"file:{path.resolve()}?mode=ro", uri=True, timeout=10)
        try:
            tables = conn.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.Error as exc:
        return Check("FAIL", "database", f"{path}: {exc}")
    return Check("ok", "database", f"{path} opens ({tables} tables)")


def _secret_key_file(settings: Settings) -> Path:
    from bot.web.console_secret import SUFFIX

    return Path(settings.database + SUFFIX)  # where console_secret keeps a generated key


def _permissions(settings: Settings) -> Iterator[Check]:
    """The database, its WAL and shared-memory files and the generated key file: no
    access for other users, and no group access unless the operator chose a group."""
    from bot.first_login import password_file

    group = settings.storage_group
    db = settings.database
    files = [Path(db), Path(db + "-wal"), Path(db + "-shm"), _secret_key_file(settings),
             password_file(db)]  # the first password, when it was not shown on a terminal
    if settings.source != EMBEDDED and _config_holds_secret(Path(settings.source)):
        files.append(Path(settings.source))
    for path in files:
        try:
            mode = stat.S_IMODE(path.stat().st_mode)
        except FileNotFoundError:
            continue
        allowed = 0o040 if group else 0
        if mode & 0o077 & ~allowed:
            who = "other users" if mode & 0o007 else "its group"
            yield Check("FAIL", "permissions", f"{path} is {mode:04o}: readable by {who} (chmod 600 {path})")
        else:
            yield Check("ok", "permissions", f"{path} is {mode:04o}")


_SECRET_KEYS = {"whatsapp": ("auth_token",), "console": ("secret_key",),
                "email": ("imap_password", "smtp_password", "imap_oauth2_token")}


def _config_holds_secret(path: Path) -> bool:
    import tomllib

    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return any(isinstance(data.get(t), dict) and data[t].get(k) for t, keys in _SECRET_KEYS.items() for k in keys)


def _secret_key(settings: Settings) -> Check:
    if settings.secret_key:
        if len(settings.secret_key) < 16:
            return Check("FAIL", "secret key", "set, but shorter than 16 characters")
        return Check("ok", "secret key", "set (YESSINDO_SECRET_KEY or [console] secret_key)")
    path = _secret_key_file(settings)
    if not path.is_file():
        return Check("FAIL", "secret key", f"not set and no key file {path} (`serve` makes one; or set "
                                           "YESSINDO_SECRET_KEY)")
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        return Check("FAIL", "secret key", f"key file {path} is {mode:04o}, not 0600")
    return Check("ok", "secret key", f"key file {path} (0600)")


def _livechat(settings: Settings) -> Check:
    """The widget may be embedded only by the shop's own https pages (and simulator pages only on try-outs)."""
    lc = settings.livechat
    if not lc.enabled:
        return Check("skip", "live chat", "[livechat] enabled = false")
    plain = [o for o in lc.allowed_origins if o.startswith("http://")
             and o.split("://", 1)[1].split(":")[0] not in ("localhost", "127.0.0.1", "[::1]")]
    if plain:
        return Check("FAIL", "live chat", f"allowed_origins not https: {', '.join(plain)} (the visitor's token "
                                          "and messages would cross the network in clear)")
    if not lc.allowed_origins:
        return Check("ok", "live chat", "on; only this server's own pages may embed it "
                                        "(add the shop's site to [livechat] allowed_origins)")
    return Check("ok", "live chat", f"on; embeddable by {', '.join(lc.allowed_origins)}")


def _public_url(settings: Settings) -> Check:
    wa = settings.whatsapp
    if not wa.public_url:
        if wa.auth_token:
            return Check("FAIL", "public url", "[whatsapp] public_url is not set: set it to the exact https URL "
                                               "Twilio calls")
        return Check("skip", "public url", "WhatsApp not configured")
    if not wa.public_url.startswith("https://"):
        return Check("FAIL", "public url", f"{wa.public_url} is not https: Twilio must call over TLS")
    return Check("ok", "public url", wa.public_url)


# -- network -----------------------------------------------------------------------------

def _twilio(settings: Settings) -> Check:
    wa = settings.whatsapp
    if not (wa.account_sid and wa.auth_token):
        missing = " and ".join(n for n, v in (("account SID", wa.account_sid), ("auth token", wa.auth_token)) if not v)
        status = "FAIL" if (wa.account_sid or wa.auth_token) else "skip"
        return Check(status, "twilio", f"no {missing}" + (" (WhatsApp not configured)" if status == "skip" else ""))
    from twilio.base.exceptions import TwilioRestException
    from twilio.rest import Client

    from bot.channels.whatsapp_sender import RewritingHttpClient

    http = RewritingHttpClient(getattr(wa, "api_base_url", "") or "", timeout=TIMEOUT)
    client = Client(wa.account_sid, wa.auth_token, http_client=http)
    try:
        client.messages.list(limit=1)
    except TwilioRestException as exc:
        why = "credentials refused" if exc.status in (401, 403) else f"answered HTTP {exc.status}"
        return Check("FAIL", "twilio", f"account {_sid(wa.account_sid)}: {why}")
    except OSError as exc:
        return Check("FAIL", "twilio", f"cannot reach the API: {type(exc).__name__}")
    return Check("ok", "twilio", f"account {_sid(wa.account_sid)}: credentials accepted")


def _sid(sid: str) -> str:
    return sid[:6] + "…" if len(sid) > 6 else sid  # enough to tell accounts apart, not the whole id


def _imap(settings: Settings) -> Check:
    e = settings.email
    if not email_configured(settings):
        return Check("skip", "imap", "email not configured")
    from bot.channels.email_imap import IMAPSetupError, connect

    where = f"{e.imap_host}:{e.imap_port}"
    try:
        client = connect(e, timeout=TIMEOUT)
    except IMAPSetupError as exc:
        return Check("FAIL", "imap", f"{where}: {exc}")
    except Exception as exc:  # noqa: BLE001 - imaplib's errors carry the server's words, not ours
        return Check("FAIL", "imap", f"{where}: {_kind(exc)}")
    try:
        client.select_folder(e.imap_folder, readonly=True)
        folder = f", folder {e.imap_folder} readable"
    except Exception:  # noqa: BLE001
        client.logout()
        return Check("FAIL", "imap", f"{where}: logged in, but folder {e.imap_folder!r} cannot be opened")
    client.logout()
    return Check("ok", "imap", f"{where}: logged in as {e.imap_user or e.address}{folder}")


def _kind(exc: BaseException) -> str:
    """A failure's kind for the operator: never the server's text, which may echo the login."""
    text = str(exc).lower()
    if isinstance(exc, OSError):
        return f"cannot connect: {type(exc).__name__}"
    if "auth" in text or "login" in text or "credential" in text or "password" in text:
        return "credentials refused"
    return type(exc).__name__


def _smtp(settings: Settings) -> Check:
    e = settings.email
    if not email_configured(settings):
        return Check("skip", "smtp", "email not configured")
    from bot.channels.email_imap import LOCAL_HOSTS, tls_context

    where = f"{e.smtp_host}:{e.smtp_port}"
    user = e.smtp_user or e.imap_user or ""
    password = e.smtp_password or e.imap_password or ""
    smtp: smtplib.SMTP | None = None
    try:
        context = tls_context(e)
        if e.smtp_ssl:
            smtp = smtplib.SMTP_SSL(e.smtp_host, e.smtp_port, timeout=TIMEOUT, context=context)
        else:
            smtp = smtplib.SMTP(e.smtp_host, e.smtp_port, timeout=TIMEOUT)
            if e.smtp_starttls:
                smtp.starttls(context=context)
        smtp.ehlo_or_helo_if_needed()
        if not smtp.has_extn("auth"):
            return Check("ok", "smtp", f"{where}: connected; the server asks for no login")
        if not (user and password):
            return Check("FAIL", "smtp", f"{where}: the server wants a login and no user or password is set")
        if not (e.smtp_ssl or e.smtp_starttls) and e.smtp_host not in LOCAL_HOSTS:
            return Check("FAIL", "smtp", f"{where}: would send the password in clear text: set smtp_ssl or "
                                         "smtp_starttls")
        smtp.login(user, password)
        return Check("ok", "smtp", f"{where}: logged in as {user}")
    except smtplib.SMTPAuthenticationError as exc:
        return Check("FAIL", "smtp", f"{where}: login refused ({exc.smtp_code})")
    except (smtplib.SMTPException, OSError) as exc:
        return Check("FAIL", "smtp", f"{where}: {_kind(exc)}")
    finally:
        if smtp is not None:
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                smtp.close()


__all__: list[Any] = ["Check", "checks", "run_checks", "email_configured"]
