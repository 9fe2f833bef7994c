"""Automatic mail (RFC 3834, 2369/2919, 3464, 8098, 5965 and machine senders) is recorded, never answered.

Every mail here is written for this file: one per rule, each parsed from raw bytes by the real
parser (so a header the parser drops fails the test), then the people who must still get an
answer. The last test runs the intake against real Dovecot and aiosmtpd.
"""
from __future__ import annotations

import time

import pytest

from bot.channels.email_auto import own_words, wanted_header
from bot.channels.email_loop import automatic_reason
from bot.channels.email_parse import parse_mail
from tests.mail_servers import customer_mail, dovecot, smtp_server, write_config  # noqa: F401

OWN = ("ptyessindo@gmail.com",)
QUESTION = "Halo kak, paket saya INV-20261101-0042 belum sampai, bisa dicek?"


def raw_mail(headers: str = "", body: str = QUESTION, sender: str = "Rina <rina.w@example.co.id>",
             subject: str = "Paket belum sampai", ctype: str = "text/plain; charset=utf-8") -> bytes:
    """A mail to the support address; `headers` are extra header lines ("Name: value\\r\\n...")."""
    return (f"From: {sender}\r\nTo: ptyessindo@gmail.com\r\nSubject: {subject}\r\n"
            f"Date: Mon, 30 Nov 2026 09:00:00 +0700\r\nMessage-ID: <t{abs(hash((headers, body, sender, subject)))}"
            f"@example.co.id>\r\n{headers}MIME-Version: 1.0\r\nContent-Type: {ctype}\r\n\r\n{body}\r\n").encode()


def reason(raw: bytes) -> str | None:
    m = parse_mail(raw)
    assert m.parse_ok
    return automatic_reason(m, OWN)


# ---------------------------------------------------------------------------- header rules

