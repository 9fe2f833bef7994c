"""`forget` erases the bytes, not only the rows (issue 10 item 8): after it, the database,
its -wal and -shm files and everything else in its folder hold nothing of that customer,
read byte by byte (as `strings | grep` would), while the bot keeps the file open."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from werkzeug.security import generate_password_hash

from bot.config import settings_from_mapping
from bot.desk import Desk
from bot.models import Attachment
from handoff import queue
from handoff.forget import identity_regex
from tests.conftest import REPO, Conversation

PHONE = "+6281377554411"
ADDRESS = "lestari.wiranata@contoh.example"
NAME = "Lestari Wiranatakusuma"
MAIL_ID = "<a7f3e1.surat-lestari@contoh.example>"
TEXTS = ("kemeja batik kawung hijau pupus pesanan Lestari", "struk transfer bank Lestari jam sembilan",
         "tolong kirim hasilnya, sudah seminggu menunggu kabar")
PHONE_SPELLINGS = (PHONE, PHONE[1:], "0" + PHONE[3:], "0813-7755-4411", "0813 7755 4411", PHONE[3:],
                   "%2B6281377554411")
OTHER = "+6285700001111"


@pytest.fixture
def settings(tmp_path):
    return settings_from_mapping({"storage": {"database": str(tmp_path / "data" / "bot.db")},
                                  "whatsapp": {"template_content_sid": "HX0123456789abcdef0123456789abcdef"}})


def needles() -> list[bytes]:
    words = [ADDRESS, ADDRESS.upper(), NAME, MAIL_ID, "a7f3e1.surat-lestari", *TEXTS, *PHONE_SPELLINGS]
    return [w.encode() for w in words]


_SCAN = """
import json, pathlib, sys
folder, needles = pathlib.Path(sys.argv[1]), json.loads(sys.argv[2])
found = []
for path in sorted(p for p in folder.rglob("*") if p.is_file()):
    data = path.read_bytes()
    found += [path.name + ": " + n for n in needles if n.encode() in data]
print(json.dumps(found))
"""


def leaks(folder: Path) -> list[str]:
    """Every (file, needle) found in the raw bytes of every file under `folder`. Read by
    another process, as `strings` would: closing any descriptor of the database file in
    this process would drop the bot's SQLite locks on it (POSIX locks are per process)."""
    words = [n.decode() for n in needles()]
    p = subprocess.run([sys.executable, "-c", _SCAN, str(folder), json.dumps(words)], capture_output=True,
                       timeout=60, check=True)
    return json.loads(p.stdout)


def cli(args: list[str], database: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("YESSINDO_", "TWILIO_"))}
    env.update(PYTHONPATH=str(REPO), YESSINDO_DATABASE=database,
               YESSINDO_CACHE_DIR=os.environ.get("YESSINDO_CACHE_DIR", str(REPO / ".cache")))
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], capture_output=True, env=env, cwd=REPO,
                          timeout=120)


def test_forget_leaves_no_byte_of_the_customer_in_the_database_wal_or_folder(bot, settings, clock):
    folder = Path(settings.database).parent
    desk = Desk.from_settings(settings, bot.store)
    queue.add_agent(bot.store, clock(), "dewi", "supervisor", generate_password_hash("rahasia-dewi"))
    # WhatsApp: a case with details, an escalation, the result emailed at the agent's pick.
    wa = Conversation(bot, clock, customer=PHONE)
    wa.say(f"{TEXTS[0]} datang sobek, nama penerima {NAME}, email saya {ADDRESS}", display_name=NAME)
    wa.say(f"saya mau eskalasi ke supervisor, {TEXTS[2]}")
    ref = wa.last.ticket_ref
    assert bot.store.ticket(ref).priority == "escalation"
    desk.claim(clock(), ref, "dewi")
    clock.at += timedelta(days=2)
    desk.resolve(clock(), ref, "dewi", note=f"Hasil untuk {NAME}: dana kembali.", email_to=ADDRESS)
    # Email: a mail with an attachment whose bytes name them.
    em = Conversation(bot, clock, channel="email", customer=ADDRESS)
    em.send(f"Halo, ini {TEXTS[1]}. Salam, {NAME} ({PHONE})", subject="Bukti transfer", external_id=MAIL_ID,
            display_name=NAME, attachments=(Attachment(filename="struk-lestari.txt", content_type="text/plain",
                                                       data=f"STRUK {NAME} {PHONE} 250000".encode() * 40),))
    from bot.channels.email_intake import create_schema

    with bot.store.write(clock()) as tx:
        create_schema(tx.conn)
        tx.conn.execute("INSERT INTO email_inbox (message_id, folder, uidvalidity, uid, sender, status, created_at) "
                        "VALUES (?, 'INBOX', 1, 7, ?, 'answered', ?)", (MAIL_ID, ADDRESS, tx.now))
        # the intake's per-mail checkpoint keeps a masked sender and the subject
        tx.conn.execute("INSERT INTO email_uid_state (folder, uidvalidity, uid, status, attempts, sender, subject, "
                        "message_id, size, updated_at) VALUES ('INBOX', 1, 7, 'done', 1, 'l***@contoh.example', ?, "
                        "?, 900, ?)", (f"Re: {TEXTS[0]}", MAIL_ID, tx.now))
    # Another customer names them (an address and a number in a message, in ticket
    # details) and an agent emails them from that other conversation (its meta.to).
    other = Conversation(bot, clock, customer=OTHER)
    other.say(f"mau eskalasi ke supervisor, paket untuk kakak saya, hubungi {ADDRESS} atau 0813-7755-4411")
    oref = other.last.ticket_ref
    assert ADDRESS in bot.store.ticket(oref).details.get("emails", [])
    desk.claim(clock(), oref, "dewi")
    desk.email_customer(clock(), oref, "dewi", "Halo Kak, paketnya sudah kami kirim ulang.", ADDRESS)
    assert leaks(folder), "the test data must be on disk before forget"

    # The bot keeps the database open (as `serve` would) while the operator runs forget.
    p = cli(["forget", "0813-7755-4411", ADDRESS.upper()], settings.database)
    assert p.returncode == 0, p.stderr.decode()
    assert "2 conversations" in p.stdout.decode()
    assert os.path.getsize(settings.database + "-wal") == 0
    assert leaks(folder) == []
    # The other customer's case stays, without the forgotten one's address or number.
    conn = bot.store.conn
    left = {r[0] for r in conn.execute("SELECT customer FROM conversations")}
    assert left == {OTHER}
    details = bot.store.ticket(oref).details
    assert details.get("emails") == ["[dihapus]"]
    metas = [m["meta"] for m in bot.store.messages(bot.store.ticket(oref).conversation_id) if "via" in m["meta"]]
    assert metas and all('"to": "[dihapus]"' in m for m in metas)
    assert conn.execute("SELECT count(*) FROM email_inbox").fetchone()[0] == 0
    assert conn.execute("SELECT count(*) FROM outbox WHERE customer = ?", (ADDRESS,)).fetchone()[0] == 0
    [event] = bot.store.events("customer.forgotten")
    assert event["actor"] == "operator" and '"conversations": 2' in event["data"]
    # After a clean stop too.
    bot.store.close()
    assert leaks(folder) == []


