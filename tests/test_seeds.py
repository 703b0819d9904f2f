"""The five real articles in ../shared/seeds: each detected with its category (skipped without)."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.classify import TopicClassifier
from monitor.config import load_config
from monitor.domain import Document

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT.parent / "shared" / "seeds"
EXPECTED = {  # file name prefix → category; what a reader of each article would file it under
    "000": "gov_report",  # 21 provinces' work reports mention blockchain (French)
    "001": "plan",  # Beijing, Hunan, Hubei… action plans 2020–2022 (French)
    "002": "plan",  # Beijing's 145-page plan (French)
    "003": "pilot",  # 15 pilot zones and 164 entities (French)
    "004": "gov_report",  # blockchain in the 2020 government work reports (English)
}


def _seed(prefix: str) -> Document:
    paths = sorted(SEEDS.glob(f"{prefix}_*.txt"))
    if not paths:
        pytest.skip(f"no seed {prefix} in {SEEDS}")
    lines = [line for line in paths[0].read_text("utf-8").splitlines()
             if line.strip() and ">>" not in line]  # a breadcrumb line is not the title
    return Document(paths[0].name, "seed", lines[0], "\n".join(lines[1:]), None, "", "")


@pytest.mark.parametrize(("prefix", "category"), sorted(EXPECTED.items()))
def test_each_seed_is_a_relevant_document_of_its_category(prefix: str, category: str) -> None:
    topic = next(t for t in load_config(ROOT / "sources.yaml", {}).topics
                 if t.id == "blockchain-policy")
    (match,) = TopicClassifier([topic]).classify(_seed(prefix))
    assert match.relevant, [reason.detail for reason in match.reasons]
    assert match.category == category
    assert match.regions, "every seed names Chinese regions"