HEADER_CASES = {
    # RFC 3834
    "auto-submitted": ("Auto-Submitted: auto-generated\r\n", "Auto-Submitted"),
    "x-autoreply": ("X-Autoreply: yes\r\n", "x-autoreply"),
    "x-autorespond": ("X-Autorespond: Ini balasan otomatis\r\n", "x-autorespond"),
    "x-auto-response-suppress": ("X-Auto-Response-Suppress: All\r\n", "Suppress"),
    "precedence-bulk": ("Precedence: bulk\r\n", "Precedence: bulk"),
    "precedence-list": ("Precedence: list\r\n", "Precedence: list"),
    "precedence-junk": ("Precedence: junk\r\n", "Precedence: junk"),
    # RFC 2369 / RFC 2919 and list managers
    "list-id": ("List-Id: Arisan RT 05 <arisan.rt05.example.net>\r\n", "List-Id"),
    "list-unsubscribe": ("List-Unsubscribe: <mailto:leave@lists.example.net>\r\n", "List-Unsubscribe"),
    "list-subscribe": ("List-Subscribe: <mailto:join@lists.example.net>\r\n", "List-Subscribe"),
    "list-post": ("List-Post: <mailto:hobi-kopi@lists.example.net>\r\n", "List-Post"),
    "mailing-list": ("Mailing-List: contact hobi-help@lists.example.net; run by ezmlm\r\n", "Mailing-List"),
    "x-mailer-mailman": ("X-Mailer: GNU Mailman 2.1.39\r\n", "X-Mailer"),
    "x-mailer-sympa": ("X-Mailer: Sympa 6.2\r\n", "X-Mailer"),
    "x-mailer-listserv": ("X-Mailer: LISTSERV 17.0\r\n", "X-Mailer"),
    "x-mailer-majordomo": ("X-Mailer: Majordomo 1.94.5\r\n", "X-Mailer"),
    "x-mailer-ezmlm": ("X-Mailer: ezmlm-idx 7.2\r\n", "X-Mailer"),
    # envelope addresses of bounce or list-owner form
    "return-path-empty": ("Return-Path: <>\r\n", "bounce"),
    "return-path-owner": ("Return-Path: <owner-hobi-kopi@lists.example.net>\r\n", "list-owner"),
    "return-path-request": ("Return-Path: <hobi-kopi-request@lists.example.net>\r\n", "list-owner"),
    "return-path-bounces": ("Return-Path: <hobi-kopi-bounces+rina=example.co.id@lists.example.net>\r\n",
                            "list-owner"),
    "return-path-bounce-esp": ("Return-Path: <bounce-42.abc@mail.shop.example>\r\n", "list-owner"),
    "errors-to-owner": ("Errors-To: hobi-kopi-owner@lists.example.net\r\n", "errors-to"),
    "sender-mailer-daemon": ("Sender: MAILER-DAEMON@mx.example.net\r\n", "sender"),
    "sender-postmaster": ("Sender: postmaster@mx.example.net\r\n", "sender"),
    # bulk senders (ESPs) and their feedback loops
    "x-mandrill-user": ("X-Mandrill-User: md_1234\r\n", "x-mandrill-user"),
    "x-mc-user": ("X-MC-User: 0a1b2c\r\n", "x-mc-user"),
    "x-campaign": ("X-Campaign: promo-1212\r\n", "x-campaign"),
    "x-feedback-id": ("X-Feedback-ID: 77:promo:shop\r\n", "x-feedback-id"),
    "feedback-id": ("Feedback-ID: 1.2.3:promo:esp\r\n", "feedback-id"),
    "x-ses-outgoing": ("X-SES-Outgoing: 2026.11.30-54.240.1.1\r\n", "x-ses-outgoing"),
    # complaints, challenge-response, delivery reports, trackers
    "hotmail-complaint": ("X-HmXmrOriginalRecipient: <rina.w@example.co.id>\r\n", "complaint"),
    "x-challenge": ("X-Challenge: 8f2a\r\n", "challenge"),
    "x-failed-recipients": ("X-Failed-Recipients: andi@example.org\r\n", "delivery status"),
    "tracker-prefix": ("X-Redmine-Project: gudang\r\n", "machine notification"),
    "helpdesk-rt": ("X-RT-Loop-Prevention: Toko Mitra\r\nRT-Ticket: Toko Mitra #881\r\n", "machine notification"),
    "helpdesk-zendesk": ("X-Zendesk-From-Account-Id: 5a1c\r\n", "machine notification"),
    "return-path-prvs-bounces": ("Return-Path: <msprvs1=19ab=bounces-4242@mail.crm.example>\r\n", "list-owner"),
}


@pytest.mark.parametrize("case", sorted(HEADER_CASES))
def test_header_rule(case):
    header, expected = HEADER_CASES[case]
    got = reason(raw_mail(header))
    assert got is not None and expected.lower() in got.lower(), (case, got)


def test_auto_submitted_no_and_harmless_headers_are_no_reason():
    assert reason(raw_mail("Auto-Submitted: no\r\n")) is None
    assert reason(raw_mail("X-Autoreply: no\r\n")) is None
    assert reason(raw_mail("Precedence: first-class\r\n")) is None
    assert reason(raw_mail("X-Mailer: Microsoft Outlook 16.0\r\nReturn-Path: <rina.w@example.co.id>\r\n"
                           "Sender: Rina <rina.w@example.co.id>\r\n")) is None


def test_parser_keeps_what_the_rules_read_and_bounds_it():
    assert wanted_header("list-post") and wanted_header("x-github-reason") and not wanted_header("subject")
    many = "".join(f"X-Jira-Field-{i}: {i}\r\n" for i in range(500))
    m = parse_mail(raw_mail(many + "List-Post: <mailto:x@lists.example.net>\r\n"))
    assert len(m.headers) <= 65  # a mail of a thousand machine headers keeps a bounded few
    assert automatic_reason(m, OWN) is not None


# ---------------------------------------------------------------------------- senders

def test_bare_daemon_name_as_sender():
    from bot.channels.email_auto import sender_reason

    assert sender_reason("mailer-daemon") == "automatic sender mailer-daemon"
    assert sender_reason("rina.w@example.co.id") is None


