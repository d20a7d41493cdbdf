"""The e-mail channel against a real SMTP server (aiosmtpd) that requires STARTTLS and a login."""

from __future__ import annotations

from sqlalchemy import select

from civic.db import unit_of_work
from civic.notify import worker
from civic.notify.channels import Message, Permanent, Temporary
from civic.notify.channels.email import SmtpChannel
from civic.notify.models import Outbox
from tests.builders import make_item, move, viewer, world
from tests.notify.servers import SmtpServer


def smtp_settings(monkeypatch, server: SmtpServer, password: str = "s3cret") -> None:
    from civic.config import get_settings

    s = get_settings()
    for name, value in {"smtp_host": "127.0.0.1", "smtp_port": server.port, "smtp_username": "civic",
                        "smtp_password": password, "smtp_security": "starttls",
                        "smtp_ca_file": str(server.cert), "smtp_sender": "thongbao@nhaoson.example.vn",
                        "base_url": "https://nhaoson.example.vn"}.items():
        monkeypatch.setattr(s, name, value)


def test_a_stage_change_reaches_the_reporter_by_email(tmp_path, monkeypatch, daytime):
    with SmtpServer(tmp_path) as server:
        smtp_settings(monkeypatch, server)
        with unit_of_work(write=True) as db:
            commune, a, _, cat, users = world(db)
            users["resident"].email = "dan.mot@example.vn"
            item = make_item(db, commune, a, cat, reporter=users["resident"])
            move(db, item, "accept", viewer(db, users["village_head"]))
            code = item.code
        result = worker.run_once()
        assert result.sent >= 1
        [mail] = [m for m in server.box.messages if m["To"] == "dan.mot@example.vn"]
        assert server.box.logins  # logged in, after STARTTLS (the server refuses AUTH without TLS)
        assert code in mail["Subject"] and "Dân biết" in mail["Subject"]
        body = mail.get_content()
        assert f"https://nhaoson.example.vn/items/{code}" in body
        assert "https://nhaoson.example.vn/notify/stop/" in body
        assert mail["List-Unsubscribe"]
        with unit_of_work() as db:
            sent = db.execute(select(Outbox).where(Outbox.kind == "stage_changed")).scalars().one()
        assert sent.status == "sent" and mail["Message-ID"] == f"<{sent.idempotency_key}@nhaoson.example.vn>"


def message(to: str = "ban.doc@example.vn") -> Message:
    return Message("email", to, "NS-2026-0001: Dân biết", "Nội dung", "k" * 40)


def test_an_address_the_server_refuses_is_permanent(tmp_path):
    with SmtpServer(tmp_path) as server:
        server.box.refuse.add("khong.co@example.vn")
        channel = SmtpChannel("127.0.0.1", server.port, "civic", "s3cret", ca_file=str(server.cert))
        try:
            channel.send(message("khong.co@example.vn"))
        except Permanent as exc:
            assert "550" in exc.reason
        else:
            raise AssertionError("a refused address must be permanent")
        channel.send(message())
        assert len(server.box.messages) == 1


def test_a_wrong_password_or_an_untrusted_certificate_is_temporary(tmp_path):
    with SmtpServer(tmp_path) as server:
        for channel in (SmtpChannel("127.0.0.1", server.port, "civic", "wrong", ca_file=str(server.cert),
                                    timeout=2),
                        SmtpChannel("127.0.0.1", server.port, "civic", "s3cret", timeout=2)):  # system CAs
            try:
                channel.send(message())
            except Temporary:
                pass
            else:
                raise AssertionError("must be temporary")
        assert server.box.messages == []


def test_a_server_that_does_not_answer_is_temporary():
    from tests.notify.servers import free_port

    channel = SmtpChannel("127.0.0.1", free_port(), timeout=2)
    try:
        channel.send(message())
    except Temporary as exc:
        assert "SMTP" in exc.reason
    else:
        raise AssertionError("must be temporary")