def test_identity_pattern_finds_the_spellings_and_nothing_else():
    rx = identity_regex([PHONE, ADDRESS], [MAIL_ID])
    for text in (*PHONE_SPELLINGS, "whatsapp:" + PHONE, "+62 813-7755-4411", "(0813) 7755 4411",
                 ADDRESS.upper(), ADDRESS.replace("@", "%40"), MAIL_ID):
        assert rx.search(f"x {text} y"), text
    for text in ("+62813775544119", "08137755441", "9" + PHONE[1:], "x" + ADDRESS, "lestari.wiranata@contoh.examples",
                 "INV-20261125-0088"):
        assert not rx.search(text), text


def test_a_database_from_before_secure_delete_is_vacuumed_once(bot, settings, clock):
    """Bytes an older version left in free pages (it deleted without zeroing) go too."""
    import sqlite3

    em = Conversation(bot, clock, channel="email", customer=ADDRESS)
    em.send(f"Halo, {TEXTS[1]}", subject="Bukti", external_id=MAIL_ID, attachments=(
        Attachment(filename="struk.txt", content_type="text/plain", data=f"STRUK {NAME} ".encode() * 8000),))
    Conversation(bot, clock, customer=OTHER).say("stok kemeja putih ada?")
    bot.store.close()
    old = sqlite3.connect(settings.database, isolation_level=None)  # as an older version did
    old.execute("PRAGMA secure_delete = OFF")
    old.execute("DELETE FROM meta WHERE key = 'secure_delete'")
    old.execute("DELETE FROM attachment_blobs")  # its pages go to the free list, bytes and all
    old.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert old.execute("PRAGMA freelist_count").fetchone()[0] > 10
    old.close()
    p = cli(["forget", ADDRESS], settings.database)
    assert p.returncode == 0, p.stderr.decode()
    assert "1 vacuumed" in p.stdout.decode() and leaks(Path(settings.database).parent) == []
    p = cli(["forget", OTHER], settings.database)  # now marked: no second VACUUM
    assert p.returncode == 0 and "0 vacuumed" in p.stdout.decode()


def test_a_forgotten_customers_ticket_number_is_never_given_to_another_case(bot, clock):
    """Ticket ids (and so YS- numbers) come after every ticket there is and every one
    deleted: "YS-000002" in a forgotten customer's mail never names a stranger's case."""
    first = Conversation(bot, clock, customer="+6281111111111")
    gone = Conversation(bot, clock, customer="+6282222222222")
    first.send("paket saya belum sampai")
    gone.send("paket saya belum sampai")
    assert [t.ref for t in bot.store.tickets()] == ["YS-000001", "YS-000002"]
    bot.store.forget("+6282222222222", clock())
    later = Conversation(bot, clock, customer="+6283333333333")
    later.send("barang saya belum datang, tolong dicek")
    assert later.last.ticket_ref == "YS-000003"
    assert sorted(t.ref for t in bot.store.tickets()) == ["YS-000001", "YS-000003"]
    bot.store.forget(["+6281111111111", "+6283333333333"], clock())  # every ticket gone
    assert bot.store.tickets() == []
    again = Conversation(bot, clock, customer="+6284444444444")
    again.send("paket saya belum sampai")
    assert again.last.ticket_ref == "YS-000004"
