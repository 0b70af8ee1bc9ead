"""Excel export and import helpers (openpyxl): one column list serves the page and the file."""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.http import HttpResponse
from django.utils import timezone
from django.utils.encoding import force_str
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class Column:
    """A list column: a field path (`county__name`) or attribute, with its header."""

    path: str
    header: str

    def value(self, obj):
        value = obj
        for part in self.path.split("__"):
            if value is None:
                return None
            display = getattr(value, f"get_{part}_display", None)
            value = display() if callable(display) else getattr(value, part)
        if callable(value):
            value = value()
        if isinstance(value, models.Model):
            value = str(value)
        return value


def labelled(text):
    """Give a model property a column header: `@property` over `@labelled(_("Expires"))`."""

    def wrap(func):
        func.short_description = text
        return func

    return wrap


def columns_for(model: type[models.Model], paths: Iterable[str | tuple[str, str]]) -> list[Column]:
    """Columns with headers from the fields' verbose names (translated when rendered).

    A path through a relation to its `name` is headed by the relation (`county__name` → 县(市、区));
    pass `(path, header)` to name a column explicitly.
    """
    result = []
    for entry in paths:
        if isinstance(entry, tuple):
            result.append(Column(*entry))
            continue
        current, header, relation = model, entry, None
        for part in entry.split("__"):
            try:
                field = current._meta.get_field(part)
            except FieldDoesNotExist:
                attr = getattr(current, part, None)
                attr = attr.fget if isinstance(attr, property) else attr
                header = getattr(attr, "short_description", part)
                break
            header = field.verbose_name
            if field.is_relation:
                relation = field
                current = field.related_model
        if relation is not None and entry.endswith("__name"):
            header = relation.verbose_name
        result.append(Column(entry, header))
    return result


def _cell(value):
    if value is None:
        return ""
    if hasattr(value, "tzinfo") and getattr(value, "tzinfo", None) is not None:
        return timezone.localtime(value).replace(tzinfo=None)
    if isinstance(value, bool | int | float) or hasattr(value, "isoformat"):
        return value
    return force_str(value)


def export_response(filename: str, columns: list[Column], rows: Iterable) -> HttpResponse:
    """Write rows to a write-only workbook (constant memory per row) and return it as a download."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet()
    ws.append([force_str(c.header) for c in columns])
    for obj in rows:
        ws.append([_cell(c.value(obj)) for c in columns])
    buffer = io.BytesIO()
    wb.save(buffer)
    response = HttpResponse(buffer.getvalue(), content_type=XLSX)
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{_quote(filename)}"
    return response


def template_response(filename: str, headers: list[str], notes: list[str], example: list | None = None):
    """An import template: bold headers, a notes row per column, optionally one example row."""
    headers = [force_str(h) for h in headers]
    notes = [force_str(n) for n in notes]
    wb = Workbook()
    ws = wb.active
    ws.title = "data"
    ws.append(headers)
    for i, _header in enumerate(headers, start=1):
        cell = ws.cell(row=1, column=i)
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDEBF7")
        ws.column_dimensions[get_column_letter(i)].width = max(14, len(headers[i - 1]) * 2 + 4)
    if example:
        ws.append(example)
    help_ws = wb.create_sheet("说明")
    for header, note in zip(headers, notes, strict=True):
        help_ws.append([header, note])
    buffer = io.BytesIO()
    wb.save(buffer)
    response = HttpResponse(buffer.getvalue(), content_type=XLSX)
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{_quote(filename)}"
    return response


def read_rows(data: bytes) -> tuple[list[str], Iterator[tuple[int, list]]]:
    """Headers of the first sheet and its non-empty rows as (excel row number, values)."""
    wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    ws = wb.worksheets[0]
    rows = ws.iter_rows(values_only=True)
    try:
        headers = [force_str(h).strip() if h is not None else "" for h in next(rows)]
    except StopIteration:
        return [], iter(())

    def body():
        for number, row in enumerate(rows, start=2):
            values = list(row)
            if all(v is None or (isinstance(v, str) and not v.strip()) for v in values):
                continue
            yield number, values

    return headers, body()


def _quote(filename: str) -> str:
    from urllib.parse import quote

    return quote(filename)
