"""The read-your-writes position token (http/position.py): made per account, checked by
every replica with the same secret, a tampered or foreign one worth nothing."""

from __future__ import annotations

import pytest

from zvonar_gateway.service_layer.position import Carrier, PositionSigner, well_formed

SECRET = b"the-same-secret-on-every-replica"


def test_a_token_vouches_for_its_position_on_every_replica_with_the_secret() -> None:
    token = PositionSigner.from_secret(SECRET).token("acc_1", 1842)
    assert token.startswith("1842.") and well_formed(token)
    assert PositionSigner.from_secret(SECRET).position_of(token, "acc_1") == 1842


def test_another_account_a_raised_number_or_another_secret_get_nothing() -> None:
    signer = PositionSigner.from_secret(SECRET)
    token = signer.token("acc_1", 1842)
    position, _, mac = token.partition(".")
    assert signer.position_of(token, "acc_2") == 0
    assert signer.position_of(f"{int(position) * 1000}.{mac}", "acc_1") == 0
    assert PositionSigner.from_secret(b"another secret").position_of(token, "acc_1") == 0


@pytest.mark.parametrize(
    "value",
    [
        "",
        "1842",
        "1842.",
        "x.AAAAAAAAAAAAAAAAAAAAAA",
        "01.AAAAAAAAAAAAAAAAAAAAAA",
        "1" * 19 + ".AAAAAAAAAAAAAAAAAAAAAA",
        "1.AAAA",
        "1.AAAAAAAAAAAAAAAAAAAAAA=",
        " 1.AAAAAAAAAAAAAAAAAAAAAA",
    ],
)
def test_only_digits_a_dot_and_22_base64url_characters_are_well_formed(value: str) -> None:
    assert not well_formed(value)
    assert PositionSigner.from_secret(SECRET).position_of(value, "acc_1") == 0


def test_the_answer_carries_the_highest_position_of_the_last_account_written() -> None:
    signer = PositionSigner.from_secret(SECRET)
    carrier = Carrier(signer, given=signer.token("acc_1", 50))
    assert carrier.answer() is None  # nothing written: nothing to carry
    carrier.note_write("acc_1", 40)  # the client held a later position already
    answer = carrier.answer()
    assert answer is not None and signer.position_of(answer, "acc_1") == 50
    carrier.note_write("acc_1", 60)
    answer = carrier.answer()
    assert answer is not None and signer.position_of(answer, "acc_1") == 60


def test_a_key_too_short_is_refused() -> None:
    with pytest.raises(ValueError, match="16 bytes"):
        PositionSigner(b"short")
