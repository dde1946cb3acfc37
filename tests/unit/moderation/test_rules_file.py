"""The rules file: validation, custom topics, phrases, and reloading without a restart."""

from __future__ import annotations

from pathlib import Path

import pytest

from zvonar_contracts.limits import MAX_REASON
from zvonar_contracts.options import CampaignOptions, TtsAudio
from zvonar_moderation.adapters.morphology import pymorphy_lemmatizer
from zvonar_moderation.adapters.rules_file import RulesFile
from zvonar_moderation.domain.matching import Lemmatize, Matcher
from zvonar_moderation.domain.rules import RulesError, parse_rulebook
from zvonar_moderation.domain.verdict import judge
from zvonar_moderation.settings import ModerationSettings

CUSTOM = """
[[topics]]
name = "tobacco"
action = "reject"
reason = "Реклама табака запрещена"
words = ["сигарета", "электронная сигарета"]
"""


@pytest.fixture(scope="module")
def lemmatize() -> Lemmatize:
    return pymorphy_lemmatizer()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[topics]\nname=1", "not valid TOML"),
        ('[[topics]]\nname = "x"\naction = "ban"\nwords = ["a"]', "action"),
        ('[[topics]]\nname = "x"\naction = "clarify"\nwords = []', "non-empty"),
        ('[[topics]]\nname = "x"\naction = "clarify"\nwords = ["  "]', "non-empty"),
        ('[[topics]]\nname = "x"\naction = "reject"\nwords = ["a"]', "needs a reason"),
        ('[[topics]]\nname = "x"\naction = "clarify"\nwords = ["a"]\ncolour = 1', "colour"),
    ],
)
def test_a_bad_rules_file_is_a_clear_error(text: str, message: str) -> None:
    with pytest.raises(RulesError, match=message):
        parse_rulebook(text)


def test_custom_topics_match_their_own_phrases(lemmatize: Lemmatize) -> None:
    matcher = Matcher(parse_rulebook(CUSTOM), lemmatize)
    assert [hit.topic.name for hit in matcher.hits("Продаём электронные сигареты")] == ["tobacco"]
    assert matcher.hits("Сигаретами не торгуем") != []
    assert matcher.hits("Электроника со скидкой") == []


def test_an_empty_rulebook_accepts_everything(lemmatize: Lemmatize) -> None:
    assert Matcher(parse_rulebook(""), lemmatize).hits("казино кредит") == []


def test_a_changed_file_is_picked_up_without_restart(tmp_path: Path, lemmatize: Lemmatize) -> None:
    path = tmp_path / "rules.toml"
    path.write_text(CUSTOM, encoding="utf-8")
    rules = RulesFile(path, lemmatize)
    assert rules.matcher().hits("казино") == []
    path.write_text(CUSTOM.replace('"сигарета"', '"казино"'), encoding="utf-8")
    assert [hit.phrase for hit in rules.matcher().hits("Казино!")] == ["казино"]


def test_a_broken_edit_keeps_the_last_good_rules(tmp_path: Path, lemmatize: Lemmatize) -> None:
    path = tmp_path / "rules.toml"
    path.write_text(CUSTOM, encoding="utf-8")
    rules = RulesFile(path, lemmatize)
    path.write_text("[[topics]\nbroken", encoding="utf-8")
    assert rules.reload() is False
    assert rules.matcher().hits("сигарета") != []


def test_reload_on_demand_reads_the_file_again(tmp_path: Path, lemmatize: Lemmatize) -> None:
    path = tmp_path / "rules.toml"
    path.write_text(CUSTOM, encoding="utf-8")
    rules = RulesFile(path, lemmatize)
    path.write_text(CUSTOM.replace('"сигарета"', '"кальян"'), encoding="utf-8")
    assert rules.reload() is True
    assert rules.matcher().hits("кальяны") != []


def test_a_missing_rules_file_fails_at_start_up(tmp_path: Path, lemmatize: Lemmatize) -> None:
    with pytest.raises((RulesError, OSError)):
        RulesFile(tmp_path / "absent.toml", lemmatize)


def test_the_rules_path_comes_from_the_environment() -> None:
    settings = ModerationSettings.from_env({"ZVONAR_MODERATION_RULES": "/etc/zvonar/rules.toml"})
    assert settings.rules_path == Path("/etc/zvonar/rules.toml")
    assert ModerationSettings.from_env({}).rules_path is None
    assert ModerationSettings.from_env({}).consumer == "moderation-created"


def test_a_reason_longer_than_the_contract_allows_is_clipped_to_it(lemmatize: Lemmatize) -> None:
    """An operator's long rejection text still fits ModerateCampaign.reason (the campaign
    service refuses a longer one, and the campaign would stay in moderation)."""
    long_reason = "Запрещено. " * 200
    text = CUSTOM.replace("Реклама табака запрещена", long_reason)
    matcher = Matcher(parse_rulebook(text), lemmatize)
    options = CampaignOptions(name="Акция", audio=TtsAudio(text="Купите электронную сигарету"))
    verdict = judge(options, matcher)
    assert verdict.decision == "rejected"
    assert len(verdict.reason) == MAX_REASON
    assert verdict.reason.startswith("Запрещено.")
    assert verdict.reason.endswith("— «сигарета» (текст ролика)")  # where it was found stays
