"""The page's words in Russian (the default) and English; the `lang` cookie picks one.

Status and tag labels in Russian are the product's own (docs/PRODUCT.md), shared with the
CSV/XLSX exports so the page and its files never disagree.
"""

from __future__ import annotations

from zvonar_contracts.options import Status, Tag
from zvonar_gateway.files.exports import STATUS_LABELS, TAG_LABELS

LANGS = ("ru", "en")
DEFAULT_LANG = "ru"

_EN_STATUS: dict[Status, str] = {
    Status.MODERATION: "In moderation",
    Status.CLARIFICATION: "In clarification",
    Status.ACCEPTED: "Accepted",
    Status.SCHEDULED: "Scheduled",
    Status.IN_PROGRESS: "In progress",
    Status.PAUSED: "Paused",
    Status.PAUSED_WINDOW: "Paused — outside the window",
    Status.FINISHED: "Finished",
    Status.STOPPED: "Stopped",
    Status.REJECTED: "Rejected",
    Status.ERROR: "Error",
}

_EN_TAG: dict[Tag, str] = {
    Tag.RECOGNITION: "Recognition",
    Tag.SMART: "Smart",
    Tag.NO_CALLER_ID: "No CallerId",
    Tag.TTS: "Generated text",
    Tag.AUDIO_FILE: "Audio file",
    Tag.RECORDING: "Recorded",
    Tag.WINDOW: "With window",
    Tag.INTEGRATION: "Integration",
    Tag.AMD: "Answering machines detected",
}

