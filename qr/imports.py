"""Import and update the unit hierarchy from a CSV or XLSX file: every bad row reported with its line (the
spreadsheet's row number), or nothing changes.

Columns (a header row is required): code, name, level, parent_code. Levels may be written in Chinese
(区, 街道, 镇, 乡, 社区, 村, 网格) or as the English enum values. An XLSX file is read from its first sheet.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import warnings

import openpyxl
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import LEVEL_ORDER, DomainError, Unit, UnitLevel, utcnow
from models.triage import ComplaintCategory, district_categories
from web.messages import error_text

from .posters import SIZES, layout, missing_glyphs
from .services import current_code, issue_code

COLUMNS = ("code", "name", "level", "parent_code")
LEVELS = {
    "区": UnitLevel.district, "县": UnitLevel.district, "district": UnitLevel.district,
    "街道": UnitLevel.street, "镇": UnitLevel.street, "乡": UnitLevel.street, "street": UnitLevel.street,
    "社区": UnitLevel.community, "村": UnitLevel.community, "community": UnitLevel.community,
    "网格": UnitLevel.grid, "grid": UnitLevel.grid,
}
CODE_LIMIT = 64
NAME_LIMIT = 200
ROW_LIMIT = 50_000


@dataclasses.dataclass
class RowError:
    line: int
    code: str
    params: dict

    def message(self) -> str:
        return error_text(self.code, {"line": self.line, **self.params})


class ImportInvalid(DomainError):
    """The file has bad rows; `errors` lists each with its line number. Nothing was written."""

    def __init__(self, errors: list[RowError]) -> None:
        super().__init__("import_invalid", count=len(errors))
        self.errors = errors


@dataclasses.dataclass
class Row:
    line: int
    code: str
    name: str
    level: UnitLevel
    parent_code: str | None


@dataclasses.dataclass
class ImportResult:
    created: int
    updated: int
    unchanged: int


def read_csv(data: bytes, columns: tuple[str, ...] = COLUMNS) -> list[dict[str, str] | RowError]:
    """Rows of a UTF-8 (optionally BOM-marked) CSV as dicts keyed by the header; a file-level problem raises."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImportInvalid([RowError(1, "import_not_utf8", {})]) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        raise ImportInvalid([RowError(1, "import_empty", {})]) from None
    except csv.Error as exc:
        raise ImportInvalid([RowError(1, "import_malformed", {"detail": str(exc)[:80]})]) from None
    missing = [c for c in columns if c not in header]
    if missing:
        raise ImportInvalid([RowError(1, "import_header", {"columns": ", ".join(missing)})])
    rows: list[dict[str, str] | RowError] = []
    try:
        for record in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in record):
                continue
            if len(record) != len(header):
                rows.append(RowError(line, "import_columns", {"expected": len(header), "got": len(record)}))
                continue
            rows.append({"line": line, **dict(zip(header, (c.strip() for c in record), strict=True))})
            if len(rows) > ROW_LIMIT:
                raise ImportInvalid([RowError(line, "import_too_many", {"limit": ROW_LIMIT})])
    except csv.Error as exc:
        raise ImportInvalid([RowError(reader.line_num, "import_malformed", {"detail": str(exc)[:80]})]) from None
    if not rows:
        raise ImportInvalid([RowError(1, "import_empty", {})])
    return rows


XLSX_MAGIC = b"PK\x03\x04"  # an XLSX file is a ZIP archive


