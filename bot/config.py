"""Settings: embedded defaults, then a TOML file, then the environment.

Which file: `--config PATH`, else `$YESSINDO_CONFIG`, else `./config.toml` when
present, else none (the embedded defaults alone: a SQLite file, no credentials,
the simulator on). Every key is checked; a bad one raises `ConfigError` naming
the file, the key and the problem.

The simulator's embedded default (on) is only a default for try-outs on one's own
machine: `serve` honours it only when bound to a loopback address (`make run`);
anywhere else the simulator runs only when asked for, by `[dev] simulator = true`
in a file or `YESSINDO_SIMULATOR=1` (see `simulator_for_bind`). A container
configured from the environment alone thus has no public /try.
"""
from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping

from bot.business_hours import HoursSettings
from bot.errors import ConfigError

REPO_ROOT = Path(__file__).resolve().parents[1]


def _default_knowledge_dir() -> Path:
    """knowledge/ beside the code in a checkout; the installed `yessindo_knowledge`
    package after a plain `pip install .`."""
    here = REPO_ROOT / "knowledge"
    if (here / "shop.toml").is_file():
        return here
    import importlib.util

    spec = importlib.util.find_spec("yessindo_knowledge")
    if spec is not None and spec.submodule_search_locations:
        return Path(list(spec.submodule_search_locations)[0])
    return here


DEFAULT_KNOWLEDGE_DIR = _default_knowledge_dir()
EMBEDDED = "<embedded defaults>"


@dataclass(frozen=True)
class WhatsAppSettings:
    from_number: str = "whatsapp:+6282129666065"
    account_sid: str = ""
    auth_token: str = ""
    public_url: str = ""
    template_content_sid: str = ""
    api_base_url: str = ""


@dataclass(frozen=True)
class EmailSettings:
    address: str = "ptyessindo@gmail.com"
    imap_host: str = "imap.gmail.com"
    imap_port: int = 993
    imap_ssl: bool = True
    imap_user: str = ""
    imap_password: str = ""
    imap_folder: str = "INBOX"
    smtp_host: str = "smtp.gmail.com"
    smtp_port: int = 465
    smtp_ssl: bool = True
    smtp_starttls: bool = False
    smtp_user: str = ""
    smtp_password: str = ""
    auto_replies_per_hour: int = 5
    ca_file: str = ""
    imap_oauth2_token: str = ""
    max_attachment_bytes_per_sender_day: int = 25 * 1024 * 1024
    max_attachment_bytes_per_mail: int = 10 * 1024 * 1024


@dataclass(frozen=True)
class LivechatSettings:
    """The website live-chat widget (channel `web`)."""

    enabled: bool = True
    allowed_origins: tuple[str, ...] = ()  # the shop site's origins that may embed it (own origin always)
    max_upload_bytes: int = 5 * 1024 * 1024
    messages_per_minute: int = 20  # per visitor
    messages_per_minute_per_address: int = 60  # per client address (many visitors behind one office NAT)
    new_visitors_per_hour_per_address: int = 30


@dataclass(frozen=True)
class DeskSettings:
    """[desk]: automatic assignment of new tickets (bot/desk_assign.py)."""

    auto_assign: bool = False  # round robin among online agents under their limit
    max_open_per_agent: int = 10  # held tickets per agent (agents.max_open overrides)


@dataclass(frozen=True)
class Settings:
    source: str = EMBEDDED
    database: str = "yessindo.db"
    retention_days: int = 0  # delete conversations idle this long (0 = keep forever)
    storage_group: str = ""  # [storage] group: the database files are 0640 for it ("" = owner only, 0600)
    knowledge_dir: Path = DEFAULT_KNOWLEDGE_DIR
    whatsapp: WhatsAppSettings = field(default_factory=WhatsAppSettings)
    email: EmailSettings = field(default_factory=EmailSettings)
    hours: HoursSettings = field(default_factory=HoursSettings)
    simulator: bool = True
    simulator_asked: bool = False  # set explicitly (file or YESSINDO_SIMULATOR), not the embedded default
    secret_key: str = ""
    trusted_proxies: int = 0  # reverse proxies in front of serve whose X-Forwarded-For/-Proto we believe
    livechat: LivechatSettings = field(default_factory=LivechatSettings)
    desk: DeskSettings = field(default_factory=DeskSettings)