# key: (Russian, English)
_WORDS: dict[str, tuple[str, str]] = {
    "campaigns": ("Рассылки", "Campaigns"),
    "create": ("Создать рассылку", "Create campaign"),
    "stop_list": ("Стоп-лист", "Stop-list"),
    "profile": ("Профиль", "Profile"),
    "moderation": ("Модерация", "Moderation"),
    "sign_out": ("Выйти", "Sign out"),
    "sign_in": ("Войти", "Sign in"),
    "sign_in_title": ("Вход в личный кабинет", "Sign in"),
    "api_key": ("API-ключ (или токен модератора)", "API key (or the moderator token)"),
    "bad_key": ("Ключ не подходит", "The key is not valid"),
    "too_many_attempts": (
        "Слишком много неудачных попыток входа; попробуйте снова через {seconds} с",
        "Too many failed sign-ins; try again in {seconds} s",
    ),
    "search": ("Поиск", "Search"),
    "search_placeholder": ("ID/№ или название", "ID/No. or name"),
    "tags": ("Теги рассылки", "Campaign tags"),
    "status": ("Статус", "Status"),
    "any_status": ("Любой", "Any"),
    "from_date": ("От Дата", "From date"),
    "to_date": ("До Дата", "To date"),
    "time": ("Время", "Time"),
    "select_all": ("Выделить все", "Select all"),
    "delete": ("Удалить", "Delete"),
    "download": ("Скачать", "Download"),
    "col_number": ("Номер", "No."),
    "col_created": ("Дата создания", "Created"),
    "col_name": ("Название", "Name"),
    "col_status": ("Статус", "Status"),
    "col_start": ("Время начала", "Start"),
    "col_size": ("Размер", "Size"),
    "col_smart": ("Статистика умных рассылок", "Smart parts"),
    "col_speed": ("Скорость рассылки", "Speed"),
    "col_cost": ("Стоимость", "Cost"),
    "col_comment": ("Комментарий", "Comment"),
    "col_actions": ("Отчет и управление рассылкой", "Report and actions"),
    "size_tip": (
        "Всего номеров / в стоп-листе / ответили / лиды / не ответили / в процессе",
        "Numbers / stop-listed / answered / leads / not answered / in progress",
    ),
    "report": ("ОТЧЕТ", "REPORT"),
    "resume": ("Возобновить", "Resume"),
    "cancel_last": ("Отменить последнюю умную рассылку", "Cancel the last smart part"),
    "cancel_all": ("Отменить все умные рассылки", "Cancel all smart parts"),
    "release": ("Освободить номер", "Release the number"),
    "listen": ("Прослушать записи", "Listen to the clips"),
    "download_records": ("Скачать записи", "Download recordings"),
    "comment": ("Комментарий", "Comment"),
    "copy": ("Скопировать", "Copy"),
    "pause": ("Пауза", "Pause"),
    "stop": ("Остановить", "Stop"),
    "smart": ("Умная", "Smart"),
    "not_started": ("Не начата", "Not started"),
    "scheduled_for": ("Запланирована на", "Scheduled for"),
    "out_of_window": ("Пауза - вне временного интервала", "Paused - outside the window"),
    "no_rows": ("Рассылок нет", "No campaigns"),
    "page": ("Страница", "Page"),
    "of": ("из", "of"),
    "prev": ("Назад", "Previous"),
    "next": ("Вперёд", "Next"),
    "total": ("Всего", "Total"),
    "confirm_delete": ("Удалить выбранные рассылки?", "Delete the selected campaigns?"),
    "nothing_selected": ("Ничего не выбрано", "Nothing is selected"),
    "deleted": ("Удалено", "Deleted"),
    "done": ("Готово", "Done"),
    "copied": ("Создана копия", "A copy was created"),
    "comment_prompt": ("Комментарий к рассылке", "Comment on the campaign"),
    "confirm_stop": ("Остановить рассылку", "Stop campaign"),
    "stop_final": (
        "Остановленную рассылку нельзя продолжить.",
        "A stopped campaign cannot be resumed.",
    ),
    "loading": ("Загрузка…", "Loading…"),
    "close": ("Закрыть", "Close"),
    "confirm_title": ("Подтвердите", "Please confirm"),
    "confirm_yes": ("Да, выполнить", "Yes, do it"),
    "cancel": ("Отмена", "Cancel"),
    "part_of": ("Часть рассылки", "Part of campaign"),
    "smart_parts_of": ("Умные части", "Smart parts"),
    "copy_of": ("Копия рассылки", "A copy of campaign"),
    "copy_hint": (
        "Проверьте и измените параметры: звонки начнутся только после «Запустить».",
        "Check and change the settings: nothing is called before you press Start.",
    ),
    "copy_base": (
        "Будет использована база номеров рассылки {id} ({count} шт.), если не вставить другую",
        "The phone base of campaign {id} ({count} numbers) is used unless you paste another",
    ),
    "copy_audio": ("Аудиофайл из рассылки {id}", "The audio file of campaign {id}"),
    "csrf": ("Сессия устарела, обновите страницу", "The session expired; reload the page"),
    "name": ("Название", "Name"),
    "base": ("База номеров", "Phone base"),
    "base_paste": ("Номера, по одному в строке", "Numbers, one a line"),
    "base_file": ("или файл (TXT, CSV)", "or a file (TXT, CSV)"),
    "rejected_lines": ("Отклонённые строки", "Rejected lines"),
    "message": ("Сообщение", "Message"),
    "message_tts": ("Синтез речи из текста", "Text to speech"),
    "message_file": ("Аудиофайл (WAV, MP3)", "Audio file (WAV, MP3)"),
    "listen_preview": ("Прослушать", "Listen"),
    "speed": ("Скорость (звонков в час)", "Speed (calls an hour)"),
    "start_at": ("Время старта (пусто — сразу)", "Start time (empty: at once)"),
    "routing": ("Маршрутизация", "Routing"),
    "carousel": ("Карусель номеров", "Number carousel"),
    "caller_id": ("Номер отправителя", "Caller number"),
    "ivr": ("Голосовое меню (IVR)", "Voice menu (IVR)"),
    "ivr_none": ("Нет", "None"),
    "ivr_words": ("Слова (лид-слова через запятую)", "Words (lead words, comma separated)"),
    "ivr_keys": ("Клавиши (лид-клавиши через запятую)", "Keys (lead keys, comma separated)"),
    "smart_parts": ("Частей (повторный обзвон не ответивших)", "Parts (redials of the unanswered)"),
    "smart_delay": ("Задержка, минут", "Delay, minutes"),
    "record": ("Записывать разговоры", "Record conversations"),
    "window": ("Ограничить время и дни рассылки", "Limit the hours and days"),
    "window_legend": ("Время и дни рассылки", "Hours and days of calling"),
    "window_from": ("с", "from"),
    "window_to": ("до", "to"),
    "window_tz": ("Часовой пояс", "Timezone"),
    "tz_account": ("личного кабинета", "the account's"),
    "tz_callee": ("абонента", "the callee's"),
    "webhook_url": ("Адрес (URL)", "Address (URL)"),
    "webhook_secret": ("Секрет", "Secret"),
    "amd": ("Определять автоответчики", "Detect answering machines"),
    "extras": ("Дополнительно", "Extras"),
    "start": ("Запустить", "Start"),
    "form_errors": ("Исправьте ошибки в форме", "Fix the errors in the form"),
    "summary": ("Сводка", "Summary"),
    "history": ("История статусов", "Status history"),
    "outcomes": ("Исходы звонков", "Call outcomes"),
    "calls_over_time": ("Звонки по времени", "Calls over time"),
    "calls": ("Звонки", "Calls"),
    "phone": ("Телефон", "Phone"),
    "part": ("Часть", "Part"),
    "attempt": ("Попытка", "Attempt"),
    "started": ("Начало", "Started"),
    "outcome": ("Исход", "Outcome"),
    "duration": ("Длительность, с", "Duration, s"),
    "answer": ("Распознанный ответ", "Recognised answer"),
    "lead": ("Лид", "Lead"),
    "recording": ("Запись", "Recording"),
    "clips": ("Аудиоролики", "Audio clips"),
    "no_clips": ("Аудиороликов нет", "No audio clips"),
    "seconds_short": ("с", "s"),
    "date_placeholder": ("ДД.ММ.ГГГГ", "DD.MM.YYYY"),
    "time_placeholder": ("ЧЧ:ММ", "HH:MM"),
    "start_date": ("Дата старта", "Start date"),
    "recordings_zip": ("Скачать записи (zip)", "Download recordings (zip)"),
    "timezone": ("Часовой пояс", "Timezone"),
    "save": ("Сохранить", "Save"),
    "rotate": ("Выпустить новый ключ", "Issue a new key"),
    "rotate_confirm": (
        "Старый ключ перестанет работать. Продолжить?",
        "The old key stops working. Go on?",
    ),
    "new_key": (
        "Новый ключ (сохраните его, он показан один раз)",
        "New key (keep it; it is shown once)",
    ),
    "saved": ("Сохранено", "Saved"),
    "add": ("Добавить", "Add"),
    "remove": ("Убрать", "Remove"),
    "added": ("Добавлено", "Added"),
    "queue": ("Очередь на уточнении", "Clarification queue"),
    "approve": ("Одобрить", "Approve"),
    "reject": ("Отклонить", "Reject"),
    "reason": ("Причина", "Reason"),
    "reason_required": ("Укажите причину", "Give a reason"),
    "account": ("Аккаунт", "Account"),
    "col_says": ("Что говорит рассылка", "What the campaign says"),
    "tts_text": ("Текст ролика", "Message text"),
    "audio_file": ("Аудиофайл", "Audio file"),
    "lead_words": ("Слова-лиды", "Lead words"),
    "lead_keys": ("Клавиши-лиды", "Lead keys"),
    "numbers_count": ("Номеров в базе", "Numbers in the base"),
    "empty_queue": ("Очередь пуста", "The queue is empty"),
    "error": ("Ошибка", "Error"),
    "unavailable": (
        "Сервис временно недоступен, попробуйте ещё раз",
        "A service is not answering; try again",
    ),
    "not_found": ("Не найдено", "Not found"),
    "yes": ("да", "yes"),
    "no": ("нет", "no"),
    "days": ("Дни", "Days"),
    "lang_switch": ("English", "Русский"),
    "cost_total": ("Стоимость", "Cost"),
    "speed_short": ("Скорость", "Speed"),
    "size_total": ("Номеров", "Numbers"),
    "size_stop": ("В стоп-листе", "Stop-listed"),
    "size_answered": ("Ответили", "Answered"),
    "size_leads": ("Лиды", "Leads"),
    "size_not_answered": ("Не ответили", "Not answered"),
    "size_in_progress": ("В процессе", "In progress"),
    "tts_length": ("Введите текст: от 1 до {max} символов", "Type a text of 1 to {max} characters"),
    "preview_failed": ("Не удалось синтезировать речь", "The speech could not be synthesized"),
    "not_utf8": ("Ошибка: текст не в кодировке UTF-8", "Error: the text is not UTF-8"),
    "audio_chosen": ("Загружен файл", "Uploaded file"),
    "audio_replace": (
        "чтобы заменить, выберите другой файл ниже",
        "to replace it, choose another file below",
    ),
    "choose_file": ("Выбрать файл", "Choose a file"),
    "no_file": ("Файл не выбран", "No file chosen"),
    "audio_too_large": (
        "Файл больше {mb} МБ: выберите файл поменьше",
        "The file is over {mb} MB; choose a smaller one",
    ),
    "stop_list_empty": ("Стоп-лист пуст", "The stop-list is empty"),
    "no_calls": ("Звонков пока нет", "No calls yet"),
    "no_recordings": ("Записей разговоров нет", "There are no recordings"),
    "header_line": ("Первая строка принята за заголовок", "The first line was taken for a header"),
    "dates_reversed": (
        "Дата «от» позже даты «до»: таких рассылок нет",
        "The from date is after the to date: nothing can match",
    ),
    "bad_date": ("Дата в виде ДД.ММ.ГГГГ", "A date as DD.MM.YYYY"),
    "rejected_more": ("и ещё", "and more"),
    "export_phone": ("Телефон", "Phone"),
    "no_recordings_off": (
        "записей нет: запись разговоров не включена",
        "no recordings: call recording is off",
    ),
    "no_recordings_yet": (
        "записей нет: ещё никто не ответил",
        "no recordings: nobody has answered yet",
    ),
    "quote_title": ("Ожидаемая стоимость базы", "Expected cost of the base"),
    "quote_numbers": ("номеров", "numbers"),
    "quote_per_call": ("за звонок", "a call"),
    "quote_detail": (
        "ролик {duration} с, к оплате {billed} с по {rate} ₽/мин",
        "message {duration} s, billed {billed} s at {rate} ₽/min",
    ),
    "quote_assumes": (
        "Расчёт на случай, если каждый номер ответит и прослушает ролик целиком: "
        "неотвеченные звонки бесплатны, так что рассылка обойдётся не дороже.",
        "Assumes every number answers and hears the whole message: unanswered calls "
        "are free, so the campaign costs no more than this.",
    ),
    "quote_waiting": (
        "Стоимость базы появится, когда будут номера и ролик.",
        "The cost of the base shows once there are numbers and a message.",
    ),
    "quote_no_numbers": ("В базе нет ни одного верного номера.", "The base has no valid number."),
}