def _cell_text(value) -> str:
    """A cell as the text a person typed: 320312 stays 320312 even when the sheet stored it as a number."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value)


def read_xlsx(data: bytes, columns: tuple[str, ...] = COLUMNS) -> list[dict[str, str] | RowError]:
    """Rows of the first sheet of an XLSX file as dicts keyed by the header row, numbered by sheet row."""
    try:
        with warnings.catch_warnings():
            # openpyxl warns about styles and extensions it does not read; the cell values are all we need.
            warnings.simplefilter("ignore", UserWarning)
            return _xlsx_rows(data, columns)
    except ImportInvalid:
        raise
    except Exception:  # not a ZIP, not a workbook, broken XML inside: openpyxl raises many kinds
        raise ImportInvalid([RowError(1, "import_xlsx_unreadable", {})]) from None


def _xlsx_rows(data: bytes, columns: tuple[str, ...]) -> list[dict[str, str] | RowError]:
    book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        sheet = book.worksheets[0] if book.worksheets else None
        if sheet is None:
            raise ImportInvalid([RowError(1, "import_empty", {})])
        rows_iter = sheet.iter_rows(values_only=True)
        try:
            header_row = next(rows_iter)
        except StopIteration:
            raise ImportInvalid([RowError(1, "import_empty", {})]) from None
        header = [_cell_text(h).strip().lower() for h in header_row]
        while header and not header[-1]:
            header.pop()  # formatted but empty columns at the right
        missing = [c for c in columns if c not in header]
        if missing:
            raise ImportInvalid([RowError(1, "import_header", {"columns": ", ".join(missing)})])
        rows: list[dict[str, str] | RowError] = []
        for line, record in enumerate(rows_iter, start=2):
            cells = [_cell_text(c).strip() for c in record]
            if not any(cells):
                continue
            if any(cells[len(header):]):
                rows.append(RowError(line, "import_columns", {"expected": len(header),
                                                              "got": max(i for i, c in enumerate(cells) if c) + 1}))
                continue
            cells = (cells + [""] * len(header))[:len(header)]
            rows.append({"line": line, **dict(zip(header, cells, strict=True))})
            if len(rows) > ROW_LIMIT:
                raise ImportInvalid([RowError(line, "import_too_many", {"limit": ROW_LIMIT})])
    finally:
        book.close()
    if not rows:
        raise ImportInvalid([RowError(1, "import_empty", {})])
    return rows


def read_table(data: bytes, columns: tuple[str, ...] = COLUMNS) -> list[dict[str, str] | RowError]:
    """An XLSX file (recognised by its content) or a UTF-8 CSV, with at least these columns."""
    return read_xlsx(data, columns) if data[:4] == XLSX_MAGIC else read_csv(data, columns)


def _parent_level(level: UnitLevel) -> UnitLevel | None:
    index = LEVEL_ORDER.index(level)
    return LEVEL_ORDER[index - 1] if index else None


def validate(session: Session, records: list[dict[str, str] | RowError]) -> list[Row]:
    """Check every row against the file and the units already stored; raise ImportInvalid listing all bad rows."""
    errors = [r for r in records if isinstance(r, RowError)]
    rows: list[Row] = []
    seen: dict[str, int] = {}
    for rec in records:
        if isinstance(rec, RowError):
            continue
        line, code, name = rec["line"], rec["code"], rec["name"]
        level = LEVELS.get(rec["level"].lower() if rec["level"].isascii() else rec["level"])
        bad = len(errors)
        if not code:
            errors.append(RowError(line, "import_code_empty", {}))
        elif len(code) > CODE_LIMIT or not code.isprintable() or " " in code:
            errors.append(RowError(line, "import_code_invalid", {"code": code[:40]}))
        elif code in seen:
            errors.append(RowError(line, "import_code_duplicate", {"code": code, "first": seen[code]}))
        if not name:
            errors.append(RowError(line, "import_name_empty", {}))
        elif len(name) > NAME_LIMIT:
            errors.append(RowError(line, "import_name_too_long", {"limit": NAME_LIMIT}))
        elif missing := missing_glyphs(name):
            errors.append(RowError(line, "import_name_glyphs", {"chars": "".join(missing[:5])}))
        if level is None:
            errors.append(RowError(line, "import_level_unknown", {"level": rec["level"][:20]}))
        if code and code not in seen:
            seen[code] = line
        if len(errors) == bad:
            rows.append(Row(line, code, name, level, rec["parent_code"] or None))
    by_code = {r.code: r for r in rows}
    stored = {u.code: u for u in session.scalars(select(Unit))}
    stored_by_id = {u.id: u for u in stored.values()}

    def parent_of(code: str) -> str | None:
        if code in by_code:
            return by_code[code].parent_code
        unit = stored.get(code)
        parent = stored_by_id.get(unit.parent_id) if unit and unit.parent_id else None
        return parent.code if parent else None

    def level_of(code: str) -> UnitLevel | None:
        if code in by_code:
            return by_code[code].level
        return stored[code].level if code in stored else None

    def full_name(row: Row) -> str:
        names, code, hops = [row.name], row.parent_code, 0
        while code and hops < 10:
            names.append(by_code[code].name if code in by_code else stored[code].name if code in stored else "")
            code, hops = parent_of(code), hops + 1
        return "·".join(reversed(names))

    for row in rows:
        expected = _parent_level(row.level)
        if row.parent_code is None:
            if expected is not None:
                errors.append(RowError(row.line, "import_parent_missing", {}))
            continue
        if row.parent_code not in by_code and row.parent_code not in stored:
            errors.append(RowError(row.line, "import_parent_unknown", {"parent": row.parent_code[:40]}))
            continue
        # Walk up: reaching this row again is a cycle.
        code, steps, cycle = row.parent_code, 0, False
        while code is not None and steps <= len(by_code) + 1:
            if code == row.code:
                cycle = True
                break
            code, steps = parent_of(code), steps + 1
        if cycle:
            errors.append(RowError(row.line, "import_cycle", {"code": row.code}))
            continue
        if level_of(row.parent_code) != expected:
            errors.append(RowError(row.line, "import_level_mismatch", {"parent": row.parent_code[:40]}))
            continue
        try:
            layout(full_name(row), SIZES["A5"])
        except DomainError:
            errors.append(RowError(row.line, "import_name_too_long_for_poster", {}))
    if errors:
        raise ImportInvalid(sorted(errors, key=lambda e: e.line))
    return rows


def import_units(session: Session, data: bytes) -> ImportResult:
    """Create or update units from a CSV or XLSX file, give new units a code; all or nothing (flushes, no commit)."""
    rows = validate(session, read_table(data))
    stored = {u.code: u for u in session.scalars(select(Unit))}
    created = updated = unchanged = 0
    now = utcnow()
    for row in rows:
        unit = stored.get(row.code)
        if unit is None:
            unit = Unit(code=row.code, name=row.name, level=row.level, created_at=now, path="")
            session.add(unit)
            stored[row.code] = unit
            created += 1
        elif (unit.name, unit.level) != (row.name, row.level) or (
                (unit.parent.code if unit.parent else None) != row.parent_code):
            unit.name, unit.level = row.name, row.level
            updated += 1
        else:
            unchanged += 1
    session.flush()
    for row in rows:
        unit = stored[row.code]
        unit.parent = stored[row.parent_code] if row.parent_code else None
        unit.parent_id = unit.parent.id if unit.parent else None
    session.flush()
    _rebuild_paths(session)
    for row in rows:
        unit = stored[row.code]
        if unit.retired_at is None and current_code(session, unit) is None:
            issue_code(session, unit)
    return ImportResult(created, updated, unchanged)


def _rebuild_paths(session: Session) -> None:
    units = list(session.scalars(select(Unit)))
    children: dict[int | None, list[Unit]] = {}
    for unit in units:
        children.setdefault(unit.parent_id, []).append(unit)
    stack = [(u, "/") for u in children.get(None, [])]
    while stack:
        unit, prefix = stack.pop()
        path = f"{prefix}{unit.id}/"
        if unit.path != path:
            unit.path = path
        stack.extend((c, path) for c in children.get(unit.id, []))
    session.flush()


# --- a district's complaint categories ------------------------------------------------------------------------

CATEGORY_LIMIT = 16


@dataclasses.dataclass
class CategoryResult:
    added: int
    kept: int
    retired: int


def import_categories(session: Session, district_code: str, data: bytes,
                      defaults: list[str]) -> CategoryResult:
    """Make a CSV or XLSX file's `label` column (in its order) the district's categories in use: labels not yet
    there are added, retired ones named again come back, those in use but not named are retired (complaints keep
    their labels). Every bad row is reported with its line and nothing changes when any row is bad."""
    district = session.scalar(select(Unit).where(Unit.code == district_code.strip()))
    if district is None or district.level != UnitLevel.district:
        raise DomainError("unit_not_found")
    labels: list[str] = []
    errors: list[RowError] = []
    for record in read_table(data, ("label",)):
        if isinstance(record, RowError):
            errors.append(record)
        elif not record["label"]:
            errors.append(RowError(record["line"], "import_label_empty", {}))
        elif len(record["label"]) > CATEGORY_LIMIT:
            errors.append(RowError(record["line"], "import_label_too_long", {"limit": CATEGORY_LIMIT}))
        elif record["label"] in labels:
            errors.append(RowError(record["line"], "import_label_duplicate", {"label": record["label"]}))
        else:
            labels.append(record["label"])
    if errors:
        raise ImportInvalid(errors)
    rows = {r.label: r for r in district_categories(session, district.id, defaults, with_retired=True)}
    now, result = utcnow(), CategoryResult(0, 0, 0)
    for position, label in enumerate(labels):
        row = rows.get(label)
        if row is None:
            session.add(ComplaintCategory(unit_id=district.id, label=label, position=position, created_at=now))
            result.added += 1
        else:
            result.kept += row.retired_at is None
            result.added += row.retired_at is not None
            row.position, row.retired_at = position, None
    for label, row in rows.items():
        if label not in labels and row.retired_at is None:
            row.retired_at, row.position = now, len(labels) + row.position
            result.retired += 1
    session.flush()
    return result
