"""Words and shapes of the agent console: Indonesian labels, times in the shop's zone,
and the plain dicts that both the templates and the polling JSON are made of.

Nothing here marks text as safe HTML: templates escape everything (Jinja autoescape)
and the JavaScript writes the JSON with textContent.
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta, tzinfo
from typing import Any
from urllib.parse import quote, urlsplit

from handoff.store import Ticket
from handoff.views import EventView, LastMessage, MessageView

CHANNEL_LABELS = {"whatsapp": "WhatsApp", "email": "Email", "web": "Live chat", "chat": "Chat"}
INTENT_LABELS = {
    "product": "Produk & stok",
    "order_status": "Status pesanan",
    "return_refund": "Pengembalian & refund",
    "payment": "Pembayaran",
    "account": "Akun & login",
    "feedback": "Saran & masukan",
    "greeting": "Sapaan",
    "hours": "Jam operasional",
    "contact": "Kontak",
    "escalation": "Eskalasi",
    "human": "Minta agen",
    "thanks": "Terima kasih",
    "unknown": "Tidak dikenali",
}
# The categories a ticket can have (the queue's category filter), in the policy's order.
TICKET_INTENTS = ("product", "order_status", "return_refund", "payment", "account", "feedback", "escalation",
                  "human", "unknown")
PRIORITY_LABELS = {"normal": "Normal", "complex": "Kompleks", "escalation": "Eskalasi"}
STATUS_LABELS = {"open": "Terbuka", "claimed": "Ditangani", "resolved": "Selesai"}
STATUS_FILTER_LABELS = {"active": "Aktif (terbuka + ditangani)", "open": "Terbuka", "claimed": "Ditangani",
                        "resolved": "Selesai"}
ROLE_LABELS = {"agent": "Agen", "supervisor": "Supervisor"}
DELIVERY_LABELS = {
    "pending": "Antre", "sending": "Antre", "queued": "Antre", "accepted": "Antre", "scheduled": "Antre",
    "sent": "Terkirim", "delivered": "Diterima", "read": "Dibaca",
    "failed": "Gagal", "undelivered": "Gagal", "refused": "Gagal",
}
DELIVERY_CLASS = {"Antre": "queued", "Terkirim": "sent", "Diterima": "delivered", "Dibaca": "read", "Gagal": "failed"}
ERROR_REASONS = {
    "63016": "di luar jendela 24 jam WhatsApp",
    "21617": "pesan terlalu panjang (maks. 1.600 karakter)",
    "21610": "pelanggan memblokir pesan (STOP)",
    "21211": "nomor tidak valid",
    "21614": "bukan nomor WhatsApp",
    "63003": "nomor tidak bisa menerima WhatsApp",
    "30003": "nomor tidak dapat dihubungi",
    "30005": "nomor tidak dikenal",
    "30006": "nomor tidak bisa menerima pesan",
    "30007": "ditolak operator (filter)",
    "30008": "kesalahan tidak diketahui",
}
EVENT_LABELS = {
    "conversation.created": "Percakapan dimulai",
    "ticket.created": "Tiket dibuat",
    "ticket.claimed": "Diambil alih",
    "ticket.taken_over": "Diambil alih oleh supervisor",
    "ticket.released": "Dilepaskan ke antrean",
    "ticket.resolved": "Diselesaikan",
    "ticket.escalated": "Dieskalasi ke supervisor",
    "ticket.first_response": "Respons pertama",
    "ticket.updated": "Tiket diperbarui",
    "agent.replied": "Membalas pelanggan",
    "agent.sent_template": "Mengirim template WhatsApp",
    "agent.emailed": "Mengirim email",
    "escalation.result_queued": "Hasil tertulis masuk antrean kirim",
    "outbound.queued": "Pesan masuk antrean kirim",
    "outbound.status": "Status pengiriman",
    "outbound.sent": "Pesan terkirim",
    "outbound.failed": "Pengiriman gagal",
    "canned.added": "Balasan tersimpan ditambahkan",
    "canned.changed": "Balasan tersimpan diubah",
    "canned.removed": "Balasan tersimpan dihapus",
    "customer.linked": "Identitas pelanggan ditautkan",
    "customer.unlinked": "Tautan identitas pelanggan dilepas",
    "csat.asked": "Pertanyaan kepuasan dikirim",
    "csat.recorded": "Pelanggan menilai layanan",
    # every other kind the code logs (tests/test_desk_bugs.py checks none is missing)
    "outbound.refused": "Pengiriman ditolak",
    "outbound.retry": "Pengiriman dicoba lagi",
    "ticket.priority_raised": "Prioritas dinaikkan bot",
    "case.withdrawn": "Pelanggan membatalkan pertanyaan",
    "complaint.recorded": "Keluhan dicatat",
    "feedback.recorded": "Masukan pelanggan dicatat",
    "secret.masked": "Data rahasia disamarkan",
    "message.silenced": "Bot diam (ditangani petugas)",
    "message.no_auto_reply": "Tanpa jawaban otomatis",
    "agent.added": "Petugas ditambahkan",
    "agent.password_changed": "Kata sandi petugas diganti",
    "agent.removed": "Petugas dihapus",
    "customer.forgotten": "Data pelanggan dihapus",
    "retention.purged": "Data lama dibersihkan",
    "email.unparseable": "Email tidak terbaca",
    "email.not_answered": "Email tidak dijawab otomatis",
    "email.quarantined": "Email dikarantina",
    "email.uidvalidity_changed": "Kotak surat diatur ulang server",
    "livechat.contact_given": "Pengunjung live chat memberi kontak",
    "livechat.code_sent": "Kode verifikasi dikirim",
    "livechat.email_verified": "Email pengunjung terverifikasi",
    "livechat.phone_verified": "WhatsApp pengunjung terverifikasi",
    "simulator.clock_set": "Jam simulator diubah",
}
# Kinds older databases hold but the code no longer logs: labelled, not offered in the filter.
LEGACY_EVENT_LABELS = {
    "escalation.result_sent": "Hasil tertulis masuk antrean kirim",  # it was only ever queued
    "csat.answered": "Pelanggan menilai layanan",
}
EVENT_LABELS["note.added"] = "Catatan internal ditambahkan"  # handoff/notes.py (issue 12)
EVENT_LABELS.update({  # bot/desk_triage.py, bot/desk_assign.py (issue 12)
    "label.created": "Label dibuat", "label.deleted": "Label dihapus", "ticket.labeled": "Label ditambahkan",
    "ticket.unlabeled": "Label dilepas", "ticket.category_changed": "Kategori diubah",
    "ticket.priority_changed": "Prioritas diubah", "ticket.reopened": "Tiket dibuka kembali",
    "ticket.snoozed": "Ditunda (menunggu pelanggan)", "ticket.unsnoozed": "Penundaan berakhir",
    "ticket.assigned": "Ditugaskan", "agent.status_changed": "Status petugas diubah"})
STATUS_FILTER_LABELS["snoozed"] = "Ditunda (menunggu pelanggan)"  # bot/desk_triage.py snooze
EVENT_LABELS.update({"agent.password_reset": "Kata sandi petugas diatur ulang",  # bot/web/console_people.py (issue 12)
                     "agent.role_changed": "Peran petugas diubah"})
# Event data worth showing, with Indonesian names.
_EVENT_DATA = {"reason": "alasan", "status": "status", "recorded": "tercatat", "error_code": "kode galat",
               "intent": "kategori", "priority": "prioritas", "due_at": "batas", "via": "lewat", "kind": "jenis",
               "within_promise": "tepat waktu", "score": "nilai", "csat": "nilai", "outbox_id": "outbox",
               "internal_note": "catatan internal", "from": "dari", "no_reply": "tanpa balasan ke pelanggan"}
_EVENT_DATA.update({"to": "ke", "label": "label"})  # bot/desk_triage.py, bot/desk_assign.py (issue 12)
_EVENT_DATA.update({"agent": "petugas", "role": "peran", "sessions_ended": "sesi diakhiri"})  # agent.* (console_people)
_EVENT_DATA.update({"shortcut": "pintasan", "lang": "bahasa"})  # canned.* (handoff/canned.py)

_DAYS = ("Sen", "Sel", "Rab", "Kam", "Jum", "Sab", "Min")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "Mei", "Jun", "Jul", "Agu", "Sep", "Okt", "Nov", "Des")


class Fmt:
    """Times in the shop's zone ("Sel 24 Nov 10.15 WIB")."""

    def __init__(self, tz: tzinfo, zone: str) -> None:
        self.tz = tz
        self.zone = zone

    def when(self, t: datetime | None, *, zone: bool = True) -> str:
        if t is None:
            return "—"
        local = t.astimezone(self.tz)
        text = f"{_DAYS[local.weekday()]} {local.day} {_MONTHS[local.month - 1]} {local.hour:02d}.{local.minute:02d}"
        return f"{text} {self.zone}" if zone else text

    def iso(self, t: datetime | None) -> str | None:
        return t.astimezone(self.tz).isoformat(timespec="seconds") if t else None


