"""Checks recorded together: the rows of one by one, each its own outcome, a bad row alone."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, MetaData, select

from monitor.classify.similarity import fingerprint
from monitor.domain import Document, Evidence, Fact, Match, Outcome, Reason, Validators
from monitor.errors import StoreError
from monitor.ledger import CheckLedger
from monitor.store import (
    CheckIntent,
    DocumentWrite,
    Health,
    Store,
    StoryClue,
    database_url,
    make_engine,
    upgrade_schema,
)

NOW = datetime(2026, 3, 5, 8, 0, tzinfo=UTC)
PLAN = ("山东省人民政府办公厅关于印发山东省区块链产业发展行动计划的通知",
        "为抢抓区块链技术发展机遇，推动区块链与实体经济深度融合，结合我省实际，制定本行动计划。"
        "到2022年，全省区块链产业规模达到一百亿元，培育一批区块链骨干企业，建成一批应用示范项目。")


def _document(url: str, source: str, title: str, text: str) -> Document:
    return Document(url, source, title, text, NOW - timedelta(days=1), "zh", f"h{len(text)}")


def _match(regions: tuple[str, ...] = ("Shandong",)) -> Match:
    return Match("blockchain-policy", ("区块链",), (Evidence("区块链", "text", "发展区块链"),),
                 score=4.0, category="plan", reasons=(Reason("topic", "区块链 x4", 2.0),),
                 regions=regions, issuer="山东省人民政府办公厅",
                 facts=(Fact("money", "10000000000", "CNY", "一百亿元"),), mentions=4)


def _clue(document: Document) -> StoryClue:
    print_ = fingerprint(document.title, document.text)
    assert print_ is not None
    return StoryClue(print_.signature, print_.bands, ("money:10000000000",), ("Shandong",),
                     "plan", "zh", NOW)


def _new(url: str, source: str, title: str = PLAN[0], text: str = PLAN[1],
         subscriptions: tuple[str, ...] = ("analysts", "ops")) -> DocumentWrite:
    document = _document(url, source, title, text)
    return DocumentWrite(document, f"item:{url}", None, "new", (_match(),), subscriptions,
                         clue=_clue(document))


def _checks() -> list[CheckIntent]:
    """A history of checks touching every table a check writes."""
    at = [NOW + timedelta(minutes=n) for n in range(8)]
    healthy = Health(False, NOW, None)
    reworded = replace(_new("https://sd.gov.cn/plan.html", "province").document,
                       text=PLAN[1] + "各地要加强组织领导。", content_hash="h2")
    return [
        CheckIntent("province", Outcome.NEW, at[0], health=healthy,
                    validators={"https://sd.gov.cn/list.html": Validators('"a"', None)},
                    writes=(_new("https://sd.gov.cn/plan.html", "province"),),
                    follow_failures=(("https://sd.gov.cn/broken.html", "HTTP 503"),)),
        CheckIntent("daily", Outcome.NEW, at[1], health=healthy,  # a repost: same story
                    writes=(_new("https://daily.example/repost.html", "daily"),
                            _new("https://daily.example/other.html", "daily", "另一条新闻",
                                 "本报讯 今天天气晴朗，市民纷纷外出踏青赏花，公园里游人如织。" * 3,
                                 ("ops",)))),
        CheckIntent("province", Outcome.NOT_MODIFIED, at[2], health=healthy),
        CheckIntent("province", Outcome.ERROR, at[3], error="HTTP 500", health=healthy),
        CheckIntent("province", Outcome.CHANGED, at[4], health=healthy,
                    validators={"https://sd.gov.cn/list.html": Validators('"b"', "Mon")},
                    writes=(DocumentWrite(reworded, "item2", 1, "changed", (_match(),),
                                          ("analysts",), ("各地要加强组织领导。",), (),
                                          _clue(reworded)),),
                    follow_failures=(("https://sd.gov.cn/broken.html", "HTTP 503"),)),
        CheckIntent("daily", Outcome.UNCHANGED, at[5], health=healthy,
                    writes=(DocumentWrite(_document("https://daily.example/other.html", "daily",
                                                    "另一条新闻", "x"), "item3", 3, "unchanged"),)),
        CheckIntent("province", Outcome.NEW, at[6], health=healthy, complete=False,
                    writes=(_new("https://sd.gov.cn/broken.html", "province",
                                 "山东省数字经济发展规划", "数字经济" * 40, ()),),
                    validators={"https://sd.gov.cn/feed.xml": Validators(None, "Tue")}),
        CheckIntent("newcomer", Outcome.ERROR, at[7], error="timed out", health=healthy),
    ]


@pytest.fixture
def engines(tmp_path: Path) -> Iterator[tuple[Engine, Engine]]:
    pair = []
    for name in ("one-by-one", "ledger"):
        engine = make_engine(f"sqlite:///{tmp_path / name}.db")
        upgrade_schema(engine)
        pair.append(engine)
    yield pair[0], pair[1]
    for engine in pair:
        engine.dispose()


def _tables(engine: Engine) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table, values as SQLite gives them back, so dialects compare."""
    metadata = MetaData()
    metadata.reflect(engine)
    with engine.connect() as connection:
        return {name: sorted((tuple(_plain(value) for value in row)
                              for row in connection.execute(select(table))), key=repr)
                for name, table in metadata.tables.items() if name != "alembic_version"}


