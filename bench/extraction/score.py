"""Main-text F1 of extract_article (and alternatives) against the hand-labelled pages here."""

from __future__ import annotations

import argparse
import re
import statistics
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

PAGES = Path(__file__).resolve().parent / "pages"
URL = "https://bench.example.cn/{name}"
# A CJK character is a token; so is a Latin word or a number. Punctuation is not.
_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_TOKEN = re.compile(rf"[{_CJK}]|[^\W\d_{_CJK}]+|\d+")

Extractor = Callable[[bytes, str], str]


@dataclass(frozen=True)
class Page:
    """One labelled page: its bytes and the main text a person wrote down for it."""

    name: str
    body: bytes
    truth: str


@dataclass(frozen=True)
class PageScore:
    """Precision, recall and F1 of one extraction, and how long it took."""

    name: str
    precision: float
    recall: float
    f1: float
    ms: float


def tokens(text: str) -> Counter[str]:
    """The bag of tokens: CJK characters one by one, other words and numbers whole."""
    return Counter(_TOKEN.findall(text.lower()))


def f1(predicted: str, truth: str) -> tuple[float, float, float]:
    """Bag-of-tokens precision, recall and F1 of `predicted` against `truth`."""
    got, want = tokens(predicted), tokens(truth)
    common = sum((got & want).values())
    if not common:
        return 0.0, 0.0, 0.0
    precision, recall = common / sum(got.values()), common / sum(want.values())
    return precision, recall, 2 * precision * recall / (precision + recall)


def load_pages(folder: Path = PAGES) -> list[Page]:
    """Every page_NN.html with its page_NN.txt beside it."""
    return [Page(html.name, html.read_bytes(), html.with_suffix(".txt").read_text("utf-8"))
            for html in sorted(folder.glob("*.html"))]


def score(extractor: Extractor, pages: list[Page]) -> list[PageScore]:
    """Run `extractor` on each page (errors count as empty text) and score it."""
    scores = []
    for page in pages:
        started = time.perf_counter()
        try:
            text = extractor(page.body, URL.format(name=page.name))
        except Exception:  # an extractor that gives up on a page scores 0 there
            text = ""
        elapsed = (time.perf_counter() - started) * 1000
        scores.append(PageScore(page.name, *f1(text, page.truth), ms=elapsed))
    return scores


def mean_f1(scores: list[PageScore]) -> float:
    """The mean F1 over pages."""
    return statistics.fmean(item.f1 for item in scores)


def extractors() -> dict[str, Extractor]:
    """extract_article, plain trafilatura in its three modes, and article.py's fallback."""
    return {"monitor": _monitor, "trafilatura-default": _trafilatura(),
            "trafilatura-precision": _trafilatura(favor_precision=True),
            "trafilatura-recall": _trafilatura(favor_recall=True),
            "largest-block": _largest_block}


def _monitor(body: bytes, url: str) -> str:
    from monitor.sources import extract_article

    return extract_article(body, "text/html", url).text


def _trafilatura(**options: bool) -> Extractor:
    def extract(body: bytes, url: str) -> str:
        import trafilatura

        from monitor.fetch.charset import decode

        text = trafilatura.extract(decode(body, "text/html").text, url=url, include_tables=True,
                                   include_comments=False, **options)
        return text or ""

    return extract


def _largest_block(body: bytes, url: str) -> str:
    import trafilatura

    from monitor.fetch.charset import decode
    from monitor.sources import article

    tree = trafilatura.load_html(decode(body, "text/html").text)
    return article._largest_block(tree) if tree is not None else ""


def _report(name: str, scores: list[PageScore], verbose: bool) -> None:
    if verbose:
        for item in scores:
            print(f"  {item.name}  P {item.precision:.3f}  R {item.recall:.3f}  "
                  f"F1 {item.f1:.3f}  {item.ms:6.1f} ms")
    lowest = min(scores, key=lambda item: item.f1)
    print(f"{name:22} mean F1 {mean_f1(scores):.3f}  "
          f"P {statistics.fmean(s.precision for s in scores):.3f}  "
          f"R {statistics.fmean(s.recall for s in scores):.3f}  "
          f"min {lowest.f1:.3f} ({lowest.name})  "
          f"{statistics.fmean(s.ms for s in scores):.1f} ms/page")


def main() -> None:
    """Print per-page and mean F1 for extract_article, or for every extractor with --compare."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--compare", action="store_true", help="score every extractor")
    parser.add_argument("--quiet", action="store_true", help="means only, no per-page lines")
    parser.add_argument("pages", nargs="?", type=Path, default=PAGES)
    args = parser.parse_args()
    pages = load_pages(args.pages)
    chosen = extractors() if args.compare else {"monitor": _monitor}
    print(f"{len(pages)} pages in {args.pages}")
    for name, extractor in chosen.items():
        score(extractor, pages)  # warm-up: lazy imports (1-2 s on a first page) are not timed
        _report(name, score(extractor, pages), verbose=not args.quiet)


if __name__ == "__main__":
    main()