def duration(delta: timedelta) -> str:
    from handoff.sla import format_duration

    return format_duration(delta)


# -- the queue ------------------------------------------------------------------------------
def preview(last: LastMessage | None, limit: int = 140) -> tuple[str, str]:
    """(who, text) of a conversation's last message, one line."""
    if last is None:
        return "", ""
    who = "Pelanggan" if last.direction == "in" else ("Bot" if last.author in (None, "bot") else last.author or "")
    text = " ".join(last.text.split())
    if not text and last.attachments:
        text = f"[{last.attachments} lampiran]"
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return who, text


def queue_row(ticket: Ticket, last: LastMessage | None, sla: Any, fmt: Fmt, me: str,
              labels: tuple[str, ...] = ()) -> dict[str, Any]:
    who, text = preview(last)
    classes = [c for c, on in (("late", sla.state == "late"), ("at-risk", sla.state == "at_risk"),
                               ("escalation", ticket.priority == "escalation"),
                               ("mine", bool(ticket.agent) and ticket.agent == me)) if on]
    return {
        "classes": " ".join(classes),
        "ref": ticket.ref,
        "url": f"/console/t/{ticket.ref}",
        "channel": ticket.channel,
        "channel_label": CHANNEL_LABELS.get(ticket.channel, ticket.channel),
        "customer": ticket.customer,
        "intent": ticket.intent,
        "intent_label": INTENT_LABELS.get(ticket.intent, ticket.intent),
        "priority": ticket.priority,
        "priority_label": PRIORITY_LABELS.get(ticket.priority, ticket.priority),
        "supervisor": ticket.priority == "escalation",
        "status": ticket.status,
        "status_label": STATUS_LABELS.get(ticket.status, ticket.status),
        "agent": ticket.agent,
        "mine": bool(ticket.agent) and ticket.agent == me,
        "due": fmt.when(ticket.due_at),
        "due_iso": fmt.iso(ticket.due_at),
        "sla_label": sla.label,
        "sla_state": sla.state,
        "sla_paused": sla.paused,
        "preview_who": who,
        "preview": text,
        "labels": list(labels),
    }


