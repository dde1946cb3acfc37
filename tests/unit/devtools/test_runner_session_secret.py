"""`make run` gives the gateway a session secret kept in the data folder, so a restart keeps
the page's sessions; a secret set in the environment is left alone."""

from __future__ import annotations

from pathlib import Path

from zvonar_devtools.runner import SESSION_SECRET_FILE, keep_session_secret
from zvonar_gateway.web.session import session_secret


def test_the_runner_keeps_one_secret_in_the_data_folder(tmp_path: Path) -> None:
    first: dict[str, str] = {}
    keep_session_secret(first, tmp_path)
    secret = first["ZVONAR_SESSION_SECRET"]
    assert len(secret) == 64
    path = tmp_path / SESSION_SECRET_FILE
    assert path.stat().st_mode & 0o077 == 0
    # A second start (a restart of `make run`) gives the gateway the same secret.
    again: dict[str, str] = {"ZVONAR_SESSION_SECRET": "  "}
    keep_session_secret(again, tmp_path)
    assert again["ZVONAR_SESSION_SECRET"] == secret
    # The gateway seals with the same key as it did from that file before the runner set it.
    assert session_secret(tmp_path, secret) == session_secret(tmp_path, None)


def test_a_secret_given_in_the_environment_is_kept(tmp_path: Path) -> None:
    env = {"ZVONAR_SESSION_SECRET": "set-by-the-operator"}
    keep_session_secret(env, tmp_path)
    assert env == {"ZVONAR_SESSION_SECRET": "set-by-the-operator"}
    assert not (tmp_path / SESSION_SECRET_FILE).exists()
