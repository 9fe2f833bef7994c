"""An agent's email answer leaves from the server's own outbox thread, without waiting
for `poll-email` to wake up: a real `serve`, a real SMTP server (aiosmtpd)."""
from __future__ import annotations

import json

from tests.browser import run_live_server
from tests.mail_servers import smtp_server  # noqa: F401  (pytest fixture)


def test_agent_email_reply_is_delivered_by_serve(tmp_path, smtp_server):  # noqa: F811
    smtp = smtp_server.settings_table()
    extra = "[email]\n" + "\n".join(f"{k} = {json.dumps(v)}" for k, v in smtp.items())
    with run_live_server(tmp_path, extra_toml=extra) as server:
        done = server.cli("chat", "--channel", "email", "--from", "budi@example.com",
                          input="Pesanan INV-20261101-0003 belum sampai kak\n")
        assert done.returncode == 0, done.stderr
        [ticket] = json.loads(server.cli("queue", "list", "--json").stdout)
        server.add_agent("sari")
        assert server.cli("queue", "claim", ticket["ref"], "--agent", "sari").returncode == 0
        done = server.cli("queue", "reply", ticket["ref"], "--agent", "sari", "--text", "Halo Kak Budi, paket dikirim hari ini.")
        assert done.returncode == 0, done.stderr
        [mail] = smtp_server.wait_for(1, timeout=20)
        assert mail.rcpt_tos == ["budi@example.com"]
        text = mail.data.decode()
        assert "paket dikirim hari ini" in text and f"[{ticket['ref']}]" in text
        assert "Auto-Submitted" not in text