# -- one conversation --------------------------------------------------------------------------
def safe_href(url: str | None) -> str | None:
    """A link target only for http(s) URLs (never javascript:, data: ...)."""
    if not url or not isinstance(url, str):
        return None
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return url.strip()


_GEO = re.compile(r"^geo:(-?\d{1,3}(?:\.\d+)?),(-?\d{1,3}(?:\.\d+)?)$")


def attachment_view(a: dict[str, Any]) -> dict[str, Any]:
    """One attachment as the transcript shows it: a media link with its type, or a location."""
    url = a.get("url") if isinstance(a.get("url"), str) else None
    ctype = a.get("content_type") if isinstance(a.get("content_type"), str) else None
    name = a.get("filename") if isinstance(a.get("filename"), str) else None
    if ctype == "location" or (url or "").startswith("geo:"):
        m = _GEO.match(url or "")
        label = "Lokasi: " + (f"{m.group(1)}, {m.group(2)}" if m else (url or "?")) + (f" ({name})" if name else "")
        href = (f"https://www.openstreetmap.org/?mlat={quote(m.group(1))}&mlon={quote(m.group(2))}"
                f"#map=17/{quote(m.group(1))}/{quote(m.group(2))}") if m else None
        return {"kind": "location", "label": label, "href": href, "content_type": "lokasi"}
    size = a.get("size")
    label = name or "Lampiran"
    if isinstance(size, int) and size > 0:
        label += f" ({size // 1024 or 1} KB)" if size >= 1024 else f" ({size} B)"
    blob_id = a.get("blob_id")
    if isinstance(blob_id, int) and not isinstance(blob_id, bool) and blob_id > 0:
        # Kept in our database (email): served by the console, login required.
        return {"kind": "media", "label": label, "href": f"/console/files/{blob_id}",
                "content_type": ctype or "tipe tidak diketahui", "url_text": None}
    return {"kind": "media", "label": label, "href": safe_href(url), "content_type": ctype or "tipe tidak diketahui",
            "url_text": None if safe_href(url) else url}


