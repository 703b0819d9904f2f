"""SmtpNotifier over STARTTLS and implicit TLS against real aiosmtpd servers; hangs time out."""

from __future__ import annotations

import asyncio
import csv
import io
import socket
import ssl
import time
from collections.abc import Iterator
from datetime import timedelta
from email.message import EmailMessage
from typing import Any, Literal

import pytest
import trustme
from aiosmtpd.smtp import AuthResult, LoginPassword

from monitor.config import SmtpServer
from monitor.errors import DeliveryError
from monitor.notify.smtp import SmtpNotifier
from tests.smtp_server import Recorder, serve
from tests.test_notify_mime import outbound
from tests.test_notify_render import CHINESE_TITLE

Security = Literal["starttls", "tls", "none"]
UNSUBSCRIBE = "https://monitor.example.org/unsubscribe/alice?token=0123456789abcdef"


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def server_tls(ca: trustme.CA) -> ssl.SSLContext:
    """The servers' side: a certificate for 127.0.0.1 issued by the test CA."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    return context


@pytest.fixture(scope="module")
def client_tls(ca: trustme.CA) -> ssl.SSLContext:
    """The notifier's side: verifies certificates and host names, trusting only the test CA."""
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context


class TlsRecorder(Recorder):
    """Also notes, for each message, whether the session it came in on was encrypted."""

    def __init__(self, **answers: Any) -> None:
        super().__init__(**answers)
        self.encrypted: list[bool] = []

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        self.encrypted.append(getattr(session, "ssl", None) is not None)
        return await super().handle_DATA(server, session, envelope)


def notifier(port: int, security: Security, tls: ssl.SSLContext | None = None, *,
             timeout: float = 5, **login: str) -> SmtpNotifier:
    server = SmtpServer(host="127.0.0.1", port=port, security=security,
                        sender="monitor@example.org", timeout=timedelta(seconds=timeout), **login)
    return SmtpNotifier(server, ["alice@example.org"], tls_context=tls)


async def test_starttls_delivery(server_tls: ssl.SSLContext, client_tls: ssl.SSLContext) -> None:
    recorder = TlsRecorder()
    with serve(recorder, tls_context=server_tls, require_starttls=True) as port:
        await notifier(port, "starttls", client_tls).send(outbound())
    assert len(recorder.messages) == 1
    assert recorder.encrypted == [True]


async def test_implicit_tls_delivery(server_tls: ssl.SSLContext,
                                     client_tls: ssl.SSLContext) -> None:
    recorder = TlsRecorder()
    with serve(recorder, ssl_context=server_tls) as port:
        await notifier(port, "tls", client_tls).send(outbound())
    [email] = recorder.messages
    assert email["Message-ID"] == "<alice-7-k3y@monitor>"


LOGINS: list[tuple[bytes, bytes, bool]] = []


def check_login(server: object, session: object, envelope: object, mechanism: str,
                auth_data: object) -> AuthResult:
    assert isinstance(auth_data, LoginPassword)
    # aiosmtpd sets session.ssl after STARTTLS; under implicit TLS the transport knows
    transport = getattr(server, "transport", None)
    encrypted = getattr(session, "ssl", None) is not None or (
        transport is not None and transport.get_extra_info("sslcontext") is not None)
    LOGINS.append((auth_data.login, auth_data.password, encrypted))
    return AuthResult(success=auth_data.password == b"s3cret", handled=False)


@pytest.mark.parametrize(("security", "options"), [
    # AUTH is only offered once STARTTLS has been done (auth_require_tls, the default)
    ("starttls", {"require_starttls": True}),
    # aiosmtpd cannot tell implicit TLS from plain text, so it must not insist itself
    ("tls", {"auth_require_tls": False}),
])
async def test_login_over_tls(security: Security, options: dict[str, Any],
                              server_tls: ssl.SSLContext, client_tls: ssl.SSLContext) -> None:
    LOGINS.clear()
    recorder = Recorder()
    tls_option = {"tls_context" if security == "starttls" else "ssl_context": server_tls}
    with serve(recorder, authenticator=check_login, **tls_option, **options) as port:
        sender = notifier(port, security, client_tls, username="monitor", password="s3cret")
        await sender.send(outbound())
    assert LOGINS == [(b"monitor", b"s3cret", True)]
    assert len(recorder.messages) == 1


