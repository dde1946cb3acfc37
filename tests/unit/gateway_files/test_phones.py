"""Phone bases: normalisation to E.164, TXT/CSV files, encodings, limits, the object-store copy."""

from __future__ import annotations

import hashlib
import random

import phonenumbers
import pytest

from zvonar_gateway.files.phones import (
    MAX_PHONES,
    RejectedPhone,
    TooManyPhones,
    UnreadablePhoneFile,
    fast_e164,
    normalise_phones,
    parse_phone_file,
    phone_base,
)


def test_common_russian_shapes_become_e164() -> None:
    result = normalise_phones(
        ["+79161234567", "8 (916) 123-45-68", "7 916 123 45 69", "9161234570", "+7 (495) 123-45-67"]
    )
    assert result.numbers == [
        "+79161234567",
        "+79161234568",
        "+79161234569",
        "+79161234570",
        "+74951234567",
    ]
    assert result.rejected == []


def test_foreign_numbers_in_international_form_are_kept() -> None:
    result = normalise_phones(["+44 20 7946 0958", "+1 212-555-0123"])
    assert result.numbers == ["+442079460958", "+12125550123"]


def test_invalid_entries_are_rejected_with_their_position_and_a_reason() -> None:
    result = normalise_phones(["+79161234567", "abc", "", "123", "+7916123456789"])
    assert result.numbers == ["+79161234567"]
    assert [(r.line, r.value) for r in result.rejected] == [
        (2, "abc"),
        (3, ""),
        (4, "123"),
        (5, "+7916123456789"),
    ]
    assert all(r.reason for r in result.rejected)
    assert result.rejected[1].reason == "empty"


def test_duplicates_are_imported_once_and_listed() -> None:
    result = normalise_phones(["+79161234567", "89161234567", "+7 916 123-45-67"])
    assert result.numbers == ["+79161234567"]
    assert result.rejected == [
        RejectedPhone(2, "89161234567", "duplicate"),
        RejectedPhone(3, "+7 916 123-45-67", "duplicate"),
    ]


def a_written_number(rng: random.Random) -> str:
    """A number as people type it: prefixes, brackets (even unbalanced), odd separators."""
    code = rng.choice(["916", "495", "800", "700", "347", "812", "301", "930", "999", "123"])
    rest = "".join(rng.choice("0123456789") for _ in range(7))

    def separator() -> str:
        return rng.choice(["", " ", "-", " - ", "\t", "."])

    area = rng.choice([code, f"({code})", f"({code}", f"{code})"])
    prefix = rng.choice(["+7", "8", "7", ""])
    return (
        f"{prefix}{separator()}{area}{separator()}{rest[:3]}{separator()}{rest[3:5]}"
        f"{separator()}{rest[5:]}"
    )


def test_the_fast_path_agrees_with_phonenumbers() -> None:
    rng = random.Random(7)
    agreed = 0
    for _ in range(30_000):
        value = a_written_number(rng)
        fast = fast_e164(value)
        if fast is None:
            continue
        number = phonenumbers.parse(value, "RU")
        assert phonenumbers.is_valid_number(number), value
        assert fast == phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        agreed += 1
    assert agreed > 500  # the fast path was really exercised


def test_the_common_shapes_take_the_fast_path() -> None:
    for value in ("+79161234567", "8 (916) 123-45-67", "89161234567", "+7 495 123 45 67"):
        assert fast_e164(value) is not None, value


def test_a_list_over_a_million_is_refused() -> None:
    with pytest.raises(TooManyPhones):
        normalise_phones(["+79161234567"] * (MAX_PHONES + 1))


def test_txt_file_one_number_a_line_with_line_numbers() -> None:
    data = b"+79161234567\n8 916 123-45-68\nnot a phone\n\n+79161234567\n"
    result = parse_phone_file(data, "base.txt")
    assert result.numbers == ["+79161234567", "+79161234568"]
    assert [(r.line, r.reason) for r in result.rejected] == [
        (3, "not a phone number"),
        (5, "duplicate"),
    ]


@pytest.mark.parametrize("column", ["phone", "телефон", "number", "Phone", "ТЕЛЕФОН"])
def test_csv_column_is_found_by_its_name(column: str) -> None:
    data = f"name;{column};city\nИван;+79161234567;Москва\nПётр;89161234568;Тверь\n".encode()
    result = parse_phone_file(data, "base.csv")
    assert result.numbers == ["+79161234567", "+79161234568"]
    assert result.rejected == []


def test_csv_without_a_known_column_reads_the_first() -> None:
    data = b"+79161234567,Ivan\n89161234568,Petr\nbad,Anna\n"
    result = parse_phone_file(data, "base.csv")
    assert result.numbers == ["+79161234567", "+79161234568"]
    assert result.rejected == [RejectedPhone(3, "bad", "not a phone number")]


def test_header_line_is_skipped_not_rejected() -> None:
    files = (
        b"phone\n+79161234567\n",
        b"Name,Tel\nIvan,+79161234567\n",
        "Телефоны клиентов\n+79161234567\n".encode(),
    )
    for data in files:
        result = parse_phone_file(data, "base.csv")
        assert result.numbers == ["+79161234567"]
        assert result.rejected == []


def test_line_numbers_count_the_header_and_quoted_fields() -> None:
    data = b'phone,note\n+79161234567,"two\nlines"\nxyz,ok\n'
    result = parse_phone_file(data, "base.csv")
    assert result.rejected == [RejectedPhone(4, "xyz", "not a phone number")]


def test_utf8_with_bom_and_cp1251_are_read() -> None:
    text = "телефон;имя\n+79161234567;Иван\n"
    for data in (b"\xef\xbb\xbf" + text.encode(), text.encode("cp1251")):
        result = parse_phone_file(data, "base.csv")
        assert result.numbers == ["+79161234567"]
        assert result.rejected == []


def test_binary_file_is_refused_with_a_clear_error() -> None:
    with pytest.raises(UnreadablePhoneFile, match=r"base\.csv"):
        parse_phone_file(bytes(range(256)) * 4, "base.csv")


def test_a_file_over_a_million_lines_is_refused() -> None:
    data = b"+79161234567\n" * (MAX_PHONES + 1)
    with pytest.raises(TooManyPhones):
        parse_phone_file(data, "big.txt")


def test_a_file_of_a_million_numbers_plus_header_is_accepted() -> None:
    data = "phone\n" + "".join(f"+7916{i:07d}\n" for i in range(MAX_PHONES))
    result = parse_phone_file(data.encode(), "big.csv")
    assert len(result.numbers) == MAX_PHONES
    assert result.rejected == []


def test_phone_base_is_named_by_its_sha256_in_the_accounts_folder() -> None:
    ref, stored = phone_base("acc_1", ["+79161234567", "+79161234568"])
    content = b"+79161234567\n+79161234568"
    digest = hashlib.sha256(content).hexdigest()
    name = f"acc_1/{digest}"
    assert (ref.bucket, ref.name, ref.count, ref.sha256) == ("phone-bases", name, 2, digest)
    assert stored == content
