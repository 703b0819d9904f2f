"""Logs: configured secrets never reach a log line, whoever logs them."""

from __future__ import annotations

import io
import json
import logging

from monitor.config import parse_config
from monitor.logs import JsonFormatter, SecretMask

CONFIG = """\
version: 1
sources: [{id: s, kind: rss, url: "https://example.org/feed"}]
topics: [{id: t, terms: {en: [blockchain]}}]
subscriptions:
  - id: hook
    channel: {kind: webhook, url: "https://hooks.example.org/x",
              headers: {Authorization: "Bearer hook-t0ken"}, secret: "whsec_c2VjcmV0c2VjcmV0"}
  - id: chat
    channel: {kind: apprise, url: "tgram://123456:BOTTOKEN/999"}
  - id: slack
    channel: {kind: slack, url: "https://hooks.slack.com/services/T/B/sl4ckpath"}
smtp: {host: mail.example.org, password: "m4il-passw0rd"}
"""


def test_the_config_lists_every_secret_it_holds() -> None:
    settings = parse_config(CONFIG, "sources.yaml", {})
    assert set(settings.secret_values()) == {
        "Bearer hook-t0ken", "whsec_c2VjcmV0c2VjcmV0", "tgram://123456:BOTTOKEN/999",
        "https://hooks.slack.com/services/T/B/sl4ckpath", "m4il-passw0rd"}


def test_a_secret_is_masked_in_message_extras_and_exception() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(SecretMask(["tgram://123456:BOTTOKEN/999", "BOTTOKEN", "ab"]))
    log = logging.getLogger("test.secrets")
    log.addHandler(handler)
    log.propagate = False
    try:
        log.warning("POST https://api.telegram.org/bot%s/sendMessage", "BOTTOKEN",
                    extra={"url": "tgram://123456:BOTTOKEN/999"})
        try:
            raise RuntimeError("connect failed for BOTTOKEN")
        except RuntimeError:
            log.exception("send failed")
    finally:
        log.removeHandler(handler)
        log.propagate = True
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert "BOTTOKEN" not in stream.getvalue()
    assert lines[0]["message"] == "POST https://api.telegram.org/bot**********/sendMessage"
    assert lines[0]["url"] == "**********"
    assert "connect failed for **********" in lines[1]["exception"]
    assert "api" in lines[0]["message"], "values under 4 characters (ab) are not masked"