# Key -> expected type, per table. `hours` is checked by HoursSettings itself.
_SCHEMA: dict[str, dict[str, type | tuple[type, ...]]] = {
    "storage": {"database": str, "retention_days": int, "group": str},
    "knowledge": {"dir": str},
    "whatsapp": {"from_number": str, "account_sid": str, "auth_token": str, "public_url": str,
                 "template_content_sid": str, "api_base_url": str},
    "email": {
        "address": str, "imap_host": str, "imap_port": int, "imap_ssl": bool,
        "imap_user": str, "imap_password": str, "imap_folder": str,
        "smtp_host": str, "smtp_port": int, "smtp_ssl": bool, "smtp_starttls": bool,
        "smtp_user": str, "smtp_password": str, "auto_replies_per_hour": int,
        "ca_file": str, "imap_oauth2_token": str, "max_attachment_bytes_per_sender_day": int,
        "max_attachment_bytes_per_mail": int,
    },
    "dev": {"simulator": bool},
    "livechat": {"enabled": bool, "allowed_origins": list, "max_upload_bytes": int, "messages_per_minute": int,
                 "messages_per_minute_per_address": int, "new_visitors_per_hour_per_address": int},
    "console": {"secret_key": str, "trusted_proxies": int},
    "desk": {"auto_assign": bool, "max_open_per_agent": int},
}


def find_config_path(explicit: str | None) -> Path | None:
    """The file the INTERFACE's lookup order picks, or None for the embedded defaults."""
    if explicit:
        return Path(explicit)
    env = os.environ.get("YESSINDO_CONFIG")
    if env:
        return Path(env)
    local = Path("config.toml")
    return local if local.is_file() else None


