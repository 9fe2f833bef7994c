"""The Twilio side of the WhatsApp outbox: `messages.create`, `messages.list`, the loop.

The delivery logic (claims, retries, the 24-hour window, reconciliation and what
"never sends twice" guarantees) lives in `handoff.outbox`; this module only turns
Twilio's answers into `SendError`s and runs `deliver_due` in a background thread.

Settings read with getattr (optional until `bot/config.py` declares them):
- `settings.whatsapp.api_base_url`: send every `https://*.twilio.com` request to
  this base URL instead (tests point it at a local fake Twilio server); "" = real Twilio.
- `settings.whatsapp.template_content_sid`: the approved template (ContentSid) to
  offer when the 24-hour window is closed; "" = none configured.
- `settings.whatsapp.request_timeout`: seconds per Twilio HTTP request (default 10).
"""
from __future__ import annotations

import json
import logging
import re
import threading
from datetime import datetime, timezone
from typing import Any, Optional, Sequence

import requests
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from bot.logsafe import mask_phone
from handoff.outbox import ProviderMessage, SendError, deliver_due
from handoff.store import Store

log = logging.getLogger("yessindo.whatsapp.sender")

STATUS_PATH = "/webhooks/whatsapp/status"
_TWILIO_HOST = re.compile(r"^https://[A-Za-z0-9.-]*\.twilio\.com(?=/|$)")



def template_content_sid(settings: Any) -> str:
    """The approved template to send when the 24-hour window is closed ("" if none)."""
    return getattr(settings.whatsapp, "template_content_sid", "") or ""


def status_callback_url(settings: Any) -> str | None:
    """`<public base>/webhooks/whatsapp/status`, from `[whatsapp] public_url`; None when unset."""
    public = (getattr(settings.whatsapp, "public_url", "") or "").rstrip("/")
    if not public:
        return None
    if public.endswith("/webhooks/whatsapp"):
        public = public[: -len("/webhooks/whatsapp")]
    return public + STATUS_PATH


