"""Phone bases: normalise numbers to E.164, read TXT/CSV files, keep a base in the object store.

A campaign's base arrives as a JSON list or as a file of up to 1,000,000 lines. Each entry is
normalised with `phonenumbers` (default region RU); invalid entries and repeats are reported
with their 1-based line and left out. The common Russian shapes (+7…, 8…, 7…, 9… with the
usual separators) skip `phonenumbers.parse` and go through a validator compiled from the
library's own metadata (see `fast_e164`), which keeps a million numbers to a few seconds.
"""

from __future__ import annotations

import csv
import hashlib
import re
from collections.abc import Iterable, Iterator, Sequence

import msgspec
import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, ValidationResult

from zvonar_contracts.options import PhoneBaseRef
from zvonar_contracts.subjects import PHONE_BASES_BUCKET, phone_base_object

MAX_PHONES = 1_000_000
# Column names that mark a CSV header; the first three are the ones docs/API.md names.
PHONE_COLUMNS: tuple[str, ...] = ("phone", "телефон", "number")
HEADER_WORDS: frozenset[str] = frozenset(
    {*PHONE_COLUMNS, "phones", "телефоны", "номер", "номера", "phone_number", "tel", "msisdn"}
)
DELIMITERS = ";,\t"
# A rejected value is echoed back; a pathological line must not bloat the answer.
MAX_ECHOED_VALUE = 100


class RejectedPhone(msgspec.Struct, frozen=True):
    line: int
    value: str
    reason: str


class PhoneImport(msgspec.Struct):
    numbers: list[str]
    rejected: list[RejectedPhone]


class PhoneImportError(ValueError):
    """A phone base that cannot be read at all (as opposed to single bad entries)."""


class TooManyPhones(PhoneImportError):
    def __init__(self, count: int) -> None:
        super().__init__(f"a phone base holds at most {MAX_PHONES:,} numbers, this one has more")
        self.count = count


class UnreadablePhoneFile(PhoneImportError):
    pass


# --- the fast path -------------------------------------------------------------------------

# The ways people write Russian numbers: +7 916 123-45-67, 8 (916) 123 45 67, 89161234567...
# Anything else (other punctuation, extensions, letters) goes the general way.
_RUSSIAN_SHAPE = re.compile(
    r"(\+7|8|7)? ?-?(?:\((\d{3})\)|(\d{3}))[ -]?(\d{3})[ -]?(\d{2})[ -]?(\d{2})"
)


def _country_seven_validators() -> list[tuple[re.Pattern[str], re.Pattern[str]]]:
    """(leading digits, valid-number pattern) for each region of +7, from phonenumbers' data.

    A 10-digit national number is valid when it fully matches the region's general pattern and
    one of its type patterns; the region is the first whose leading digits match, as in
    `phonenumbers.region_code_for_number`. Every type of +7 allows 10 digits (checked below).
    """
    validators = []
    for region in phonenumbers.COUNTRY_CODE_TO_REGION_CODE[7]:
        metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
        assert metadata is not None and metadata.leading_digits is not None
        descs = [
            desc
            for desc in (
                metadata.premium_rate,
                metadata.toll_free,
                metadata.shared_cost,
                metadata.voip,
                metadata.personal_number,
                metadata.pager,
                metadata.uan,
                metadata.voicemail,
                metadata.fixed_line,
                metadata.mobile,
            )
            if desc is not None and desc.national_number_pattern
        ]
        types = "|".join(
            f"(?:{desc.national_number_pattern})"
            for desc in descs
            if not desc.possible_length or 10 in desc.possible_length
        )
        assert metadata.general_desc is not None
        general = metadata.general_desc.national_number_pattern
        pattern = re.compile(f"(?=(?:{general})$)(?:{types})$")
        validators.append((re.compile(metadata.leading_digits), pattern))
    return validators


_VALIDATORS = _country_seven_validators()


def fast_e164(value: str) -> str | None:
    """The E.164 form of a valid Russian/Kazakh-shaped number; None when unsure or invalid
    (the caller then asks phonenumbers, which also names the reason)."""
    match = _RUSSIAN_SHAPE.fullmatch(value.strip())
    if match is None:
        return None
    prefix, *groups = match.groups()
    national = "".join(group for group in groups if group)
    if prefix is None and not national.startswith("9"):
        return None  # bare 10 digits: phonenumbers' national-prefix rules decide, not us
    for leading, valid in _VALIDATORS:
        if leading.match(national):
            return f"+7{national}" if valid.match(national) else None
    return None


# --- the general path ----------------------------------------------------------------------

_PARSE_REASONS = {
    NumberParseException.INVALID_COUNTRY_CODE: "invalid country code",
    NumberParseException.NOT_A_NUMBER: "not a phone number",
    NumberParseException.TOO_SHORT_AFTER_IDD: "too short",
    NumberParseException.TOO_SHORT_NSN: "too short",
    NumberParseException.TOO_LONG: "too long",
}
_POSSIBLE_REASONS = {
    ValidationResult.INVALID_COUNTRY_CODE: "invalid country code",
    ValidationResult.TOO_SHORT: "too short",
    ValidationResult.TOO_LONG: "too long",
    ValidationResult.INVALID_LENGTH: "invalid length",
}


def e164_or_reason(value: str, region: str) -> tuple[str | None, str]:
    """(E.164, "") for a valid number, else (None, why it was refused)."""
    if not value.strip():
        return None, "empty"
    if region == "RU" and (fast := fast_e164(value)) is not None:
        return fast, ""
    try:
        number = phonenumbers.parse(value, region)
    except NumberParseException as exc:
        return None, _PARSE_REASONS.get(exc.error_type, "not a phone number")
    if phonenumbers.is_valid_number(number):
        return phonenumbers.format_number(number, PhoneNumberFormat.E164), ""
    possible = phonenumbers.is_possible_number_with_reason(number)
    return None, _POSSIBLE_REASONS.get(possible, "not a valid phone number")


