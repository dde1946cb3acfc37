"""`POST /api/v1/campaigns/quote`: the expected cost of a create body's base, priced by the
dialer's tariff (issue 18 point 14, offered in the API too) — and what a campaign of that
body then really costs when every number answers."""

from __future__ import annotations

import io
import wave
from decimal import Decimal

import pytest

from tests.e2e.helpers import create, get, wait_status
from tests.stack import Stack

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

TEXT = "Здравствуйте! Это проверка ожидаемой стоимости."


def two_second_wav() -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(b"\x00\x00" * 16000)
    return buffer.getvalue()


def test_a_quote_is_what_the_base_costs_when_every_number_answers(stack: Stack) -> None:
    client = stack.new_account("Смета")
    # Numbers ending in 0..5 answer and hear the whole message (the simulated carrier).
    phones = [f"+7916555000{d}" for d in range(4)] + ["abc", "+79165550000"]
    body = {"phones": phones, "audio": {"kind": "tts", "text": TEXT}, "record": True}
    response = client.post("/api/v1/campaigns/quote", json=body)
    assert response.status_code == 200, response.text
    quote = response.json()
    assert quote["numbers"] == 4 and quote["rejected_total"] == 2
    assert (quote["billed_s"], quote["price_per_minute"]) == (60, "2.10")
    assert (quote["per_call"], quote["total"]) == ("2.10", "8.40")
    assert "answers" in quote["assumes"]
    assert client.get("/api/v1/campaigns").json()["total"] == 0  # nothing was created

    campaign = create(client, **body)
    wait_status(client, campaign["id"], "finished", timeout=120)
    assert Decimal(get(client, campaign["id"])["cost"]) == Decimal(quote["total"])


def test_a_quote_of_an_uploaded_file_and_its_refusals(stack: Stack) -> None:
    client = stack.new_account("Смета файла")
    upload = client.post(
        "/api/v1/audio", files={"file": ("msg.wav", two_second_wav(), "audio/wav")}
    )
    assert upload.status_code == 201, upload.text
    audio = {"kind": "file", "file_id": upload.json()["file_id"]}
    body = {
        "phones": ["+79165550001"],
        "audio": audio,
        "ivr": {"kind": "words", "lead_words": ["да"]},
    }
    quote = client.post("/api/v1/campaigns/quote", json=body).json()
    assert quote["message_duration_s"] == pytest.approx(2.0, abs=0.01)
    assert (quote["per_call"], quote["total"]) == ("2.30", "2.30")  # 1.80 + 0.50 recognition

    refused = client.post("/api/v1/campaigns/quote", json={**body, "phones": ["abc"]})
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "no_valid_phones"
    unknown = {**body, "audio": {"kind": "file", "file_id": "upload/nothing"}}
    refused = client.post("/api/v1/campaigns/quote", json=unknown)
    assert refused.status_code == 422
    assert refused.json()["error"]["details"][0]["field"] == "audio.file_id"
    assert client.post("/api/v1/campaigns/quote", content=b"{").status_code == 400
