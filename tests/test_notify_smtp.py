"""SmtpNotifier against a real aiosmtpd server on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from aiosmtpd.smtp import AuthResult, LoginPassword

from monitor.config import SmtpServer
from monitor.errors import DeliveryError
from monitor.notify.smtp import SmtpNotifier
from tests.smtp_server import Recorder, free_port, serve
from tests.test_notify_render import CHINESE_TITLE, make_digest, make_outbound


def notifier(port: int, **login: str) -> SmtpNotifier:
    server = SmtpServer(host="127.0.0.1", port=port, security="none",
                        sender="monitor@example.org", timeout=timedelta(seconds=5), **login)
    return SmtpNotifier(server, ["alice@example.org", "bob@example.org"])


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def smtp_port(recorder: Recorder) -> Iterator[int]:
    with serve(recorder) as port:
        yield port


async def test_delivery_has_text_and_html_alternatives(recorder: Recorder, smtp_port: int) -> None:
    await notifier(smtp_port).send(make_outbound(make_digest(2)))
    [email] = recorder.messages
    assert email.get_content_type() == "multipart/alternative"
    parts = [part.get_content_type() for part in email.iter_parts()]
    assert parts == ["text/plain", "text/html"]
    body = email.get_body(("plain",))
    assert body is not None and CHINESE_TITLE in body.get_content()
    assert recorder.envelopes == [("monitor@example.org", ["alice@example.org",
                                                           "bob@example.org"])]
    assert email["List-Id"] == "<alice.monitor>"
    assert email["X-Monitor-Delivery"] == "7"


async def test_chinese_subject_decodes(recorder: Recorder, smtp_port: int) -> None:
    await notifier(smtp_port).send(make_outbound(make_digest(1)))
    [email] = recorder.messages
    assert str(email["Subject"]) == f"New blockchain policy document: {CHINESE_TITLE}"


async def test_message_id_is_stable_across_retries(recorder: Recorder, smtp_port: int) -> None:
    message = make_outbound(make_digest(2))
    await notifier(smtp_port).send(message)
    await notifier(smtp_port).send(message)
    ids = [email["Message-ID"] for email in recorder.messages]
    assert ids == ["<alice-7-k3y@monitor>", "<alice-7-k3y@monitor>"]


async def test_temporary_refusal_is_retryable() -> None:
    with serve(Recorder(data_answer="451 try later")) as port, \
            pytest.raises(DeliveryError) as caught:
        await notifier(port).send(make_outbound())
    assert caught.value.retryable is True
    assert "451" in caught.value.reason and "try later" in caught.value.reason


async def test_permanent_refusal_is_not_retryable() -> None:
    with serve(Recorder(rcpt_answer="550 no such user")) as port, \
            pytest.raises(DeliveryError) as caught:
        await notifier(port).send(make_outbound())
    assert caught.value.retryable is False
    assert "550" in caught.value.reason and "no such user" in caught.value.reason


async def test_connection_refused_is_retryable() -> None:
    with pytest.raises(DeliveryError) as caught:
        await notifier(free_port()).send(make_outbound())
    assert caught.value.retryable is True


def test_repr_hides_the_password() -> None:
    server = SmtpServer(host="mail.example.org", username="u", password="hunter2")
    assert "hunter2" not in repr(SmtpNotifier(server, ["a@example.org"]))


LOGINS: list[tuple[bytes, bytes]] = []


def check_login(server: object, session: object, envelope: object, mechanism: str,
                auth_data: object) -> AuthResult:
    assert isinstance(auth_data, LoginPassword)
    LOGINS.append((auth_data.login, auth_data.password))
    # handled=False: aiosmtpd itself answers "535 ... credentials invalid" on failure
    return AuthResult(success=auth_data.password == b"s3cret", handled=False)


# AUTH offered without TLS; requiring it too would make aiosmtpd warn.
AUTH = {"authenticator": check_login, "auth_require_tls": False}


async def test_login_with_username_and_password(recorder: Recorder) -> None:
    LOGINS.clear()
    with serve(recorder, **AUTH) as port:
        await notifier(port, username="monitor", password="s3cret").send(make_outbound())
    assert LOGINS == [(b"monitor", b"s3cret")]
    assert len(recorder.messages) == 1


async def test_rejected_login_is_not_retryable(recorder: Recorder) -> None:
    with serve(recorder, **AUTH) as port, pytest.raises(DeliveryError) as caught:
        await notifier(port, username="monitor", password="wrong").send(make_outbound())
    assert caught.value.retryable is False
    assert "535" in caught.value.reason
    assert "wrong" not in caught.value.reason