def _import(entries: Iterable[tuple[int, str]], region: str) -> PhoneImport:
    numbers: list[str] = []
    rejected: list[RejectedPhone] = []
    seen: set[str] = set()
    for count, (line, value) in enumerate(entries, start=1):
        if count > MAX_PHONES:
            raise TooManyPhones(count)
        e164, reason = e164_or_reason(value, region)
        if e164 is None:
            rejected.append(RejectedPhone(line, value[:MAX_ECHOED_VALUE], reason))
        elif e164 in seen:
            rejected.append(RejectedPhone(line, value[:MAX_ECHOED_VALUE], "duplicate"))
        else:
            seen.add(e164)
            numbers.append(e164)
    return PhoneImport(numbers=numbers, rejected=rejected)


def normalise_phones(values: Sequence[str], region: str = "RU") -> PhoneImport:
    """Normalise a JSON list of numbers; `line` is the 1-based position in the list."""
    if len(values) > MAX_PHONES:
        raise TooManyPhones(len(values))
    return _import(enumerate(values, start=1), region)


# --- files ---------------------------------------------------------------------------------


def decode_phone_file(data: bytes) -> str:
    """UTF-8 (with or without BOM) or cp1251 text; anything else is refused."""
    if b"\x00" in data:
        raise UnreadablePhoneFile("the phone file is binary, not UTF-8 or cp1251 text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("cp1251")
    except UnicodeDecodeError as exc:
        raise UnreadablePhoneFile(
            f"the phone file is neither UTF-8 nor cp1251 text (byte {exc.start})"
        ) from exc
    # cp1251 maps almost every byte; control characters mean it was not text after all.
    if re.search(r"[\x01-\x08\x0b\x0c\x0e-\x1f\x7f]", text):
        raise UnreadablePhoneFile("the phone file holds control characters, not text")
    return text


def _delimiter(first_line: str) -> str | None:
    counts = {delimiter: first_line.count(delimiter) for delimiter in DELIMITERS}
    best = max(counts, key=lambda delimiter: counts[delimiter])
    return best if counts[best] else None


def _is_header(row: list[str]) -> bool:
    """A known column name, or words without a single digit: no phone number looks so."""
    cells = [cell.strip().lower() for cell in row]
    if any(cell in HEADER_WORDS for cell in cells):
        return True
    text = "".join(cells)
    return any(char.isalpha() for char in text) and not any(char.isdigit() for char in text)


def _is_column_names(row: list[str]) -> bool:
    """A known column name only: a pasted line of words is a bad number, said as one."""
    return any(cell.strip().lower() in HEADER_WORDS for cell in row)


def _phone_column(header: list[str]) -> int:
    cells = [cell.strip().lower() for cell in header]
    for name in (*PHONE_COLUMNS, *sorted(HEADER_WORDS)):
        if name in cells:
            return cells.index(name)
    return 0


def _lines(text: str) -> Iterator[str]:
    """The lines of `text` with their ends, without copying it (a million-line base is tens
    of megabytes; io.StringIO would hold another copy at four bytes a character)."""
    end_of_line = "\n" if "\n" in text else "\r"  # old Mac files end lines with CR alone
    start, size = 0, len(text)
    while start < size:
        end = text.find(end_of_line, start)
        if end == -1:
            yield text[start:]
            return
        yield text[start : end + 1]
        start = end + 1


def _rows(text: str) -> Iterator[tuple[int, list[str]]]:
    """(line of the file, cells) for each record: CSV when the first line has a delimiter."""
    delimiter = _delimiter(next(_lines(text), ""))
    if delimiter is None:  # one number a line
        for line, value in enumerate(_lines(text), start=1):
            yield line, [value]
        return
    reader = csv.reader(_lines(text), delimiter=delimiter)
    for row in reader:
        yield reader.line_num, row


def _entries(text: str, guess_header: bool = True) -> Iterator[tuple[int, str]]:
    column = 0
    for index, (line, row) in enumerate(_rows(text)):
        if index == 0 and (_is_header(row) if guess_header else _is_column_names(row)):
            column = _phone_column(row)
            continue
        if not "".join(row).strip():
            continue  # blank lines carry no number and are not worth a rejection
        yield line, (row[column] if column < len(row) else "").strip()


def parse_phone_file(
    data: bytes, filename: str, region: str = "RU", *, guess_header: bool = True
) -> PhoneImport:
    """Read a TXT (one number a line) or CSV phone base; `line` is the line of the file.

    `filename` only names the file in errors: the shape is read from the content, since
    customers' .txt files are often CSV and the other way round.
    """
    try:
        text = decode_phone_file(data)
    except UnreadablePhoneFile as exc:
        raise UnreadablePhoneFile(f"{filename}: {exc}") from exc
    try:
        return _import(_entries(text, guess_header), region)
    except csv.Error as exc:
        raise UnreadablePhoneFile(f"{filename}: not a readable CSV file ({exc})") from exc


def phone_base_content(numbers: Sequence[str]) -> bytes:
    return "\n".join(numbers).encode()


def phone_base(account_id: str, numbers: Sequence[str]) -> tuple[PhoneBaseRef, bytes]:
    """The base as stored (one number a line) and its reference, in the account's folder
    under its sha256: the account's same base is stored once, and the reference is known
    before anything is stored."""
    content = phone_base_content(numbers)
    digest = hashlib.sha256(content).hexdigest()
    name = phone_base_object(account_id, digest)
    ref = PhoneBaseRef(bucket=PHONE_BASES_BUCKET, name=name, count=len(numbers), sha256=digest)
    return ref, content
