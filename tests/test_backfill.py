"""`monitor backfill`: older list pages stored without alerting, stopping at --since."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from monitor.cli import main
from tests.conftest import UseConfig
from tests.fixture_server import FixtureServer
from tests.portal import Post, list_page

CONFIG = """\
version: 1
defaults: {{allow_private: true, per_host_delay: 0s}}
sources:
  - id: portal
    kind: html-list
    url: {base}/zcwj/index.html
    items: {{selector: "ul.list li", date: span}}
    pagination: {pagination}
topics:
  - id: blockchain-policy
    terms: {{zh: [区块链]}}
subscriptions:
  - id: now
    mode: immediate
    channel: {{kind: file}}
"""
PAGES = [  # newest first, as portals list them
    [Post("p1", "区块链试点通知", "2021-03-01"), Post("p2", "政务公开通知", "2021-02-01")],
    [Post("p3", "区块链规划", "2020-11-01"), Post("p4", "防汛通知", "2020-10-01")],
    [Post("p5", "区块链旧闻", "2019-05-01"), Post("p6", "旧通知", "2019-04-01")],
]


def _serve(server: FixtureServer, next_links: bool = False) -> None:
    for number, posts in enumerate(PAGES):
        name = "index.html" if number == 0 else f"index_{number}.html"
        page = list_page(posts, "/zcwj/")
        if next_links and number + 1 < len(PAGES):
            page = page.replace("</ul>", f'</ul><a class="next" href="index_{number + 1}.html">'
                                          "下一页</a>")
        server.set(f"/zcwj/{name}", page)


def _urls(tmp_path: Path) -> list[str]:
    out = tmp_path / "docs.jsonl"
    assert main(["export", "documents", "-o", str(out)]) == 0
    return sorted(json.loads(line)["url"].rsplit("/", 1)[1]
                  for line in out.read_text("utf-8").splitlines())


@pytest.mark.parametrize("pagination", ['{pattern: "index_{n}.html"}', '{next: "a.next"}'])
def test_backfill_stores_history_since_a_date_and_alerts_nothing(
        pagination: str, use_config: UseConfig, http_server: FixtureServer, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    _serve(http_server, next_links="next" in pagination)
    use_config(CONFIG.format(base=http_server.base_url, pagination=pagination))
    assert main(["backfill", "portal", "--since", "2020-06-01"]) == 0
    out = capsys.readouterr()
    assert "3 page(s), 6 items, 2 new documents stored (no alerts)" in out.out
    assert "page 2: 4 items seen" in out.err
    assert _urls(tmp_path) == ["p3.html", "p4.html"], "page 1 is left to the checks"
    assert main(["check"]) == 0
    assert "portal: new (2 new, 0 changed, 0 alerts)" in capsys.readouterr().out, "baseline"
    assert not list((tmp_path / "state" / "outbox").glob("*.json")), "history never alerts"


def test_backfill_needs_pagination(use_config: UseConfig, http_server: FixtureServer,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    use_config(CONFIG.format(base=http_server.base_url, pagination="null"))
    assert main(["backfill", "portal", "--since", "2020-01-01"]) == 2
    assert "has no `pagination:`" in capsys.readouterr().err


def test_pagination_needs_exactly_one_way(use_config: UseConfig, http_server: FixtureServer,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    use_config(CONFIG.format(base=http_server.base_url, pagination='{pattern: "index.html"}'))
    assert main(["validate"]) == 2
    assert "sources[0].pagination: `pattern` needs {n}" in capsys.readouterr().err


@pytest.mark.parametrize(("pagination", "problem"), [
    ('{pattern: "index_{n}_{page}.html"}', "`pattern` may hold only {n}"),
    ('{next: "a.next["}', "invalid CSS selector 'a.next['"),
])
def test_pagination_is_checked_when_validating(
        pagination: str, problem: str, use_config: UseConfig, http_server: FixtureServer,
        capsys: pytest.CaptureFixture[str]) -> None:
    use_config(CONFIG.format(base=http_server.base_url, pagination=pagination))
    assert main(["validate"]) == 2
    assert problem in capsys.readouterr().err