@pytest.mark.parametrize("sender", [
    "Tiket <tiket-noreply@travel.example>", "noreply-booking@hotel.example", "Toko <no-reply@shop.example>",
    "notif.no_reply.id@bank.example", "DoNotReply@airline.example", "post_master@carrier.example",
    "MAILER-DAEMON@mx.example.net", "postmaster@mx.example.net", "bounces@esp.example",
    "scomp@isp.example", "feedbackloop@isp.example",
])
def test_machine_sender(sender):
    got = reason(raw_mail(sender=sender))
    assert got is not None and got.startswith("automatic sender"), (sender, got)


# ---------------------------------------------------------------------------- report parts and text forms

def test_delivery_report_part():
    body = ("--r\r\nContent-Type: text/plain\r\n\r\nPesan tidak terkirim.\r\n--r\r\n"
            "Content-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.net\r\n\r\n"
            "Final-Recipient: rfc822; andi@example.org\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n--r--")
    got = reason(raw_mail(body=body, sender="Mail System <system@mx.example.net>",
                          ctype='multipart/mixed; boundary="r"'))
    assert got == "delivery status notification"


def test_arf_complaint_report():
    body = ("--a\r\nContent-Type: text/plain\r\n\r\nA complaint about a message from your network.\r\n--a\r\n"
            "Content-Type: message/feedback-report\r\n\r\nFeedback-Type: abuse\r\nUser-Agent: FBL/1.0\r\n"
            "Version: 1\r\n\r\n--a--")
    assert reason(raw_mail(body=body, sender="fbl@isp.example", subject="Complaint",
                           ctype='multipart/mixed; boundary="a"')) is not None


def test_arf_complaint_as_text():
    body = "This is an email abuse report for an email message received from IP 198.51.100.7 on Mon, 30 Nov 2026."
    assert reason(raw_mail(body=body, sender="reports@isp.example", subject="Abuse report")) == "complaint report (text)"


def test_read_receipt_mdn_part():
    body = ("--m\r\nContent-Type: text/plain\r\n\r\nPesan Anda telah ditampilkan.\r\n--m\r\n"
            "Content-Type: message/disposition-notification\r\n\r\nFinal-Recipient: rfc822; andi@example.org\r\n"
            "Disposition: manual-action/MDN-sent-manually; displayed\r\n\r\n--m--")
    assert reason(raw_mail(body=body, sender="andi@example.org", subject="Dibaca: Penawaran",
                           ctype='multipart/mixed; boundary="m"')) == "delivery status notification"


@pytest.mark.parametrize("subject,body", [
    ("Read: Penawaran harga", "Your message\r\n\r\n  To: Andi\r\n  Subject: Penawaran harga\r\n\r\n"
                              "was read on Monday, 30 November 2026 10:02."),
    ("Dibaca: Penawaran harga", "Pesan Anda\r\n  Kepada: Andi\r\n  Subjek: Penawaran harga\r\n"
                                "telah dibaca pada Senin, 30 November 2026 10:02."),
])
def test_read_receipt_text(subject, body):
    assert reason(raw_mail(body=body, sender="andi@example.org", subject=subject)) == "read receipt"


def test_dsn_in_text_form():
    body = ("Hi. This is the qmail-send program at mx.example.net.\r\nI'm afraid I wasn't able to deliver "
            "your message to the following addresses.\r\n\r\n<andi@example.org>:\r\nSorry, no mailbox here by that name.")
    assert reason(raw_mail(body=body, sender="andi@example.org", subject="failure notice!")) is not None
    plain = ("Error: Invalid user address\r\n\r\nError message below:\r\n550 5.1.1 Requested action not taken: "
             "no such user here\r\n")
    assert reason(raw_mail(body=plain, sender="sms-gateway@carrier.example", subject="Re: Halo")) \
        == "delivery status notification (text)"


def test_challenge_response_text():
    body = ("Your message to sari@example.net is being held. This account is protected by SaringSpam.\r\n"
            "Please click the link below so your address is added to the allowed list and to confirm that "
            "you are a real person:\r\nhttps://verify.example/abc")
    assert reason(raw_mail(body=body, sender="sari@example.net", subject="Re: Paket")) == "challenge-response"