def load_settings(explicit: str | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """Read the settings the way every subcommand does."""
    environ = os.environ if environ is None else environ
    path = find_config_path(explicit)
    data: dict[str, Any] = {}
    source = EMBEDDED
    if path is not None:
        source = str(path)
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            raise ConfigError(source, "-", "file not found") from None
        except OSError as exc:
            raise ConfigError(source, "-", f"cannot read the file ({exc.strerror})") from None
        try:
            data = tomllib.loads(raw.decode("utf-8"))
        except UnicodeDecodeError:
            raise ConfigError(source, "-", "not UTF-8 text") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(source, "-", f"not valid TOML ({exc})") from None
    return settings_from_mapping(data, source, environ)


def settings_from_mapping(
    data: Mapping[str, Any], source: str = EMBEDDED, environ: Mapping[str, str] | None = None
) -> Settings:
    environ = {} if environ is None else environ
    for table, value in data.items():
        if table != "hours" and table not in _SCHEMA:
            raise ConfigError(source, table, f"unknown table (known: {', '.join(sorted([*_SCHEMA, 'hours']))})")
        if not isinstance(value, dict):
            raise ConfigError(source, table, "must be a table like [" + table + "]")
        if table == "hours":
            continue
        for key, item in value.items():
            expected = _SCHEMA[table].get(key)
            if expected is None:
                raise ConfigError(source, f"{table}.{key}", "unknown key")
            # bool is an int in Python: never accept true for a port.
            if not isinstance(item, expected) or (expected is int and isinstance(item, bool)):
                want = expected.__name__ if isinstance(expected, type) else "value"
                raise ConfigError(source, f"{table}.{key}", f"must be a {_TYPE_WORDS.get(want, want)}, got {item!r}")

    def table(name: str) -> dict[str, Any]:
        return dict(data.get(name, {}))

    storage, knowledge = table("storage"), table("knowledge")
    database = environ.get("YESSINDO_DATABASE") or storage.get("database") or Settings.database
    retention_days = storage.get("retention_days", Settings.retention_days)
    if retention_days < 0:
        raise ConfigError(source, "storage.retention_days",
                          f"must be 0 (keep forever) or a number of days, got {retention_days}")
    storage_group = storage.get("group", "").strip()
    if storage_group:
        from handoff.filemodes import group_id

        try:
            group_id(storage_group)
        except KeyError:
            raise ConfigError(source, "storage.group", f"no such group on this machine: {storage_group!r}") from None
    knowledge_dir = Path(knowledge["dir"]) if "dir" in knowledge else DEFAULT_KNOWLEDGE_DIR
    if not knowledge_dir.is_absolute() and source != EMBEDDED:
        knowledge_dir = (Path(source).parent / knowledge_dir).resolve()

    wa = table("whatsapp")
    if environ.get("TWILIO_ACCOUNT_SID"):
        wa["account_sid"] = environ["TWILIO_ACCOUNT_SID"]
    if environ.get("TWILIO_AUTH_TOKEN"):
        wa["auth_token"] = environ["TWILIO_AUTH_TOKEN"]
    whatsapp = WhatsAppSettings(**wa)
    if not whatsapp.from_number.startswith("whatsapp:+"):
        raise ConfigError(source, "whatsapp.from_number", 'must look like "whatsapp:+6282129666065"')
    if whatsapp.template_content_sid and not whatsapp.template_content_sid.startswith("HX"):
        raise ConfigError(source, "whatsapp.template_content_sid", "must be a Content SID starting with HX")
    if whatsapp.api_base_url and not whatsapp.api_base_url.startswith(("https://", "http://")):
        raise ConfigError(source, "whatsapp.api_base_url", "must be a URL such as http://127.0.0.1:8099")
    if whatsapp.public_url and not whatsapp.public_url.startswith(("https://", "http://")):
        raise ConfigError(source, "whatsapp.public_url", "must be the full URL Twilio calls, starting with https://")

    em = table("email")
    if environ.get("YESSINDO_EMAIL_PASSWORD"):
        em["imap_password"] = environ["YESSINDO_EMAIL_PASSWORD"]
        em["smtp_password"] = environ["YESSINDO_EMAIL_PASSWORD"]
    if environ.get("YESSINDO_EMAIL_OAUTH2_TOKEN"):
        em["imap_oauth2_token"] = environ["YESSINDO_EMAIL_OAUTH2_TOKEN"]
    email = EmailSettings(**em)
    if "@" not in email.address:
        raise ConfigError(source, "email.address", f"not an email address: {email.address!r}")
    for key in ("imap_port", "smtp_port"):
        port = getattr(email, key)
        if not 0 < port < 65536:
            raise ConfigError(source, f"email.{key}", f"not a TCP port: {port}")

    hours = HoursSettings.from_mapping(dict(data.get("hours", {})), source)
    simulator = table("dev").get("simulator", source == EMBEDDED)
    simulator_asked = "simulator" in table("dev")
    env_sim = environ.get("YESSINDO_SIMULATOR", "").strip().lower()
    if env_sim:
        if env_sim not in _SWITCH:
            raise ConfigError("YESSINDO_SIMULATOR", "YESSINDO_SIMULATOR", f"must be 1 or 0 (true or false), got {env_sim!r}")
        simulator, simulator_asked = _SWITCH[env_sim], True
    secret_key = environ.get("YESSINDO_SECRET_KEY") or table("console").get("secret_key", "")
    trusted_proxies = table("console").get("trusted_proxies", 0)
    if not 0 <= trusted_proxies <= 5:
        raise ConfigError(source, "console.trusted_proxies",
                          f"must be the number of reverse proxies in front of the server (0-5), got {trusted_proxies}")
    livechat = _livechat(table("livechat"), source)
    desk = DeskSettings(**table("desk"))
    if not 1 <= desk.max_open_per_agent <= 1000:
        raise ConfigError(source, "desk.max_open_per_agent", f"must be 1-1000, got {desk.max_open_per_agent}")
    return Settings(
        source=source,
        database=str(database),
        retention_days=retention_days,
        storage_group=storage_group,
        knowledge_dir=knowledge_dir,
        whatsapp=whatsapp,
        email=email,
        hours=hours,
        simulator=bool(simulator),
        simulator_asked=simulator_asked,
        secret_key=secret_key,
        trusted_proxies=trusted_proxies,
        livechat=livechat,
        desk=desk,
    )


def _origin(value: Any) -> str | None:
    """"https://shop.example/" -> "https://shop.example"; None when not a web origin."""
    if not isinstance(value, str):
        return None
    m = re.fullmatch(r"(https?)://([A-Za-z0-9.\-]+|\[[0-9A-Fa-f:.]+\])(:\d{1,5})?/?", value.strip())
    return f"{m.group(1)}://{m.group(2).lower()}{m.group(3) or ''}" if m else None


def _livechat(lc: dict[str, Any], source: str) -> LivechatSettings:
    origins = []
    for item in lc.pop("allowed_origins", []):
        origin = _origin(item)
        if origin is None:
            raise ConfigError(source, "livechat.allowed_origins",
                              f"each must be a site origin such as \"https://www.yessindo.co.id\", got {item!r}")
        origins.append(origin)
    settings = LivechatSettings(allowed_origins=tuple(dict.fromkeys(origins)), **lc)
    for key in ("max_upload_bytes", "messages_per_minute", "messages_per_minute_per_address",
                "new_visitors_per_hour_per_address"):
        if getattr(settings, key) < 1:
            raise ConfigError(source, f"livechat.{key}", f"must be 1 or more, got {getattr(settings, key)}")
    return settings


_TYPE_WORDS = {"str": "string", "int": "whole number", "bool": "true or false"}
_SWITCH = {"1": True, "true": True, "yes": True, "on": True, "0": False, "false": False, "no": False, "off": False}


def is_loopback(host: str) -> bool:
    """True for an address only this machine can reach (127.0.0.0/8, ::1, localhost)."""
    host = host.strip().strip("[]")
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def simulator_for_bind(settings: Settings, host: str) -> Settings:
    """The settings `serve` runs with on `host`: the simulator's embedded default (on)
    holds only on a loopback address with no reverse proxy trusted in front; elsewhere it
    must have been asked for. (A proxy in front of a loopback server with no config file
    at all cannot be seen from here: `serve` says why the simulator is on.)"""
    if settings.simulator and not settings.simulator_asked and (not is_loopback(host) or settings.trusted_proxies):
        return replace(settings, simulator=False)
    return settings
