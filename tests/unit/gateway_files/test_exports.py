"""Exports parsed back: the list and the report as CSV (csv module) and XLSX (openpyxl)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

from openpyxl import load_workbook

from zvonar_contracts.options import Size, Status, Tag
from zvonar_contracts.queries import CallRow, CampaignView, Comment, Start
from zvonar_gateway.files.exports import (
    CAMPAIGN_COLUMNS,
    REPORT_COLUMNS,
    CsvWriter,
    Verbatim,
    XlsxWriter,
    campaign_row,
    phone_cell,
    read_chunks,
    report_row,
)

UTC = dt.UTC
MOSCOW = "Europe/Moscow"


def a_campaign(**changes: object) -> CampaignView:
    fields: dict[str, object] = {
        "id": 2202344,
        "account_id": "acc_1",
        "created_at": dt.datetime(2026, 6, 17, 13, 12, 36, tzinfo=UTC),
        "name": "Акция июнь",
        "tags": [Tag.SMART, Tag.NO_CALLER_ID, Tag.TTS],
        "smart_part": None,
        "parent_id": None,
        "status": Status.SCHEDULED,
        "start": Start(kind="scheduled", at=dt.datetime(2026, 6, 18, 7, 0, tzinfo=UTC)),
        "size": Size(total=1, in_progress=1),
        "smart_size": Size(),
        "speed": 800,
        "cost": Decimal("1.8"),
        "comment": Comment(user="мой", system=""),
        "caller_number": None,
    }
    fields.update(changes)
    return CampaignView(**fields)  # type: ignore[arg-type]


def a_call(**changes: object) -> CallRow:
    fields: dict[str, object] = {
        "phone": "+79161234569",
        "part": 0,
        "attempt": 1,
        "started_at": dt.datetime(2026, 6, 18, 7, 0, 5, tzinfo=UTC),
        "outcome": "answered",
        "duration_s": 12.5,
        "cost": Decimal("0.35"),
        "answer_text": "да",
        "lead": True,
        "recording": "2202344/2202344-0-79161234569-1.wav",
    }
    fields.update(changes)
    return CallRow(**fields)  # type: ignore[arg-type]


def test_campaign_row_reads_like_the_page() -> None:
    row = campaign_row(a_campaign(), MOSCOW)
    assert row == [
        2202344,
        "17.06.2026 (16:12:36)",
        "Акция июнь",
        "Умная, Без CallerId, Сгенерированный текст",
        "Запланирована",
        "Запланирована на 18.06.2026 (10:00:00)",
        "1 / 0 / 0 / 0 / 0 / 1",
        "0 / 0 / 0 / 0 / 0 / 0",
        800,
        Decimal("1.80"),
        "мой",
    ]


def test_smart_part_start_and_comment_labels() -> None:
    part = a_campaign(
        smart_part=2,
        parent_id=2202343,
        status=Status.PAUSED_WINDOW,
        start=Start(kind="out_of_window"),
        smart_size=None,
        comment=Comment(user="", system="азартные игры"),
    )
    row = campaign_row(part, MOSCOW)
    assert row[3].startswith("Умная [2]")  # type: ignore[union-attr]
    assert row[4] == "Пауза — вне временного интервала"
    assert row[5] == "Пауза - вне временного интервала"
    assert row[7] == ""
    assert row[10] == "азартные игры"
    not_started = campaign_row(a_campaign(start=Start(kind="not_started")), MOSCOW)
    assert not_started[5] == "Не начата"


def test_campaign_list_csv_parses_back() -> None:
    writer = CsvWriter(CAMPAIGN_COLUMNS)
    data = writer.header() + writer.rows([campaign_row(a_campaign(), MOSCOW)])
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0] == list(CAMPAIGN_COLUMNS)
    assert rows[1][0] == "2202344"
    assert rows[1][2] == "Акция июнь"
    assert rows[1][9] == "1.80"


def test_campaign_list_xlsx_parses_back() -> None:
    writer = XlsxWriter("Рассылки", CAMPAIGN_COLUMNS)
    writer.append([campaign_row(a_campaign(id=n), MOSCOW) for n in (1000001, 1000002)])
    data = b"".join(read_chunks(writer.save()))
    sheet = load_workbook(io.BytesIO(data), read_only=True)["Рассылки"]
    rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert rows[0] == list(CAMPAIGN_COLUMNS)
    assert [row[0] for row in rows[1:]] == [1000001, 1000002]
    assert rows[1][9] == 1.8  # money is a number cell (shown as 1.80: its format is 0.00)
    assert rows[1][6] == "1 / 0 / 0 / 0 / 0 / 1"


def test_report_rows_render_times_in_the_account_zone() -> None:
    row = report_row(a_call(), MOSCOW, "http://gw/rec.wav")
    assert row == [
        "+79161234569",
        0,
        1,
        "2026-06-18T10:00:05+03:00",
        "answered",
        12.5,
        Decimal("0.35"),
        "да",
        True,
        "http://gw/rec.wav",
    ]
    unanswered = report_row(a_call(outcome="stop_listed", started_at=None), MOSCOW, None)
    assert unanswered[3] is None


def test_report_csv_and_xlsx_parse_back() -> None:
    calls = [a_call(), a_call(phone="+79161234566", outcome="no_answer", lead=False)]
    rows = [report_row(call, MOSCOW, None) for call in calls]
    writer = CsvWriter(REPORT_COLUMNS)
    text = (writer.header() + writer.rows(rows)).decode("utf-8-sig")
    parsed = list(csv.DictReader(io.StringIO(text)))
    assert [r["phone"] for r in parsed] == ["+79161234569", "+79161234566"]
    assert parsed[0]["lead"] == "true" and parsed[1]["lead"] == "false"
    assert parsed[0]["cost"] == "0.35"
    assert parsed[0]["recording_url"] == ""

    xlsx = XlsxWriter("Отчет", REPORT_COLUMNS)
    xlsx.append(rows)
    sheet = load_workbook(io.BytesIO(b"".join(read_chunks(xlsx.save())))).active
    assert sheet is not None
    values = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert values[0] == list(REPORT_COLUMNS)
    assert values[1][0] == "+79161234569"
    assert values[2][4] == "no_answer"
    assert values[1][8] is True


def test_xlsx_keeps_text_that_looks_like_a_formula_as_text() -> None:
    writer = XlsxWriter("Рассылки", CAMPAIGN_COLUMNS)
    writer.append([campaign_row(a_campaign(name='=HYPERLINK("http://x","y")'), MOSCOW)])
    sheet = load_workbook(io.BytesIO(b"".join(read_chunks(writer.save())))).active
    assert sheet is not None
    cell = sheet.cell(row=2, column=3)
    assert (cell.value, cell.data_type) == ('=HYPERLINK("http://x","y")', "s")


FORMULAS = [
    '=HYPERLINK("http://x","y")',
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(A1)",
    "|calc",
    "%2B1",
    "\t=1",
    "\r=1",
]
# What a spreadsheet gets: a ' in front (defusedcsv also escapes a DDE |), text otherwise kept.
SHOWN = [
    '\'=HYPERLINK("http://x","y")',
    "'+1+cmd\\|' /C calc'!A0",
    "'-2+3",
    "'@SUM(A1)",
    "'\\|calc",
    "'%2B1",
    "'\t=1",
    "'\r=1",
]


def test_csv_cells_a_spreadsheet_would_run_get_a_quote_in_front() -> None:
    writer = CsvWriter(CAMPAIGN_COLUMNS)
    views = [a_campaign(name=text, comment=Comment(user=text, system="")) for text in FORMULAS]
    data = writer.header() + writer.rows([campaign_row(view, MOSCOW) for view in views])
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert [row[2] for row in rows[1:]] == SHOWN
    assert [row[10] for row in rows[1:]] == SHOWN
    assert rows[1][0] == "2202344" and rows[1][9] == "1.80"  # the service's own numbers


def test_csv_keeps_the_phones_the_service_normalised_and_defuses_answers() -> None:
    call = a_call(answer_text='=HYPERLINK("http://x")', phone="+79161234567")
    writer = CsvWriter(REPORT_COLUMNS)
    text = (writer.header() + writer.rows([report_row(call, MOSCOW, None)])).decode("utf-8-sig")
    [parsed] = list(csv.DictReader(io.StringIO(text)))
    assert parsed["phone"] == "+79161234567"  # a number a spreadsheet or an import reads
    assert parsed["answer_text"] == '\'=HYPERLINK("http://x")'


def test_text_a_user_typed_is_defused_even_when_it_looks_like_a_phone() -> None:
    view = a_campaign(name="+79161234567", comment=Comment(user="-1", system=""))
    data = CsvWriter(CAMPAIGN_COLUMNS).rows([campaign_row(view, MOSCOW)])
    [row] = list(csv.reader(io.StringIO(data.decode(), newline="")))
    assert row[2] == "'+79161234567"
    assert row[10] == "-1"  # a plain number runs nothing: defusedcsv leaves it


def test_only_an_e164_number_is_written_verbatim() -> None:
    assert isinstance(phone_cell("+79161234567"), Verbatim)
    for text in ("+7916=1+1", "=1", "79161234567", "+"):
        assert not isinstance(phone_cell(text), Verbatim)
    call = a_call(phone="+7916=1+1")
    data = CsvWriter(REPORT_COLUMNS).rows([report_row(call, MOSCOW, None)])
    [row] = list(csv.reader(io.StringIO(data.decode(), newline="")))
    assert row[0] == "'+7916=1+1"