def test_challenge_response_verification_process():
    body = ("I am protecting myself from junk mail. Your message is being held until your verification.\r\n"
            "Please click below to complete the verification process: https://verify.example/q")
    assert reason(raw_mail(body=body, sender="dodi@example.net", subject="Re: Promo")) == "challenge-response"


def test_return_receipt_lotus_form():
    body = "Your document:  Penawaran harga\r\nwas received by:  Andi Wijaya/Gudang\r\nat:  30/11/2026 10:02"
    assert reason(raw_mail(body=body, sender="andi@example.org", subject="Return Receipt")) == "read receipt"


def test_fax_notification():
    body = "A fax has arrived from remote ID '0215550123'.\r\nPages: 2\r\nResult: OK"
    assert reason(raw_mail(body=body, sender="scanner@office.example", subject="Fax")) == "fax notification"


def test_commit_notification():
    body = ("Author: dewi\r\nDate: 2026-11-30 09:00:00 +0700\r\nNew Revision: 4242\r\n\r\nModified:\r\n"
            "   trunk/gudang/stok.py\r\nLog:\r\nperbaiki hitung stok\r\n")
    assert reason(raw_mail(body=body, sender="svn@dev.example", subject="r4242 - trunk/gudang")) \
        == "commit notification"


def test_booking_confirmation_asking_not_to_be_answered():
    body = ("Booking confirmed: Hotel Melati, 2 nights from 12 Dec 2026.\r\nBooking code: HM7781\r\n\r\n"
            "This email was sent automatically. Please do not reply to this email.")
    assert reason(raw_mail(body=body, sender="reservasi@hotel.example", subject="Booking HM7781")) is not None
    indo = "Terima kasih, pembayaran Anda telah kami terima.\r\n\r\nMohon tidak membalas email ini."
    assert reason(raw_mail(body=indo, sender="billing@pay.example", subject="Pembayaran diterima")) is not None


def test_newsletter_footer():
    body = ("Diskon 12.12 untuk semua sepatu!\r\n\r\nYou are receiving this email because you signed up at "
            "shop.example.\r\nTo stop these mails, unsubscribe here: https://shop.example/u/1")
    assert reason(raw_mail(body=body, sender="promo@shop.example", subject="Diskon 12.12")) \
        == "bulk mail (unsubscribe footer)"


# ---------------------------------------------------------------------------- people: never flagged

def test_person_asking_for_a_read_receipt_is_answered():
    assert reason(raw_mail("Disposition-Notification-To: Rina <rina.w@example.co.id>\r\n"
                           "Return-Receipt-To: rina.w@example.co.id\r\n")) is None


def test_person_replying_to_a_newsletter_thread_is_answered():
    body = ("Halo kak, promo sepatu di email ini masih berlaku? Ukuran 42 ada?\r\n\r\n"
            "Pada Sen, 30 Nov 2026 pukul 08.00 Yessindo <promo@yessindo.example> menulis:\r\n"
            "> Diskon 12.12 untuk semua sepatu!\r\n> You are receiving this email because you signed up.\r\n"
            "> Unsubscribe: https://yessindo.example/u/1\r\n> Please do not reply to this email.\r\n")
    headers = "In-Reply-To: <promo-1212@yessindo.example>\r\nReferences: <promo-1212@yessindo.example>\r\n"
    assert reason(raw_mail(headers, body=body, subject="Re: Diskon 12.12")) is None


@pytest.mark.parametrize("sender", ['"No Reply" <budi.santoso@example.co.id>',
                                    '"Noreply Santoso" <santoso.family@example.com>',
                                    "No-Reply Wibowo <wibowo@example.com>",
                                    "Mailer Daemon Fan <dian@example.com>"])
def test_person_whose_name_contains_no_reply_is_answered(sender):
    assert reason(raw_mail(sender=sender)) is None


def test_person_forwarding_a_confirmation_with_a_question_is_answered():
    body = ("Kak, saya sudah bayar tapi status masih menunggu, tolong dicek.\r\n\r\n"
            "---------- Forwarded message ---------\r\nFrom: billing <billing@pay.example>\r\n"
            "Pembayaran diterima.\r\nThis is an automated message, please do not reply to this email.\r\n")
    assert reason(raw_mail(body=body, subject="Fwd: Pembayaran diterima")) is None
    assert "Forwarded" not in own_words(body)


