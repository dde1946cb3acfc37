"""Sealing webhook secrets: the key from the environment or the data folder's key file, and
AES-GCM bound to the reference (another key or another reference does not open it)."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from zvonar_runtime.secrets import (
    KEY_FILE,
    SECRETS_KEY_ENV,
    SecretBox,
    SecretsKeyError,
    SecretUnreadable,
    new_key_text,
    parse_key,
    secrets_key,
    text_file_once,
)


def test_the_key_comes_from_the_environment_first(tmp_path: Path) -> None:
    text = new_key_text()
    assert secrets_key(tmp_path, {SECRETS_KEY_ENV: text}) == base64.urlsafe_b64decode(text)
    assert not (tmp_path / KEY_FILE).exists()


def test_without_it_every_process_shares_the_data_folders_key_file(tmp_path: Path) -> None:
    first = secrets_key(tmp_path / "data", {})
    assert (tmp_path / "data" / KEY_FILE).stat().st_mode & 0o777 == 0o600
    assert secrets_key(tmp_path / "data", {}) == first
    assert len(first) == 32


def test_a_text_file_is_made_once_and_then_only_read(tmp_path: Path) -> None:
    made: list[str] = []

    def make() -> str:
        made.append(f"text {len(made)}\n")
        return made[-1]

    path = tmp_path / "deep" / "file"
    assert text_file_once(path, make) == "text 0"
    assert text_file_once(path, make) == "text 0"
    assert made == ["text 0\n"]
    assert path.stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize(
    "text", ["not base64 at all!", base64.urlsafe_b64encode(b"x" * 16).decode()]
)
def test_a_bad_key_is_refused_by_name(text: str) -> None:
    with pytest.raises(SecretsKeyError, match=SECRETS_KEY_ENV):
        parse_key(text)


def test_a_sealed_secret_opens_only_with_its_key_and_reference() -> None:
    key = parse_key(new_key_text())
    box = SecretBox(key)
    sealed = box.seal("ref-1", "s3cr3t-пароль")
    assert b"s3cr3t" not in sealed
    assert SecretBox(key).open("ref-1", sealed) == "s3cr3t-пароль"
    with pytest.raises(SecretUnreadable):
        box.open("ref-2", sealed)
    with pytest.raises(SecretUnreadable):
        SecretBox(parse_key(new_key_text())).open("ref-1", sealed)
