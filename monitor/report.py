"""`monitor report coverage`: which regions' documents of a category named a topic, by year."""

from __future__ import annotations

import csv
import html
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from monitor.store.queries import MatchRow

NATIONAL = "(national)"  # documents that name no provincial-level division
_TITLE_YEAR = re.compile(r"(?<!\d)((?:19|20)\d\d)(?!\d)")


@dataclass(frozen=True)
class Cell:
    """The documents of one region and year: how many, and the most mentions in one of them."""

    documents: int = 0
    mentions: int = 0


@dataclass(frozen=True)
class CoverageTable:
    """Rows by the first dimension, columns by the second; each cell a Cell."""

    topic: str
    category: str
    row_name: str  # "region" or "year"
    rows: tuple[str, ...]
    columns: tuple[str, ...]
    cells: dict[tuple[str, str], Cell]

    def cell(self, row: str, column: str) -> Cell:
        return self.cells.get((row, column), Cell())


def coverage(matches: Iterable[MatchRow], provinces: Sequence[str], topic: str,
             category: str, by: tuple[str, str] = ("region", "year")) -> CoverageTable:
    """Count the relevant matches of `category` per region and year (every province listed)."""
    cells: dict[tuple[str, str], Cell] = {}
    for row in matches:
        if row.match.category != category or not row.match.relevant:
            continue
        year = document_year(row)
        if year is None:
            continue
        region = row.match.regions[0] if row.match.regions else NATIONAL
        old = cells.get((region, year), Cell())
        cells[(region, year)] = Cell(old.documents + 1, max(old.mentions, row.match.mentions))
    regions = [*provinces, *([NATIONAL] if any(r == NATIONAL for r, _ in cells) else [])]
    years = sorted({year for _, year in cells})
    if by == ("year", "region"):
        flipped = {(year, region): cell for (region, year), cell in cells.items()}
        return CoverageTable(topic, category, "year", tuple(years), tuple(regions), flipped)
    return CoverageTable(topic, category, "region", tuple(regions), tuple(years), cells)


def document_year(row: MatchRow) -> str | None:
    """The year a document is about: named in its title (2020年政府工作报告), else published."""
    found = _TITLE_YEAR.search(row.document.title)
    if found:
        return found.group(1)
    return str(row.document.published.year) if row.document.published else None


def as_text(table: CoverageTable) -> str:
    """A fixed-width table: mentions in the cell, '-' where nothing was found."""
    width = max([len(table.row_name), *(len(row) for row in table.rows)]) + 2
    header = table.row_name.ljust(width) + "".join(c.rjust(8) for c in table.columns)
    lines = [f"{table.topic} in {table.category} documents (cells: mentions of the topic;"
             " - none found)", header, "-" * len(header)]
    for row in table.rows:
        cells = "".join(_mark(table.cell(row, c)).rjust(8) for c in table.columns)
        lines.append(row.ljust(width) + cells)
    found = sum(1 for cell in table.cells.values() if cell.documents)
    lines.append(f"{found} {table.row_name}-{_other(table)} pair(s) with a matching document")
    return "\n".join(lines)


def as_csv(table: CoverageTable) -> str:
    """One row per (row, column) pair, for spreadsheets: mentioned, mentions, documents."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([table.row_name, _other(table), "mentioned", "mentions", "documents"])
    for row in table.rows:
        for column in table.columns:
            cell = table.cell(row, column)
            writer.writerow([row, column, "yes" if cell.documents else "no", cell.mentions,
                             cell.documents])
    return out.getvalue()


def as_html(table: CoverageTable) -> str:
    """A standalone HTML page with the table; every value escaped."""
    head = "".join(f"<th>{html.escape(c)}</th>" for c in table.columns)
    body = "".join(
        f"<tr><th>{html.escape(row)}</th>"
        + "".join(_html_cell(table.cell(row, c)) for c in table.columns) + "</tr>"
        for row in table.rows)
    title = html.escape(f"{table.topic} in {table.category} documents")
    return (f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{title}</title>"
            "<style>table{border-collapse:collapse;font-family:sans-serif}"
            "td,th{border:1px solid #ccc;padding:2px 8px;text-align:center}"
            "td.yes{background:#c6f6d5}</style></head><body>"
            f"<h1>{title}</h1><table><tr><th>{html.escape(table.row_name)}</th>{head}</tr>"
            f"{body}</table></body></html>\n")


def _mark(cell: Cell) -> str:
    return str(cell.mentions) if cell.documents else "-"


def _html_cell(cell: Cell) -> str:
    if not cell.documents:
        return "<td>-</td>"
    return f"<td class=\"yes\" title=\"{cell.documents} document(s)\">{cell.mentions}</td>"


def _other(table: CoverageTable) -> str:
    return "year" if table.row_name == "region" else "region"
