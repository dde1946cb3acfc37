"""NATS credentials and TLS from the environment: one way to log in, files that exist, the
nats-py and faststream forms of the same settings, and no secret in a repr."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest
from faststream.nats.security import NatsCredentials, NatsToken, NatsUserPassword
from nats.errors import Error as NatsError

from tests.tlsfiles import make_tls_files
from zvonar_runtime.natsconn import NatsAuth
from zvonar_runtime.settings import SettingsError

URL = "nats://127.0.0.1:4222"


def test_no_settings_mean_an_anonymous_plain_client() -> None:
    auth = NatsAuth.from_env({})
    assert auth.connect_kwargs() == {}
    assert auth.security() is None
    assert auth.identity == "an anonymous client"


def test_user_and_password_for_nats_py_and_for_the_broker() -> None:
    auth = NatsAuth.from_env({"NATS_USER": "dialer", "NATS_PASSWORD": "s3cret"})
    assert auth.connect_kwargs() == {"user": "dialer", "password": "s3cret"}
    security = auth.security()
    assert isinstance(security, NatsUserPassword)
    assert (security.username, security.password) == ("dialer", "s3cret")
    assert "s3cret" not in repr(auth)


def test_a_token_and_a_creds_file(tmp_path: Path) -> None:
    token = NatsAuth.from_env({"NATS_TOKEN": "t0ken"})
    assert token.connect_kwargs() == {"token": "t0ken"}
    assert isinstance(token.security(), NatsToken)
    assert "t0ken" not in repr(token)
    creds = tmp_path / "svc.creds"
    creds.write_text("-----BEGIN NATS USER JWT-----\n")
    from_file = NatsAuth.from_env({"NATS_CREDS": str(creds)})
    assert from_file.connect_kwargs() == {"user_credentials": str(creds)}
    assert isinstance(from_file.security(), NatsCredentials)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"NATS_USER": "a", "NATS_TOKEN": "t", "NATS_PASSWORD": "p"}, "NATS_USER and NATS_TOKEN"),
        ({"NATS_USER": "a"}, "NATS_USER and NATS_PASSWORD go together"),
        ({"NATS_PASSWORD": "p"}, "NATS_USER and NATS_PASSWORD go together"),
        ({"NATS_CREDS": "/nowhere/x.creds"}, "NATS_CREDS: no such file"),
        ({"NATS_TLS_CA": "/nowhere/ca.crt"}, "NATS_TLS_CA: no such file"),
        ({"NATS_TLS_KEY": "/etc/hostname"}, "NATS_TLS_KEY needs NATS_TLS_CERT"),
    ],
)
def test_contradicting_or_missing_settings_are_refused(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        NatsAuth.from_env(env)


def test_tls_files_make_one_context_for_both_forms(tmp_path: Path) -> None:
    tls = make_tls_files(tmp_path)
    env = {"NATS_TLS_CA": str(tls.ca), "NATS_TLS_CERT": str(tls.cert), "NATS_TLS_KEY": str(tls.key)}
    auth = NatsAuth.from_env(env)
    context = auth.connect_kwargs()["tls"]
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    security = auth.security()
    assert security is not None and security.use_ssl
    assert isinstance(security.ssl_context, ssl.SSLContext)
    garbage = tmp_path / "garbage.crt"
    garbage.write_text("not a certificate")
    with pytest.raises(SettingsError, match="NATS TLS files"):
        NatsAuth.from_env({"NATS_TLS_CA": str(garbage)}).connect_kwargs()


def test_a_refusal_is_told_from_an_outage() -> None:
    auth = NatsAuth(user="stats", password="x")
    refused = auth.refusal(NatsError("nats: 'Authorization Violation'"), URL)
    assert str(refused) == f"NATS refused the credentials of user 'stats' at {URL}: " + (
        "Authorization Violation"
    )
    assert auth.refusal(ConnectionRefusedError(111, "Connect call failed"), URL) is None
    assert auth.refusal(NatsError("nats: 'Stale Connection'"), URL) is None
