"""The API's English messages said in the page's language (pure).

The API keeps its English texts (docs/API.md); the page shows each one by what it is: a
field's fault by its field and message, a rejected phone line by its reason, a refused
action by its code, a system comment by its kind. A message not in these tables is never
shown raw on the Russian page: it is said by its field or code alone ("Неверное значение").
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from zvonar_gateway.files.audio import MAX_AUDIO_BYTES

_MB = MAX_AUDIO_BYTES // (1024 * 1024)

# (pattern of the English message, Russian, English); {0}, {1}... are the pattern's groups.
_FIELD_MESSAGES: Sequence[tuple[str, str, str]] = (
    (
        r"at least one phone number is required",
        "Укажите хотя бы один номер телефона",
        "At least one phone number is required",
    ),
    (
        r"no valid phone number|none of the phone numbers is valid",
        "Ни одного верного номера телефона",
        "No valid phone number",
    ),
    (r"must not be empty", "Не должно быть пустым", "Must not be empty"),
    (r"required", "Обязательное поле", "Required"),
    (r"must carry a UTC offset.*", "Укажите дату и время", "A date and a time with an offset"),
    (
        r"must be in the future",
        "Время старта должно быть в будущем",
        "The start time must be in the future",
    ),
    (r"not a valid phone number", "Неверный номер телефона", "Not a valid phone number"),
    (
        r"one or more non-empty words",
        "Укажите одно или несколько слов",
        "One or more non-empty words",
    ),
    (
        r"one or more keys, each one of 0-9, \* or #",
        "Укажите одну или несколько клавиш: 0–9, * или #",
        "One or more keys: 0-9, * or #",
    ),
    (
        r"calls per hour, from 1 to (\d+)",
        "Звонков в час: от 1 до {0}",
        "Calls an hour: from 1 to {0}",
    ),
    (r"from (\d+) to (\d+)", "От {0} до {1}", "From {0} to {1}"),
    (r"at least one day", "Выберите хотя бы один день", "Choose at least one day"),
    (r"a day is listed twice", "День указан дважды", "A day is listed twice"),
    (r"a time of day as HH:MM", "Время в виде ЧЧ:ММ", "A time of day as HH:MM"),
    (
        r"must be later than window\.from",
        "Время «до» должно быть позже времени «с»",
        "The end must be later than the start",
    ),
    (
        r"an http:// or https:// URL.*",
        "Адрес вида http:// или https://",
        "An http:// or https:// address",
    ),
    (
        r"the port is not a number.*",
        "Порт — число от 1 до 65535",
        "The port is a number from 1 to 65535",
    ),
    (
        r"no uploaded audio with this file_id",
        "Загруженный аудиофайл не найден, выберите его снова",
        "The uploaded audio is gone; choose the file again",
    ),
    (r"choose a WAV or MP3 file", "Выберите файл WAV или MP3", "Choose a WAV or MP3 file"),
    (
        r"audio files are limited to .*",
        f"Аудиофайл больше {_MB} МБ",
        f"The audio file is over {_MB} MB",
    ),
    (r"the audio file is empty", "Аудиофайл пустой", "The audio file is empty"),
    (r"not a valid WAV file.*", "Файл повреждён: это не WAV", "Not a valid WAV file"),
    (r"not a valid MP3 file.*", "Файл повреждён: это не MP3", "Not a valid MP3 file"),
    (r"not a WAV( or MP3)? file.*", "Это не файл WAV или MP3", "Not a WAV or MP3 file"),
    (r".*(too long|longer than).*", "Аудиозапись слишком длинная", "The recording is too long"),
    (r"a whole number", "Целое число", "A whole number"),
    (r"a date and a time", "Дата и время", "A date and a time"),
    (r"at most ([\d,]+) numbers", "Не больше {0} номеров", "At most {0} numbers"),
    (
        r"a phone base holds at most ([\d,]+) numbers.*",
        "В базе не больше {0} номеров",
        "A base holds at most {0} numbers",
    ),
    (
        r".*binary, not UTF-8 or cp1251 text",
        "Файл не текстовый (нужен TXT или CSV)",
        "The file is not text (TXT or CSV)",
    ),
    (
        r".*control characters.*",
        "В файле управляющие символы, это не текст",
        "The file holds control characters",
    ),
    (r".*not a readable CSV file.*", "Файл CSV не читается", "The CSV file cannot be read"),
    (
        r"Expected `(str|array)` of length <= (\d+)",
        "Не длиннее {1} символов",
        "At most {1} characters",
    ),
    (
        r"(a comment has )?at most (\d+) characters",
        "Не длиннее {1} символов",
        "At most {1} characters",
    ),
    (r"Expected .*", "Неверное значение", "Not a valid value"),
    (r"unknown field", "Неизвестное поле", "Unknown field"),
)

_REASONS: dict[str, tuple[str, str]] = {
    "not a phone number": ("не номер телефона", "not a phone number"),
    "not a valid phone number": ("неверный номер", "not a valid phone number"),
    "too short": ("слишком короткий", "too short"),
    "too long": ("слишком длинный", "too long"),
    "invalid length": ("неверная длина", "invalid length"),
    "invalid country code": ("неверный код страны", "invalid country code"),
    "empty": ("пустая строка", "empty"),
    "duplicate": ("повтор", "duplicate"),
}

# Refused actions and reads, by the code of docs/API.md and then the message.
_ACTION_MESSAGES: Sequence[tuple[str, str, str]] = (
    (
        r"(?:campaign (\d+) not found|no campaign (\d+))",
        "рассылка {0}{1} не найдена",
        "campaign {0}{1} not found",
    ),
    (
        r"campaign (\d+) has no smart part to cancel",
        "у рассылки {0} нет умной части для отмены",
        "campaign {0} has no smart part to cancel",
    ),
    (
        r"campaign (\d+) has no smart part (\d+)",
        "у рассылки {0} нет умной части {1}",
        "campaign {0} has no smart part {1}",
    ),
    (
        r"campaign (\d+) has no caller number",
        "у рассылки {0} нет своего номера",
        "campaign {0} has no caller number",
    ),
    (r"campaign (\d+) is deleted", "рассылка {0} удалена", "campaign {0} is deleted"),
    (
        r"campaign (\d+) is (\w+)",
        "рассылка {0} в статусе «{1}», действие недоступно",
        "campaign {0} is {1}: the action does not apply",
    ),
    (r"smart part (\d+) is (\w+)", "умная часть {0} уже {1}", "smart part {0} is {1}"),
    (
        r"the campaign is changing too fast.*",
        "рассылка меняется, повторите через секунду",
        "the campaign is changing; try again",
    ),
    (r"no such (recording|clip|preview)", "файл не найден", "no such file"),
)

_CODES: dict[str, tuple[str, str]] = {
    "not_found": ("не найдено", "not found"),
    "invalid_transition": ("действие недоступно в этом статусе", "the action does not apply"),
    "conflict": ("конфликт, повторите", "a conflict; try again"),
    "validation": ("неверное значение", "not a valid value"),
    "payload_too_large": ("слишком большой запрос", "the request is too large"),
}

_SYSTEM_COMMENTS: Sequence[tuple[str, str, str]] = (
    (
        r"the message could not be synthesized.*",
        "Не удалось синтезировать сообщение из текста",
        "The message could not be synthesized",
    ),
    (r"the phone base .*", "База номеров недоступна", "The phone base is unavailable"),
    (r"the audio file .* is missing", "Аудиофайл не найден", "The audio file is missing"),
    (
        r"the audio file cannot be converted.*",
        "Аудиофайл не удалось преобразовать",
        "The audio file cannot be converted",
    ),
    (
        r"IVR words are not recognized on the SIP carrier.*",
        "Ответы словами по SIP не распознаются: распознаватель речи не установлен, "
        "поэтому у звонков нет ответа и лидов",
        "IVR words are not recognized over SIP: no speech recognizer is installed, "
        "so the calls get no answer and no lead",
    ),
)

_STATUS_WORDS: dict[str, str] = {
    "moderation": "на модерации",
    "clarification": "на уточнении",
    "accepted": "принята",
    "scheduled": "запланирована",
    "in_progress": "в процессе",
    "paused": "на паузе",
    "paused_window": "вне временного интервала",
    "finished": "закончена",
    "stopped": "остановлена",
    "rejected": "отклонена",
    "error": "ошибка",
    "cancelled": "отменена",
    "running": "идёт",
    "done": "закончена",
    "pending": "ждёт",
}

_COMPILED = {
    id(table): [(re.compile(p, re.IGNORECASE), ru, en) for p, ru, en in table]
    for table in (_FIELD_MESSAGES, _ACTION_MESSAGES, _SYSTEM_COMMENTS)
}


def _match(table: Sequence[tuple[str, str, str]], message: str, lang: str) -> str | None:
    for pattern, ru, en in _COMPILED[id(table)]:
        found = pattern.fullmatch(message.strip())
        if found:
            groups = [g or "" for g in found.groups()]
            if lang == "ru":
                groups = [_STATUS_WORDS.get(g, g) for g in groups]
            return (ru if lang == "ru" else en).format(*groups)
    return None


def field_error(field: str, message: str, lang: str) -> str:
    """A form field's fault: the English message of the API said in `lang`."""
    known = _match(_FIELD_MESSAGES, message, lang)
    if known is not None:
        return known
    return "Неверное значение" if lang == "ru" else message


def reject_reason(reason: str, lang: str) -> str:
    pair = _REASONS.get(reason)
    if pair:
        return pair[0 if lang == "ru" else 1]
    return "не номер телефона" if lang == "ru" else reason


def api_message(code: str, message: str, lang: str) -> str:
    """A refused action or read (its code and English message) in `lang`."""
    known = _match(_ACTION_MESSAGES, message, lang) or _match(_FIELD_MESSAGES, message, lang)
    if known is not None:
        return known
    if lang != "ru":
        return message
    return _CODES.get(code, ("ошибка запроса", ""))[0]


def system_comment(text: str, lang: str) -> str:
    """A comment the system left (a failure's reason); a moderator's own words stay as typed."""
    known = _match(_SYSTEM_COMMENTS, text, lang)
    return known if known is not None else text


def rejected_lines(rejected: Sequence[object], lang: str) -> list[dict[str, object]]:
    """Rejected phone lines (line, value, reason) with the reason in `lang`."""
    return [
        {
            "line": getattr(r, "line", ""),
            "value": getattr(r, "value", ""),
            "reason": reject_reason(str(getattr(r, "reason", "")), lang),
        }
        for r in rejected
    ]