class RewritingHttpClient(TwilioHttpClient):
    """The twilio library's own HTTP client, optionally aimed at another base URL.

    With `base_url` set, `https://api.twilio.com/2010-04-01/...` becomes
    `<base_url>/2010-04-01/...`, so the real client library (request building,
    auth, paging, error parsing) is exercised against a local fake server.
    Also keeps the last response per thread (its headers carry Retry-After).
    """

    def __init__(self, base_url: str = "", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.base_url = (base_url or "").rstrip("/")
        self._local = threading.local()

    @property
    def last_response(self) -> Optional[Response]:
        return getattr(self._local, "response", None)

    def request(self, method: str, url: str, params: Any = None, data: Any = None, headers: Any = None,
                auth: Any = None, timeout: Optional[float] = None, allow_redirects: bool = False) -> Response:
        if self.base_url:
            url = _TWILIO_HOST.sub(self.base_url, url)
        self._local.response = None
        response = super().request(method, url, params=params, data=data, headers=headers, auth=auth,
                                   timeout=timeout, allow_redirects=allow_redirects)
        self._local.response = response
        return response


def _retry_after(response: Optional[Response]) -> float | None:
    if response is None or not response.headers:
        return None
    value = None
    for key, item in dict(response.headers).items():
        if key.lower() == "retry-after":
            value = item
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


class WhatsAppSender:
    """`handoff.outbox.Sender` over the real `twilio.rest.Client`. One per thread."""

    def __init__(self, settings: Any, *, timeout: float | None = None) -> None:
        wa = settings.whatsapp
        if not (wa.account_sid and wa.auth_token):
            raise ValueError("the WhatsApp sender needs [whatsapp] account_sid and auth_token "
                             "(or TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN)")
        timeout = timeout if timeout is not None else float(getattr(wa, "request_timeout", 10.0) or 10.0)
        self.http = RewritingHttpClient(getattr(wa, "api_base_url", "") or "", timeout=timeout)
        self.client = Client(wa.account_sid, wa.auth_token, http_client=self.http)
        self.from_number = wa.from_number
        self.status_callback = status_callback_url(settings)

    # -- Sender protocol ------------------------------------------------------------
    def create(self, to: str, *, body: str | None, content_sid: str | None,
               content_variables: dict[str, Any] | None) -> str:
        kwargs: dict[str, Any] = {"from_": self.from_number, "to": "whatsapp:" + to}
        if content_sid:
            kwargs["content_sid"] = content_sid
            if content_variables:
                kwargs["content_variables"] = json.dumps(content_variables, ensure_ascii=False)
        else:
            kwargs["body"] = body or ""
        if self.status_callback:
            kwargs["status_callback"] = self.status_callback
        try:
            message = self.client.messages.create(**kwargs)
        except TwilioRestException as exc:
            raise self._rest_error(exc) from None
        except requests.exceptions.RequestException as exc:
            raise _network_error(exc) from None
        except TwilioException as exc:
            raise SendError(f"Twilio client error: {exc}", permanent=True) from None
        log.info("whatsapp message %s sent to %s", message.sid, mask_phone(to))
        return str(message.sid)

    def recent(self, to: str, since: datetime) -> Sequence[ProviderMessage]:
        since_utc = since.astimezone(timezone.utc)
        found: dict[str, ProviderMessage] = {}
        try:
            # DateSent> first (what Twilio indexes), then the latest 20 without a date:
            # a message still queued at Twilio has no DateSent yet.
            for query in ({"date_sent_after": since_utc}, {}):
                for m in self.client.messages.list(to="whatsapp:" + to, from_=self.from_number, limit=20, **query):
                    created = m.date_created if isinstance(m.date_created, datetime) else None
                    found.setdefault(str(m.sid), ProviderMessage(
                        sid=str(m.sid), body=m.body or "", created_at=created,
                        direction=str(m.direction or "outbound-api")))
        except TwilioRestException as exc:
            err = self._rest_error(exc)
            # Listing failed: never treat that as "not sent"; the caller retries reconciliation.
            raise SendError("reconciliation failed: " + err.message, code=err.code, retry_after=err.retry_after,
                            maybe_sent=True) from None
        except requests.exceptions.RequestException as exc:
            raise SendError(f"reconciliation failed: {type(exc).__name__}", maybe_sent=True) from None
        return list(found.values())

    # -- errors ---------------------------------------------------------------------
    def _rest_error(self, exc: TwilioRestException) -> SendError:
        status = int(exc.status or 0)
        code = str(exc.code) if exc.code else f"HTTP {status}"
        message = f"Twilio {status} {code}: {exc.msg}"
        if status == 429:
            return SendError(message, code=code, retry_after=_retry_after(self.http.last_response))
        if status in (401, 403) and code in ("20003", "HTTP 401", "HTTP 403"):
            # Wrong credentials are the operator's to fix, not the message's fault: keep retrying.
            return SendError(message + " (check [whatsapp] account_sid / auth_token)", code=code)
        if status >= 500:
            # The message may have been created before the error: reconcile before resending.
            return SendError(message, code=code, maybe_sent=True)
        return SendError(message, code=code, permanent=True)


def _network_error(exc: requests.exceptions.RequestException) -> SendError:
    name = type(exc).__name__
    text = str(exc)
    never_reached = isinstance(exc, requests.exceptions.ConnectTimeout) or (
        isinstance(exc, requests.exceptions.ConnectionError)
        and ("NewConnectionError" in text or "Connection refused" in text or "Name or service" in text))
    return SendError(f"network error talking to Twilio ({name})", maybe_sent=not never_reached)


def run_sender_loop(settings: Any, stop_event: threading.Event, interval: float = 1.0, **deliver_kwargs: Any) -> None:
    """Deliver the WhatsApp outbox every `interval` seconds until `stop_event` is set.

    Meant for a background thread of `serve` (any number of workers may run it: the
    claims are exclusive). Without Twilio credentials it logs once and idles.
    """
    try:
        sender = WhatsAppSender(settings)
    except ValueError as exc:
        wa = settings.whatsapp  # nothing configured (a try-out): the banner already says so
        (log.warning if wa.account_sid or wa.auth_token else log.debug)("WhatsApp outbox sender not started: %s", exc)
        stop_event.wait()
        return
    store = Store(settings.database)
    try:
        while not stop_event.is_set():
            try:
                summary = deliver_due(store, sender, **deliver_kwargs)
                if summary.handled:
                    log.info("outbox: %d sent, %d reconciled, %d retried, %d failed, %d refused",
                             summary.sent, summary.reconciled, summary.retried, summary.failed, summary.refused)
            except Exception:  # keep the loop alive; the rows stay in the table
                log.exception("outbox delivery round failed")
            stop_event.wait(interval)
    finally:
        store.close()
