"""Excel workbooks (`.xlsx`, macro-enabled `.xlsm`): a section per sheet, rows as lines.

openpyxl in read-only mode streams each sheet's rows instead of building the whole workbook
in memory, and reads cached values rather than formulas (what a reader sees). With
defusedxml installed, openpyxl parses every part through it. A sheet's heading is its name;
a big sheet becomes several blocks of rows under that heading, each of which
`indexer.passages` cuts further as usual.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .base import Block, Extraction, Skipped
from .office_limits import LIBRARY_FAILURES, checked_package, with_time_limit
from .office_meta import core_properties
from .text import collapse_whitespace

CELL_SEPARATOR = " · "
ROWS_PER_BLOCK = 200
# A sheet can be a million rows of numbers; past this the rest is summarised in a warning.
MAX_ROWS_PER_SHEET = 20_000


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return collapse_whitespace(str(value))


def row_blocks(
    name: str, rows: Iterable[Iterable[Any]], warnings: list[str], page: int | None = None
) -> list[Block]:
    """A sheet's non-empty rows as blocks of `ROWS_PER_BLOCK` lines under the sheet's name."""
    blocks: list[Block] = []
    lines: list[str] = []
    for number, row in enumerate(rows, start=1):
        if number > MAX_ROWS_PER_SHEET:
            warnings.append(f"sheet {name}: rows past {MAX_ROWS_PER_SHEET:,} not indexed")
            break
        cells = [t for t in (_cell_text(v) for v in row) if t]
        if cells:
            lines.append(CELL_SEPARATOR.join(cells))
        if len(lines) == ROWS_PER_BLOCK:
            blocks.append(Block("\n\n".join(lines), (name,), page))
            lines = []
    if lines:
        blocks.append(Block("\n\n".join(lines), (name,), page))
    return blocks


@with_time_limit
def extract_xlsx(path: Path) -> Extraction:
    """A section per worksheet (chart sheets have no cells), headed by the sheet's name."""
    import openpyxl

    warnings: list[str] = []
    path = Path(path)
    blocks: list[Block] = []
    with checked_package(path, "Excel") as zf:
        metadata = core_properties(zf, warnings)
        try:
            workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
        except LIBRARY_FAILURES as error:
            raise Skipped(f"corrupt Excel file: {type(error).__name__}: {error}") from None
        try:
            for sheet in workbook.worksheets:
                rows = sheet.iter_rows(values_only=True)
                blocks.extend(row_blocks(collapse_whitespace(sheet.title), rows, warnings))
        except LIBRARY_FAILURES as error:
            raise Skipped(f"corrupt Excel file: {type(error).__name__}: {error}") from None
        finally:
            workbook.close()
    if not blocks:
        raise Skipped("no text content")
    return Extraction(
        format="xlsx",
        title=metadata.get("title"),
        blocks=blocks,
        metadata=metadata,
        warnings=warnings,
    )