WEEKDAY_LABELS: dict[str, tuple[str, str]] = {
    "mon": ("Пн", "Mon"),
    "tue": ("Вт", "Tue"),
    "wed": ("Ср", "Wed"),
    "thu": ("Чт", "Thu"),
    "fri": ("Пт", "Fri"),
    "sat": ("Сб", "Sat"),
    "sun": ("Вс", "Sun"),
}

OUTCOME_LABELS: dict[str, tuple[str, str]] = {
    "answered": ("Ответил", "Answered"),
    "no_answer": ("Не ответил", "No answer"),
    "busy": ("Занято", "Busy"),
    "machine": ("Автоответчик", "Answering machine"),
    "failed": ("Ошибка", "Failed"),
    "stop_listed": ("Стоп-лист", "Stop-listed"),
}


EVENT_LABELS: dict[str, tuple[str, str]] = {
    "CampaignCreated": ("Создана", "Created"),
    "CampaignModerated": ("Модерация", "Moderated"),
    "CampaignScheduled": ("Запланирована", "Scheduled"),
    "CampaignStarted": ("Запущена", "Started"),
    "CampaignPaused": ("Пауза", "Paused"),
    "CampaignResumed": ("Возобновлена", "Resumed"),
    "CampaignStopped": ("Остановлена", "Stopped"),
    "CampaignOutOfWindow": ("Вне временного интервала", "Outside the window"),
    "CampaignFinished": ("Закончена", "Finished"),
    "CampaignFailed": ("Ошибка", "Failed"),
    "CampaignDeleted": ("Удалена", "Deleted"),
    "CampaignCommentChanged": ("Комментарий", "Comment"),
    "CampaignNumberReleased": ("Номер освобождён", "Number released"),
    "CampaignIdle": ("Ожидание", "Idle"),
    "SmartPartStarted": ("Умная часть запущена", "Smart part started"),
    "SmartPartFinished": ("Умная часть закончена", "Smart part finished"),
    "SmartPartsCancelled": ("Умные части отменены", "Smart parts cancelled"),
    "CampaignCopied": ("Скопирована", "Copied"),
}


