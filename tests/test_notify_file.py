"""FileNotifier: .eml and .json written atomically, once per delivery."""

from __future__ import annotations

import json
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path

import pytest

from monitor.errors import DeliveryError
from monitor.notify.file import FileNotifier
from tests.test_notify_render import CHINESE_TITLE, make_digest, make_outbound

STEM = "20240506T080000-alice-7"


def read_eml(path: Path) -> EmailMessage:
    parsed = message_from_bytes(path.read_bytes(), policy=default_policy)
    assert isinstance(parsed, EmailMessage)
    return parsed


async def test_eml_parses_back_with_both_parts(tmp_path: Path) -> None:
    await FileNotifier(tmp_path / "outbox").send(make_outbound(make_digest(2)))
    email = read_eml(tmp_path / "outbox" / f"{STEM}.eml")
    assert [part.get_content_type() for part in email.iter_parts()] == ["text/plain",
                                                                       "text/html"]
    html = email.get_body(("html",))
    assert html is not None and CHINESE_TITLE in html.get_content()
    assert email["Message-ID"] == "<alice-7-k3y@monitor>"
    assert email["To"] == "alice@localhost"


async def test_json_holds_payload_subject_and_key(tmp_path: Path) -> None:
    message = make_outbound(make_digest(1))
    await FileNotifier(tmp_path).send(message)
    record = json.loads((tmp_path / f"{STEM}.json").read_text(encoding="utf-8"))
    assert record["subject"] == message.message.subject
    assert record["idempotency_key"] == "alice-7-k3y"
    assert record["version"] == 1
    assert record["items"][0]["title"] == CHINESE_TITLE


async def test_writing_twice_does_not_duplicate(tmp_path: Path) -> None:
    notifier, message = FileNotifier(tmp_path), make_outbound()
    await notifier.send(message)
    await notifier.send(message)
    assert sorted(path.name for path in tmp_path.iterdir()) == [f"{STEM}.eml", f"{STEM}.json"]


async def test_unwritable_directory_is_retryable(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    with pytest.raises(DeliveryError) as caught:
        await FileNotifier(blocker / "outbox").send(make_outbound())
    assert caught.value.retryable is True
