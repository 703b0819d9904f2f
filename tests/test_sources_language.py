from __future__ import annotations

import pytest

from monitor.sources.language import detect_language, primary_subtag


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("云岭省推进区块链技术应用和产业发展行动计划", "zh"),
        ("关于印发 Blockchain 2024 行动计划的通知 (PDF, 2 MB)", "zh"),
        ("The province published a blockchain action plan and a list of pilots.", "en"),
        ("La province a publié une stratégie pour la chaîne de blocs et des projets pilotes.",
         "fr"),
        ("Le gouvernement et les entreprises", "fr"),
        ("", "en"),
        ("2024-06-12 | 12345", "en"),
    ],
)
def test_detect_language(text: str, expected: str) -> None:
    assert detect_language(text) == expected


def test_detect_language_samples_only_the_start() -> None:
    assert detect_language("The plan and the list. " * 200 + "区块链" * 5000) == "en"


@pytest.mark.parametrize(
    ("tag", "expected"), [("zh-CN", "zh"), ("en_US", "en"), ("FR", "fr"), ("", None), (None, None)]
)
def test_primary_subtag(tag: str | None, expected: str | None) -> None:
    assert primary_subtag(tag) == expected
