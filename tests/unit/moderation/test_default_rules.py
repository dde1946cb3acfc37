"""The default rules file against Russian word forms, punctuation, case and false friends."""

from __future__ import annotations

import datetime as dt

import pytest

from zvonar_contracts.options import CampaignOptions, FileAudio, KeysIvr, TtsAudio, WordsIvr
from zvonar_moderation.adapters.morphology import pymorphy_lemmatizer
from zvonar_moderation.adapters.rules_file import RulesFile, default_rules_path
from zvonar_moderation.domain.matching import Matcher
from zvonar_moderation.domain.verdict import judge


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return RulesFile(default_rules_path(), pymorphy_lemmatizer()).matcher()


def tts(text: str, name: str = "Акция июнь") -> CampaignOptions:
    return CampaignOptions(name=name, audio=TtsAudio(text=text))


@pytest.mark.parametrize(
    "text",
    [
        "Лучшее казино города ждёт вас",
        "КАЗИНО открылось!",
        "Приходите в казино, там весело",
        "«Казино» — это мы",
        "Онлайн-казино Вулкан",
        "Принимаем ставки на спорт круглосуточно",
        "Лучшие коэффициенты ставок на спорт",
        "Ставками на СПОРТ заработаете",
    ],
)
def test_gambling_is_rejected_with_a_reason_about_gambling(matcher: Matcher, text: str) -> None:
    verdict = judge(tts(text), matcher)
    assert verdict.decision == "rejected"
    assert "азартные игры" in verdict.reason
    assert verdict.topic == "gambling"


@pytest.mark.parametrize(
    "text",
    [
        "Выгодный кредит до 1 млн",
        "Одобрение кредита за 5 минут",
        "Рассчитайтесь КРЕДИТОМ, а не наличными",
        "Кредиты без справок!",
        "Займ на карту",
        "Займы под 0%",
        "Сравните десять займов",
        "Оформите заём, быстро",
        "Быстрый заем без отказа",
        "Нет денег? Займа хватит",
    ],
)
def test_loans_go_to_clarification(matcher: Matcher, text: str) -> None:
    verdict = judge(tts(text), matcher)
    assert verdict.decision == "clarification"
    assert verdict.topic == "loans"


@pytest.mark.parametrize(
    "text",
    [
        "Наше кредо — качество",
        "Скидки на мебель до 30%",
        "Ставка рефинансирования ЦБ и спорт выходного дня",
        "Спорт на ставки не влияет",
        "Займитесь спортом с нами",
        "Казначейство сообщает",
        "Кредитор — не мы",
        "Высокая ставка и большой спорт",
        "Займите место в зале",
    ],
)
def test_ordinary_texts_and_false_friends_are_accepted(matcher: Matcher, text: str) -> None:
    assert judge(tts(text), matcher).decision == "accepted"


def test_reject_wins_over_clarify_whatever_the_order(matcher: Matcher) -> None:
    verdict = judge(tts("Кредит на фишки в казино"), matcher)
    assert verdict.decision == "rejected"
    verdict = judge(tts("Кредит на всё", name="Казино"), matcher)
    assert verdict.decision == "rejected"


def test_campaign_name_is_checked(matcher: Matcher) -> None:
    verdict = judge(tts("Здравствуйте!", name="Кредиты июль"), matcher)
    assert verdict.decision == "clarification"
    assert "название" in verdict.reason


def test_ivr_lead_words_are_checked(matcher: Matcher) -> None:
    options = CampaignOptions(
        name="Опрос", audio=TtsAudio(text="Скажите да"), ivr=WordsIvr(lead_words=["да", "казино"])
    )
    verdict = judge(options, matcher)
    assert verdict.decision == "rejected"
    assert "слова-лиды" in verdict.reason


def test_key_ivr_has_no_words_to_check(matcher: Matcher) -> None:
    options = CampaignOptions(
        name="Опрос", audio=TtsAudio(text="Нажмите 1"), ivr=KeysIvr(lead_keys=["1"])
    )
    assert judge(options, matcher).decision == "accepted"


def test_uploaded_audio_is_judged_by_its_name_and_the_campaign_name(matcher: Matcher) -> None:
    clean = CampaignOptions(name="Весна", audio=FileAudio(file_id="upload/1", name="promo.wav"))
    assert judge(clean, matcher).decision == "accepted"
    named = CampaignOptions(
        name="Весна", audio=FileAudio(file_id="upload/2", name="ставки_на_спорт.mp3")
    )
    assert judge(named, matcher).decision == "rejected"
    campaign_named = CampaignOptions(
        name="Займы весна", audio=FileAudio(file_id="upload/3", name="promo.wav")
    )
    assert judge(campaign_named, matcher).decision == "clarification"


def test_start_at_does_not_change_the_verdict(matcher: Matcher) -> None:
    options = CampaignOptions(
        name="Акция",
        audio=TtsAudio(text="Здравствуйте"),
        start_at=dt.datetime(2030, 1, 1, tzinfo=dt.UTC),
    )
    assert judge(options, matcher).decision == "accepted"
