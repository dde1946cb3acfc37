"""Tags come from the options, in the order of docs/PRODUCT.md."""

from zvonar_contracts.options import (
    CallerIdRouting,
    CallingWindow,
    CampaignOptions,
    FileAudio,
    Integration,
    KeysIvr,
    SmartOptions,
    Tag,
    TtsAudio,
    WordsIvr,
    tags_of,
)


def test_default_campaign_is_carousel_with_tts() -> None:
    options = CampaignOptions(name="x", audio=TtsAudio(text="hi"))
    assert tags_of(options) == [Tag.NO_CALLER_ID, Tag.TTS]


def test_every_option_shows_its_tag() -> None:
    options = CampaignOptions(
        name="x",
        audio=FileAudio(file_id="f1"),
        routing=CallerIdRouting(number="+79161234567"),
        ivr=WordsIvr(lead_words=["да"]),
        smart=SmartOptions(parts=1),
        record=True,
        window=CallingWindow(days=["mon"], from_="09:00", to="18:00"),
        integration=Integration(webhook_url="https://example.test/h", secret_ref="r1"),
        amd=True,
    )
    assert tags_of(options) == [
        Tag.RECOGNITION,
        Tag.SMART,
        Tag.AUDIO_FILE,
        Tag.RECORDING,
        Tag.WINDOW,
        Tag.INTEGRATION,
        Tag.AMD,
    ]


def test_keys_ivr_is_not_recognition_and_parts_are_smart() -> None:
    options = CampaignOptions(name="x", audio=TtsAudio(text="hi"), ivr=KeysIvr(lead_keys=["1"]))
    assert Tag.RECOGNITION not in tags_of(options)
    assert Tag.SMART in tags_of(options, smart_part=1)
