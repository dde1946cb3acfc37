"""The rules file on disk: loaded at start-up, reloaded when it changes (checked before each
decision) or on demand (SIGHUP). A broken edit is logged and the last good rules stay."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import structlog

from zvonar_moderation.domain.matching import Lemmatize, Matcher
from zvonar_moderation.domain.rules import RulesError, parse_rulebook

log = structlog.get_logger("zvonar.moderation.rules")


def default_rules_path() -> Path:
    return Path(str(resources.files("zvonar_moderation").joinpath("rules.toml")))


def _signature(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_mtime_ns, stat.st_size


class RulesFile:
    def __init__(self, path: Path, lemmatize: Lemmatize) -> None:
        self.path = path
        self._lemmatize = lemmatize
        self._signature = _signature(path)
        self._matcher = self._load()  # a bad file at start-up fails loudly

    def _load(self) -> Matcher:
        try:
            text = self.path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise RulesError(f"cannot read rules file {self.path}: {exc}") from exc
        matcher = Matcher(parse_rulebook(text), self._lemmatize)
        log.info("rules_loaded", path=str(self.path), topics=len(matcher.rulebook.topics))
        return matcher

    def matcher(self) -> Matcher:
        """The current rules, reloaded first if the file changed since the last load."""
        try:
            changed = _signature(self.path) != self._signature
        except OSError:
            changed = False
        if changed:
            self.reload()
        return self._matcher

    def reload(self) -> bool:
        """Load the file again; on failure keep the last good rules and say so."""
        try:
            # Noted before loading, so a broken edit is reported once, not on every decision.
            self._signature = _signature(self.path)
            self._matcher = self._load()
        except (OSError, RulesError) as exc:
            log.error("rules_reload_failed", path=str(self.path), error=str(exc))
            return False
        return True
