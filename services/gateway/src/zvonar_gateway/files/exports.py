"""CSV and XLSX files of the campaign list and of a campaign's report.

The list file has the columns of the page "Рассылки" with its Russian labels; the report file
has the call rows of docs/API.md. Times are in the account's timezone, money is an exact
decimal: "1.80" in CSV, a number cell shown with its cents in XLSX. Both writers take rows
one at a time, so a report of millions of calls is written as
it is read: CSV chunk by chunk, XLSX through openpyxl's write-only mode into a temporary file.

CSV goes through defusedcsv: text a spreadsheet would run as a formula (starting with =, +,
-, @, |, %) is written with a ' in front, and so is text starting with a tab or a carriage
return (which defusedcsv lets through). The E.164 phones the service normalised itself
(`Verbatim`: + and digits only, nothing to run) count as numbers for defusedcsv and are
written as they are, so "+79161234567" stays a phone number a spreadsheet or an import reads.
XLSX cells are typed: only text starting with "=" needs marking as text there.
"""

from __future__ import annotations

import datetime as dt
import io
import numbers
import re
import tempfile
from collections.abc import Iterator
from decimal import ROUND_HALF_UP, Decimal
from typing import IO, Literal
from zoneinfo import ZoneInfo

from defusedcsv import csv
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

from zvonar_contracts.options import Size, Status, Tag
from zvonar_contracts.queries import CallRow, CampaignView

ExportFormat = Literal["csv", "xlsx"]
_CENT = Decimal("0.01")
# Leading characters defusedcsv does not treat, after which a spreadsheet may still run one.
_BLANK_STARTS = ("\t", "\r")
_E164 = re.compile(r"\+[1-9][0-9]{1,14}")


class Verbatim(str):
    """An E.164 number the service normalised (+ and digits only): nothing a spreadsheet
    could run, so it is written as it is, never with a ' in front. Made by `phone_cell`."""

    __slots__ = ()


def phone_cell(phone: str) -> str:
    """A phone for a file: written as it is when it is E.164, else text like any other
    (defused if it starts like a formula)."""
    return Verbatim(phone) if _E164.fullmatch(phone) else phone


# defusedcsv leaves numbers alone; a Verbatim phone is one (only `phone_cell` makes them).
numbers.Number.register(Verbatim)


Cell = str | int | float | bool | Decimal | None

MEDIA_TYPES: dict[str, str] = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}

STATUS_LABELS: dict[Status, str] = {
    Status.MODERATION: "На модерации",
    Status.CLARIFICATION: "На уточнении",
    Status.ACCEPTED: "Принята",
    Status.SCHEDULED: "Запланирована",
    Status.IN_PROGRESS: "В процессе",
    Status.PAUSED: "На паузе",
    Status.PAUSED_WINDOW: "Пауза — вне временного интервала",
    Status.FINISHED: "Закончена",
    Status.STOPPED: "Остановлена",
    Status.REJECTED: "Отклонена",
    Status.ERROR: "Ошибка",
}

TAG_LABELS: dict[Tag, str] = {
    Tag.RECOGNITION: "Распознавание",
    Tag.SMART: "Умная",
    Tag.NO_CALLER_ID: "Без CallerId",
    Tag.TTS: "Сгенерированный текст",
    Tag.AUDIO_FILE: "С аудиофайлом",
    Tag.RECORDING: "С записью",
    Tag.WINDOW: "С интервалом",
    Tag.INTEGRATION: "С интеграцией",
    Tag.AMD: "С определенными автоответчиками",
}

CAMPAIGN_COLUMNS: tuple[str, ...] = (
    "Номер",
    "Дата создания",
    "Название",
    "Теги",
    "Статус",
    "Время начала",
    "Размер",
    "Статистика умных рассылок",
    "Скорость",
    "Стоимость",
    "Комментарий",
)

REPORT_COLUMNS: tuple[str, ...] = (
    "phone",
    "part",
    "attempt",
    "started_at",
    "outcome",
    "duration_s",
    "cost",
    "answer_text",
    "lead",
    "recording_url",
)


def _local(value: dt.datetime, tz: str) -> dt.datetime:
    if value.tzinfo is None:  # the read side promises UTC; never read a naive time as local
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(ZoneInfo(tz))


def page_time(value: dt.datetime, tz: str) -> str:
    """The page's way of writing a moment: `DD.MM.YYYY (HH:MM:SS)`."""
    return _local(value, tz).strftime("%d.%m.%Y (%H:%M:%S)")