IDLE_REASONS: dict[str, tuple[str, str]] = {
    "window_closed": ("вне временного интервала", "outside the calling window"),
    "all_stop_listed": ("все оставшиеся номера в стоп-листе", "every number left is stop-listed"),
    "smart_part_delay": ("ждёт начала умной рассылки", "waiting for the smart part's delay"),
    "paused_by_system": (
        "пауза системой: оператор связи недоступен",
        "paused by the system: the carrier is unreachable",
    ),
    "no_audio": ("нет аудио", "no audio"),
    "no_free_channel": ("ждёт свободной линии", "waiting for a free line"),
}


def lang_of(value: str | None) -> str:
    return value if value in LANGS else DEFAULT_LANG


class Words:
    """The words of one language, looked up by key (a missing key is a bug: KeyError)."""

    def __init__(self, lang: str) -> None:
        self.lang = lang_of(lang)
        self._index = 0 if self.lang == "ru" else 1

    def __call__(self, key: str) -> str:
        return _WORDS[key][self._index]

    def status(self, status: Status | str) -> str:
        value = Status(status)
        return STATUS_LABELS[value] if self._index == 0 else _EN_STATUS[value]

    def tag(self, tag: Tag | str) -> str:
        value = Tag(tag)
        return TAG_LABELS[value] if self._index == 0 else _EN_TAG[value]

    def weekday(self, day: str) -> str:
        return WEEKDAY_LABELS[day][self._index]

    def event(self, event_type: str) -> str:
        pair = EVENT_LABELS.get(event_type)
        return pair[self._index] if pair else event_type

    def idle_reason(self, reason: str) -> str:
        pair = IDLE_REASONS.get(reason)
        return pair[self._index] if pair else reason

    def outcome(self, outcome: str) -> str:
        pair = OUTCOME_LABELS.get(outcome)
        return pair[self._index] if pair else outcome