def _plain(value: object) -> object:
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None)
    return bytes(value) if isinstance(value, memoryview) else value


async def test_checks_recorded_together_leave_the_rows_of_checks_recorded_one_by_one(
        engines: tuple[Engine, Engine]) -> None:
    one_by_one, together = Store(engines[0]), CheckLedger(Store(engines[1]))
    alerts_alone = [one_by_one.apply_check(intent) for intent in _checks()]
    alerts_together = await asyncio.gather(*(together.record(i) for i in _checks()))
    assert alerts_together == alerts_alone == [2, 0, 0, 0, 1, 0, 0, 0], "a repost alerts no one"
    alone, batched = _tables(engines[0]), _tables(engines[1])
    assert batched == alone
    assert len(alone["documentrecord"]) == 4 and len(alone["alertrecord"]) == 3
    assert alone["followfailurerecord"] == [], "the page that failed twice was stored at last"
    province = one_by_one.source_state("province")
    assert province.consecutive_failures == 0 and province.baseline_done
    assert one_by_one.source_state("newcomer").last_error == "timed out"


async def test_on_postgresql_too(engines: tuple[Engine, Engine], postgres_url: str) -> None:
    one_by_one = Store(engines[0])
    for intent in _checks():
        one_by_one.apply_check(intent)
    engine = make_engine(database_url(Path(), postgres_url))
    upgrade_schema(engine)
    try:
        together = CheckLedger(Store(engine))
        await asyncio.gather(*(together.record(intent) for intent in _checks()))
        assert _tables(engine) == _tables(engines[0])
    finally:
        engine.dispose()


async def test_many_checks_ending_together_each_get_their_own_outcome(store: Store) -> None:
    ledger = CheckLedger(store)
    outcomes = [Outcome.NOT_MODIFIED, Outcome.ERROR, Outcome.UNCHANGED]
    intents = [CheckIntent(f"s{n}", outcomes[n % 3], NOW, health=Health(),
                           error="HTTP 502" if n % 3 == 1 else None,
                           validators={f"https://s{n}.example/": Validators(f'"{n}"', None)})
               for n in range(300)]
    assert await asyncio.gather(*(ledger.record(intent) for intent in intents)) == [0] * 300
    started = await asyncio.gather(*(ledger.start(f"s{n}", f"https://s{n}.example/")
                                     for n in range(301)))
    for n, (state, validators) in enumerate(started[:300]):
        assert (state.source_id, state.last_outcome) == (f"s{n}", outcomes[n % 3].value)
        assert state.consecutive_failures == (n % 3 == 1)
        assert validators == Validators(f'"{n}"', None)
    assert started[300] == (replace(started[300][0], source_id="s300"), None)
    assert started[300][0].last_checked_at is None, "a source never checked starts fresh"


async def test_one_outcome_the_database_refuses_fails_only_its_own_check(store: Store) -> None:
    ledger = CheckLedger(store)
    broken = replace(_new("https://bad.example/", "bad").document, title=None)  # NOT NULL
    intents = [CheckIntent("good", Outcome.NOT_MODIFIED, NOW),
               CheckIntent("bad", Outcome.NEW, NOW,
                           writes=(DocumentWrite(broken, "i", None, "new"),)),
               CheckIntent("fine", Outcome.NEW, NOW, writes=(_new("https://ok.example/", "fine"),))]
    results = await asyncio.gather(*(ledger.record(intent) for intent in intents),
                                   return_exceptions=True)
    assert results[0] == 0 and results[2] == 2
    assert isinstance(results[1], StoreError) and "cannot record check of bad" in str(results[1])
    assert [d.url for d in store.iter_documents()] == ["https://ok.example/"]
    assert store.source_state("good").last_outcome == "not-modified"
    assert store.source_state("bad").last_outcome is None, "nothing of the bad check was kept"


def test_a_ledger_outlives_an_event_loop_stopped_mid_batch(store: Store) -> None:
    """`monitor run` stops its loop on SIGTERM, possibly while a batch is open; a ledger used
    again from a new loop (the next command in the same process) still answers."""
    ledger = CheckLedger(store)

    async def stopped_mid_batch() -> None:
        asyncio.get_running_loop().create_task(ledger.record(
            CheckIntent("left", Outcome.NOT_MODIFIED, NOW)))
        await asyncio.sleep(0)  # the batch is open; the loop ends before it is served

    asyncio.run(stopped_mid_batch())
    next_check = ledger.record(CheckIntent("next", Outcome.NOT_MODIFIED, NOW))
    assert asyncio.run(asyncio.wait_for(next_check, timeout=5)) == 0
    assert store.source_state("next").last_outcome == "not-modified"