def size_text(size: Size | None) -> str:
    if size is None:
        return ""
    counters = (
        size.total,
        size.stop_listed,
        size.answered,
        size.leads,
        size.not_answered,
        size.in_progress,
    )
    return " / ".join(str(counter) for counter in counters)


def start_text(view: CampaignView, tz: str) -> str:
    kind, at = view.start.kind, view.start.at
    if kind == "out_of_window":
        return "Пауза - вне временного интервала"
    if kind == "scheduled" and at is not None:
        return f"Запланирована на {page_time(at, tz)}"
    if kind == "started" and at is not None:
        return page_time(at, tz)
    return "Не начата"


def tags_text(view: CampaignView) -> str:
    labels = []
    for tag in view.tags:
        label = TAG_LABELS[tag]
        if tag is Tag.SMART and view.smart_part is not None:
            label = f"{label} [{view.smart_part}]"
        labels.append(label)
    return ", ".join(labels)


def money_text(value: Decimal) -> str:
    return str(money(value))


def money(value: Decimal) -> Decimal:
    """An amount to the cent: written as "1.80" in CSV and as a number cell in XLSX."""
    return value.quantize(_CENT, rounding=ROUND_HALF_UP)


def campaign_row(view: CampaignView, tz: str) -> list[Cell]:
    comment = "\n".join(text for text in (view.comment.user, view.comment.system) if text)
    return [
        view.id,
        page_time(view.created_at, tz),
        view.name,
        tags_text(view),
        STATUS_LABELS[view.status],
        start_text(view, tz),
        size_text(view.size),
        size_text(view.smart_size),
        view.speed,
        money(view.cost),
        comment,
    ]


def report_row(call: CallRow, tz: str, recording_url: str | None) -> list[Cell]:
    started_at = _local(call.started_at, tz).isoformat() if call.started_at else None
    return [
        phone_cell(call.phone),
        call.part,
        call.attempt,
        started_at,
        call.outcome,
        call.duration_s,
        money(call.cost),
        call.answer_text,
        call.lead,
        recording_url,
    ]


# --- writers -------------------------------------------------------------------------------


def _csv_cell(value: Cell) -> Cell:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str) and value.startswith(_BLANK_STARTS):
        return "'" + value  # defusedcsv (the writer) takes care of =, +, -, @, |, %
    return "" if value is None else value


class CsvWriter:
    """Encodes rows to UTF-8 CSV chunks; the first chunk starts with a BOM so that Excel
    shows Cyrillic right."""

    def __init__(self, header: tuple[str, ...]) -> None:
        self._buffer = io.StringIO()
        self._writer = csv.writer(self._buffer)  # defusedcsv's: formula cells neutralised
        self._header = header

    def header(self) -> bytes:
        return "\ufeff".encode() + self.rows([list(self._header)])

    def rows(self, rows: list[list[Cell]]) -> bytes:
        for row in rows:
            self._writer.writerow([_csv_cell(value) for value in row])
        chunk = self._buffer.getvalue()
        self._buffer.seek(0)
        self._buffer.truncate()
        return chunk.encode()


class XlsxWriter:
    """One sheet written row by row (openpyxl write-only: rows are not kept in memory)."""

    def __init__(self, title: str, header: tuple[str, ...]) -> None:
        self._workbook = Workbook(write_only=True)
        self._sheet = self._workbook.create_sheet(title)
        self._sheet.append(list(header))

    def append(self, rows: list[list[Cell]]) -> None:
        for row in rows:
            self._sheet.append([self._cell(value) for value in row])

    def _cell(self, value: Cell) -> Cell | WriteOnlyCell:
        # openpyxl turns any text starting with "=" into a formula: a campaign named
        # "=HYPERLINK(...)" must stay text in the customer's spreadsheet.
        if isinstance(value, str) and value.startswith("="):
            cell = WriteOnlyCell(self._sheet, value=value)
            cell.data_type = "s"
            return cell
        if isinstance(value, Decimal):  # money: a number cell shown with its cents
            cell = WriteOnlyCell(self._sheet, value=value)
            cell.number_format = "0.00"
            return cell
        return value

    def save(self) -> IO[bytes]:
        """The finished file, spooled to disk when large, positioned at its start."""
        target = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)
        self._workbook.save(target)
        target.seek(0)
        return target


def read_chunks(file: IO[bytes], size: int = 256 * 1024) -> Iterator[bytes]:
    """A file's bytes in chunks, closing it at the end."""
    with file:
        while chunk := file.read(size):
            yield chunk