def delivery_view(m: MessageView, channel: str) -> dict[str, Any]:
    """The delivery status of one outbound message."""
    if m.outbox_id is None or m.delivery is None:
        label = "Jawaban langsung" if channel == "whatsapp" else "Jawaban otomatis"
        return {"status": "direct", "label": label, "reason": "", "cls": "direct"}
    label = DELIVERY_LABELS.get(m.delivery, m.delivery)
    reason = ""
    if label == "Gagal":
        known = ERROR_REASONS.get(m.error_code or "")
        parts = [p for p in (known, (f"kode {m.error_code}" if m.error_code else None), m.last_error) if p]
        reason = "; ".join(parts)[:300]
    return {"status": m.delivery, "label": label, "reason": reason, "cls": DELIVERY_CLASS.get(label, "queued")}


def message_view(m: MessageView, channel: str, fmt: Fmt, display_name: str | None) -> dict[str, Any]:
    if m.direction == "in":
        author, cls = (f"Pelanggan ({display_name})" if display_name else "Pelanggan"), "msg-in"
    elif m.author in ("bot", None):
        author, cls = "Bot", "msg-out msg-bot"
    else:
        author, cls = m.author, "msg-out msg-agent"
    via = m.meta.get("via")
    note = {"email": f"lewat email ke {m.meta.get('to', '')}".strip(), "template": "template WhatsApp"}.get(via or "")
    return {
        "id": m.id,
        "direction": m.direction,
        "cls": cls,
        "author": author,
        "text": m.text,
        "time": fmt.when(m.created_at, zone=False),
        "time_iso": fmt.iso(m.created_at),
        "via": note or "",
        "attachments": [attachment_view(a) for a in m.attachments if isinstance(a, dict)],
        "delivery": delivery_view(m, channel) if m.direction == "out" else None,
    }


# Values in event details shown by their console names, as everywhere else in the console.
_EVENT_VALUE_LABELS: dict[str, dict[str, str]] = {"intent": INTENT_LABELS, "priority": PRIORITY_LABELS}


def event_view(e: EventView, fmt: Fmt) -> dict[str, Any]:
    details = []
    for key, name in _EVENT_DATA.items():
        if key in e.data and e.data[key] not in (None, "", [], {}):
            value = e.data[key]
            if key == "due_at" and isinstance(value, str):
                try:
                    value = fmt.when(datetime.fromisoformat(value))
                except ValueError:
                    pass
            elif isinstance(value, bool):
                value = "ya" if value else "tidak"
            elif isinstance(value, str) and key in _EVENT_VALUE_LABELS:  # order_status -> Status pesanan
                value = _EVENT_VALUE_LABELS[key].get(value, value)
            details.append(f"{name}: {value}")
    label = EVENT_LABELS.get(e.kind) or LEGACY_EVENT_LABELS.get(e.kind, e.kind)
    return {"at": fmt.when(e.at), "kind": e.kind, "label": label,
            "actor": e.actor, "details": "; ".join(str(d) for d in details)[:500]}