@pytest.mark.parametrize("security", ["starttls", "tls"])
async def test_untrusted_certificate_is_refused(security: Security,
                                                server_tls: ssl.SSLContext) -> None:
    """Without the test CA the system trust store rejects the certificate: nothing is sent."""
    recorder = Recorder()
    option = {"tls_context" if security == "starttls" else "ssl_context": server_tls}
    with serve(recorder, **option) as port, pytest.raises(DeliveryError) as caught:
        await notifier(port, security).send(outbound())
    assert caught.value.retryable is True
    assert "certificate" in caught.value.reason.lower()
    assert recorder.messages == []


async def test_certificate_for_another_host_is_refused(ca: trustme.CA,
                                                       client_tls: ssl.SSLContext) -> None:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("mail.example.org").configure_cert(context)
    recorder = Recorder()
    with serve(recorder, ssl_context=context) as port, pytest.raises(DeliveryError):
        await notifier(port, "tls", client_tls).send(outbound())
    assert recorder.messages == []


async def test_starttls_never_falls_back_to_plain_text(client_tls: ssl.SSLContext) -> None:
    recorder = Recorder()  # offers no STARTTLS
    with serve(recorder) as port, pytest.raises(DeliveryError) as caught:
        await notifier(port, "starttls", client_tls).send(outbound())
    assert "STARTTLS" in caught.value.reason
    assert recorder.messages == []


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A server that accepts connections (into the kernel's backlog) and never says a word."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        port: int = listener.getsockname()[1]
        yield port


@pytest.mark.parametrize("security", ["none", "starttls", "tls"])
async def test_silent_server_times_out_retryably(security: Security, silent_port: int,
                                                 client_tls: ssl.SSLContext) -> None:
    started = time.monotonic()
    with pytest.raises(DeliveryError) as caught:
        await notifier(silent_port, security, client_tls, timeout=0.3).send(outbound())
    assert caught.value.retryable is True
    assert "timed out" in caught.value.reason.lower()
    assert time.monotonic() - started < 3


class Hanging(Recorder):
    """Takes the message, then never answers the end of DATA."""

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        await asyncio.Event().wait()
        return "250 OK"


async def test_server_hanging_after_data_times_out_retryably(
        server_tls: ssl.SSLContext, client_tls: ssl.SSLContext) -> None:
    with serve(Hanging(), tls_context=server_tls, require_starttls=True) as port, \
            pytest.raises(DeliveryError) as caught:
        await notifier(port, "starttls", client_tls, timeout=0.3).send(outbound())
    assert caught.value.retryable is True


async def test_received_headers_and_attachment(server_tls: ssl.SSLContext,
                                               client_tls: ssl.SSLContext) -> None:
    """Over STARTTLS: Chinese subject, injection neutralised, unsubscribe headers, more.csv."""
    more = [{"title": CHINESE_TITLE, "url": "https://www.pbc.gov.cn/doc/9.html",
             "source": "pbc", "source_name": "中国人民银行",
             "published": "2024-05-01T00:00:00+08:00", "category": "notice",
             "regions": ["北京", "上海"]}]
    message = outbound(subject=f"{CHINESE_TITLE}\r\nBcc: eve@example.org",
                       subscription_id="alice\r\nX-Injected: yes", unsubscribe_url=UNSUBSCRIBE,
                       payload={"version": 1, "items": [], "omitted": 1, "more": more})
    recorder = Recorder()
    with serve(recorder, tls_context=server_tls, require_starttls=True) as port:
        await notifier(port, "starttls", client_tls).send(message)
    [email] = recorder.messages
    assert str(email["Subject"]) == f"{CHINESE_TITLE} Bcc: eve@example.org"
    assert email["Bcc"] is None and email["X-Injected"] is None
    assert recorder.envelopes == [("monitor@example.org", ["alice@example.org"])]
    assert email["List-Unsubscribe"] == f"<{UNSUBSCRIBE}>"
    assert email["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert [row["title"] for row in csv_rows(email)] == [CHINESE_TITLE]


async def test_no_unsubscribe_headers_unless_configured(server_tls: ssl.SSLContext,
                                                        client_tls: ssl.SSLContext) -> None:
    recorder = Recorder()
    with serve(recorder, tls_context=server_tls, require_starttls=True) as port:
        await notifier(port, "starttls", client_tls).send(outbound())
    [email] = recorder.messages
    assert email["List-Unsubscribe"] is None and email["List-Unsubscribe-Post"] is None
    assert email.get_content_type() == "multipart/alternative"


def csv_rows(email: EmailMessage) -> list[dict[str, str]]:
    [attachment] = list(email.iter_attachments())
    assert isinstance(attachment, EmailMessage)
    assert attachment.get_filename() == "more.csv"
    data = attachment.get_payload(decode=True)
    assert isinstance(data, bytes) and data.startswith(b"\xef\xbb\xbf")
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