@pytest.mark.parametrize("text", [
    "Saya sudah kirim email ke kurir tapi katanya undeliverable, bagaimana ini?",
    "Bagaimana cara berhenti berlangganan (unsubscribe) newsletter kalian?",
    "I was out of the office when the courier came, can you resend my parcel?",
    "Hi, I want to unsubscribe from the promo emails please.",
    "Tolong jangan kirim promo lagi ke email saya.",
])
def test_customers_mentioning_machine_words_are_answered(text):
    assert reason(raw_mail(body=text, subject="Pertanyaan")) is None


# ---------------------------------------------------------------------------- intake: recorded, never answered

def test_intake_records_automatic_mail_with_reason_and_answers_only_the_person(tmp_path, dovecot, smtp_server):  # noqa: F811
    import tomllib

    from bot.channels.email_intake import build_intake
    from bot.config import settings_from_mapping

    config = write_config(tmp_path, {**dovecot.settings_table(), **smtp_server.settings_table()})
    settings = settings_from_mapping(tomllib.loads(config.read_text()), str(config))
    listed = customer_mail("list", sender="anggota@example.net", subject="Kopdar",
                           extra="List-Post: <mailto:hobi@lists.example.net>\r\n")
    esp = customer_mail("esp", sender="promo@shop.example", subject="Promo", extra="X-Mandrill-User: md_1\r\n")
    person = customer_mail("person", sender="rina.w@example.co.id",
                           extra="Disposition-Notification-To: rina.w@example.co.id\r\n")
    dovecot.append(listed, esp, person)
    intake = build_intake(settings)
    try:
        intake.run_once()
        smtp_server.wait_for(1)
        time.sleep(0.3)
        assert [r.rcpt_tos for r in smtp_server.received] == [["rina.w@example.co.id"]]
        rows = dict(intake.store.conn.execute("SELECT message_id, reason FROM email_inbox").fetchall())
    finally:
        intake.store.close()
    assert "List-Post" in rows["<mlist@example.com>"]
    assert "x-mandrill-user" in rows["<mesp@example.com>"]
    assert rows["<mperson@example.com>"] is None


# ---------------------------------------------------------------------------- every customer phrase we know

def test_no_customer_phrase_of_the_intent_data_is_taken_for_automatic_mail():
    """16,000 customers' sentences (knowledge/intents/phrases), each as a whole mail body: none flagged."""
    from dataclasses import replace
    from pathlib import Path

    base = parse_mail(raw_mail())
    phrases = Path(__file__).resolve().parents[1] / "knowledge" / "intents" / "phrases"
    lines = [line.strip() for f in sorted(phrases.rglob("*.txt")) for line in f.read_text(encoding="utf-8").splitlines()
             if line.strip() and not line.startswith("#")]
    assert len(lines) > 5000
    flagged = [(line, r) for line in lines
               if (r := automatic_reason(replace(base, text=line, new_text=line), OWN)) is not None]
    assert flagged == []


def test_asking_whether_this_is_an_automatic_reply_is_no_automatic_reply():
    assert reason(raw_mail(body="ini balasan otomatis?")) is None
    assert reason(raw_mail(body="Ini balasan otomatis ya kak? saya mau bicara dengan admin")) is None
    assert reason(raw_mail(body="Ini adalah balasan otomatis. Saya sedang cuti hingga 7 Desember.",
                           sender="sari@example.net", subject="Paket")) == "auto-reply text"


def test_envelope_address_forms():
    from bot.channels.email_auto import _address_local

    assert _address_local("<>") == "" and _address_local(" < > ") == ""
    assert _address_local("Daftar <owner-kopi@lists.example.net>") == "owner-kopi"
    assert _address_local("kopi-request@lists.example.net (Daftar Kopi)") == "kopi-request"
    assert _address_local("tanpa alamat") is None
    assert _address_local("a" * 50_000) is None  # a hostile value: plain scans, no backtracking
