"""The web page over HTTP (no browser): sign-in, CSRF, the list, actions, create, exports,
profile and the moderator's view, on the gateway app with campaign/stats doubles."""

from __future__ import annotations

import io
import wave

import httpx
import pytest

from tests.integration.gateway_api.conftest import FakeServices
from tests.integration.web.conftest import ADMIN, csrf_of
from zvonar_contracts.commands import CreateCampaign, PauseCampaign
from zvonar_contracts.options import FileAudio, Status, TtsAudio
from zvonar_gateway.adapters.accounts import AccountStore
from zvonar_gateway.domain.account import Account
from zvonar_gateway.service_layer.actions import ACTIONS

HTMX = {"HX-Request": "true"}

FORM = {
    "name": "Акция июнь",
    "phones_text": "+7 999 123-45-67\n89991234568\nмусор\n",
    "audio_kind": "tts",
    "tts_text": "Здравствуйте! Скидки.",
    "speed": "800",
    "routing_kind": "carousel",
    "ivr_kind": "none",
    "smart_parts": "2",
    "smart_delay": "30",
}


async def create(web: httpx.AsyncClient, csrf: str, **overrides: str) -> httpx.Response:
    # A created campaign is answered with a redirect (Post/Redirect/Get), followed here.
    return await web.post(
        "/campaigns/new", data={"_csrf": csrf, **FORM, **overrides}, follow_redirects=True
    )


async def test_sign_in_page_and_session_cookie(
    web: httpx.AsyncClient, account: tuple[Account, str]
) -> None:
    page = await web.get("/")
    assert page.status_code == 200
    assert 'name="api_key"' in page.text and "Вход" in page.text
    cookie = page.headers.get("set-cookie", "").lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    wrong = await web.post("/sign-in", data={"_csrf": csrf_of(page.text), "api_key": "zv_wrong"})
    assert wrong.status_code == 401 and "Ключ не подходит" in wrong.text
    ok = await web.post("/sign-in", data={"_csrf": csrf_of(page.text), "api_key": account[1]})
    assert ok.status_code == 303 and ok.headers["location"] == "/"
    home = await web.get("/")
    assert "Выделить все" in home.text and "Дата создания" in home.text
    # The session is fresh after sign-in: the pre-sign-in token no longer works.
    assert csrf_of(home.text) != csrf_of(page.text)


async def test_sign_in_without_csrf_is_refused(
    web: httpx.AsyncClient, account: tuple[Account, str]
) -> None:
    await web.get("/")
    answer = await web.post("/sign-in", data={"api_key": account[1]})
    assert answer.status_code == 403
    assert "Рассылки" not in (await web.get("/")).text.split("<main>")[1][:200]


async def test_pages_need_a_session(web: httpx.AsyncClient) -> None:
    for path in (
        "/campaigns/new",
        "/profile",
        "/stop-list",
        "/campaigns/1000001/report",
        "/moderation",
    ):
        answer = await web.get(path)
        assert answer.status_code == 303 and answer.headers["location"] == "/", path
    fragment = await web.get("/campaigns/table", headers=HTMX)
    assert fragment.headers.get("hx-redirect") == "/"


async def test_create_shows_rejected_lines_and_the_row(
    web: httpx.AsyncClient, signed_in: str, services: FakeServices
) -> None:
    answer = await create(web, signed_in)
    assert answer.status_code == 200, answer.text
    assert "мусор" in answer.text and "Отклонённые строки (1)" in answer.text
    created = [c for c in services.commands if isinstance(c, CreateCampaign)]
    assert len(created) == 1
    command = created[0]
    assert command.phones.count == 2
    assert command.options.audio == TtsAudio(text="Здравствуйте! Скидки.")
    assert command.options.smart is not None and command.options.smart.parts == 2
    table = await web.get("/campaigns/table", headers=HTMX)
    row = table.text.split(f'id="row-{command_id(services)}"')[1]
    assert "Акция июнь" in row and "На модерации" in row and "Умная" in row
    assert "Сгенерированный текст" in row and "Без CallerId" in row
    assert "2 / 0 / 0 / 0 / 0 / 2" in row and "Не начата" in row
    assert f"(id {command_id(services)})" in row


def command_id(services: FakeServices) -> int:
    return max(services.campaigns)


async def test_create_validation_is_shown_next_to_fields_and_stores_nothing(
    web: httpx.AsyncClient, signed_in: str, services: FakeServices
) -> None:
    answer = await create(
        web,
        signed_in,
        tts_text="  ",
        speed="abc",
        smart_parts="9",
        window_on="on",
        window_from="22:00",
        window_to="08:00",
        window_days="mon",
    )
    assert answer.status_code == 422
    assert 'data-field="audio.text"' in answer.text
    assert 'data-field="speed"' in answer.text
    assert 'data-field="smart.parts"' in answer.text
    assert 'data-field="window.to"' in answer.text
    assert not [c for c in services.commands if isinstance(c, CreateCampaign)]
    # What was typed stays in the form.
    assert "Акция июнь" in answer.text


async def test_action_needs_csrf_and_then_pauses(
    web: httpx.AsyncClient, signed_in: str, services: FakeServices
) -> None:
    await create(web, signed_in)
    cid = command_id(services)
    refused = await web.post(f"/campaigns/{cid}/do/pause", headers=HTMX)
    assert refused.status_code == 403
    assert not [c for c in services.commands if isinstance(c, PauseCampaign)]
    done = await web.post(f"/campaigns/{cid}/do/pause", headers={**HTMX, "X-CSRF-Token": signed_in})
    assert done.status_code == 200 and done.headers["hx-trigger"] == "refresh-table"
    assert services.campaigns[cid][0].status is Status.PAUSED
    table = await web.get("/campaigns/table", headers=HTMX)
    assert f'hx-post="/campaigns/{cid}/do/resume"' in table.text and "На паузе" in table.text


@pytest.mark.parametrize("name", list(ACTIONS))
async def test_every_action_of_the_table_is_a_row_action(
    web: httpx.AsyncClient,
    signed_in: str,
    services: FakeServices,
    account: tuple[Account, str],
    name: str,
) -> None:
    """The page's `/do/<name>` and the API's route send the table's one command."""
    await create(web, signed_in)
    cid = command_id(services)
    sent_before = len(services.commands)
    answer = await web.post(
        f"/campaigns/{cid}/do/{name}",
        data={"text": "Перезвонить"},
        headers={**HTMX, "X-CSRF-Token": signed_in},
    )
    assert answer.status_code == 200, answer.text
    expected = ACTIONS[name].command(account[0], cid, "Перезвонить")
    assert services.commands[sent_before:] == [expected]


async def test_comment_copy_and_bulk_delete(
    web: httpx.AsyncClient, signed_in: str, services: FakeServices
) -> None:
    auth = {**HTMX, "X-CSRF-Token": signed_in}
    await create(web, signed_in)
    first = command_id(services)
    commented = await web.post(
        f"/campaigns/{first}/do/comment", data={"text": "Позвонить в понедельник"}, headers=auth
    )
    assert commented.status_code == 200
    copied = await web.post(f"/campaigns/{first}/do/copy", headers=auth)
    second = command_id(services)
    assert second != first and str(second) in copied.text
    table = await web.get("/campaigns/table", headers=HTMX)
    assert "Позвонить в понедельник" in table.text and 'class="comment-user"' in table.text
    deleted = await web.post(
        "/campaigns/delete", data={"ids": [str(first), str(second)]}, headers=auth
    )
    assert deleted.status_code == 200 and str(first) in deleted.text and str(second) in deleted.text
    assert not services.campaigns


async def test_selection_survives_the_poll(
    web: httpx.AsyncClient, signed_in: str, services: FakeServices
) -> None:
    await create(web, signed_in)
    cid = command_id(services)
    table = await web.get(
        "/campaigns/table", params={"ids": [str(cid)], "status": "moderation"}, headers=HTMX
    )
    assert f'value="{cid}" form="bulk" checked' in table.text


async def test_export_selected_rows_as_csv_and_xlsx(
    web: httpx.AsyncClient, signed_in: str, services: FakeServices
) -> None:
    await create(web, signed_in)
    cid = command_id(services)
    csv_file = await web.post(
        "/campaigns/export", data={"_csrf": signed_in, "ids": [str(cid)], "format": "csv"}
    )
    assert csv_file.status_code == 200 and csv_file.headers["content-type"].startswith("text/csv")
    text = csv_file.content.decode("utf-8-sig")
    assert text.startswith("Номер,Дата создания,Название") and "Акция июнь" in text
    xlsx = await web.post(
        "/campaigns/export", data={"_csrf": signed_in, "ids": [str(cid)], "format": "xlsx"}
    )
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"


async def test_profile_timezone_and_key_rotation(
    web: httpx.AsyncClient, signed_in: str, accounts: AccountStore, account: tuple[Account, str]
) -> None:
    saved = await web.post(
        "/profile/timezone", data={"_csrf": signed_in, "timezone": "Asia/Vladivostok"}
    )
    assert saved.status_code == 200 and "Сохранено" in saved.text
    assert (await accounts.by_id(account[0].id)).timezone == "Asia/Vladivostok"  # type: ignore[union-attr]
    bad = await web.post("/profile/timezone", data={"_csrf": signed_in, "timezone": "Mars/Base"})
    assert bad.status_code == 422
    rotated = await web.post("/profile/rotate-key", data={"_csrf": signed_in})
    assert 'id="new-key"' in rotated.text
    assert await accounts.by_key(account[1]) is None
    # The session that rotated the key goes on with the new one.
    assert (await web.get("/profile")).status_code == 200


async def test_a_key_rotated_elsewhere_signs_the_session_out(
    web: httpx.AsyncClient, signed_in: str, accounts: AccountStore, account: tuple[Account, str]
) -> None:
    assert (await web.get("/profile")).status_code == 200
    new_key = await accounts.rotate_key(account[0].id)  # as the API or another browser would

    answer = await web.get("/profile")
    assert answer.status_code == 303 and answer.headers["location"] == "/"
    assert (await web.get("/campaigns/new")).status_code == 303  # the session is cleared
    page = await web.get("/")
    back = await web.post("/sign-in", data={"_csrf": csrf_of(page.text), "api_key": new_key})
    assert back.status_code == 303
    assert (await web.get("/profile")).status_code == 200


async def test_stop_list_add_and_remove(web: httpx.AsyncClient, signed_in: str) -> None:
    added = await web.post(
        "/stop-list/add", data={"_csrf": signed_in, "phones_text": "+79991112233\nплохой"}
    )
    assert added.status_code == 200 and "+79991112233" in added.text and "плохой" in added.text
    removed = await web.post(
        "/stop-list/remove", data={"_csrf": signed_in, "phone": "+79991112233"}
    )
    assert '<td class="phone">+79991112233' not in removed.text


async def test_moderator_approves_from_the_queue(
    web: httpx.AsyncClient, signed_in: str, services: FakeServices
) -> None:
    await create(web, signed_in)
    cid = command_id(services)
    services.clarify(cid)
    await web.post("/sign-out", data={"_csrf": signed_in})
    page = await web.get("/")
    admin = await web.post("/sign-in", data={"_csrf": csrf_of(page.text), "api_key": ADMIN})
    assert admin.headers["location"] == "/moderation"
    queue = await web.get("/moderation")
    assert f'id="mod-{cid}"' in queue.text and "Акция июнь" in queue.text
    token = csrf_of(queue.text)
    refused = await web.post(
        f"/moderation/{cid}/reject", data={"reason": ""}, headers={**HTMX, "X-CSRF-Token": token}
    )
    assert "Укажите причину" in refused.text
    approved = await web.post(f"/moderation/{cid}/approve", headers={**HTMX, "X-CSRF-Token": token})
    assert approved.status_code == 200
    assert services.campaigns[cid][0].status is Status.ACCEPTED


async def test_english_switch(web: httpx.AsyncClient, signed_in: str) -> None:
    switched = await web.get("/lang/en", params={"next": "/"})
    assert switched.status_code == 303 and switched.headers["location"] == "/"
    home = await web.get("/")
    assert "Select all" in home.text and "Выделить все" not in home.text
    evil = await web.get("/lang/ru", params={"next": "//evil.example/"})
    assert evil.headers["location"] == "/"


@pytest.mark.parametrize(
    "path", ["/static/web/htmx.min.js", "/static/web/chart.umd.min.js", "/static/web/app.css"]
)
async def test_vendored_assets_are_served(web: httpx.AsyncClient, path: str) -> None:
    answer = await web.get(path)
    assert answer.status_code == 200 and len(answer.content) > 1000


def tiny_wav() -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(b"\x00\x00" * 8000)
    return buffer.getvalue()


async def test_create_with_an_uploaded_audio_file_and_a_phone_file(
    web: httpx.AsyncClient, signed_in: str, services: FakeServices
) -> None:
    data = {"_csrf": signed_in, **FORM, "audio_kind": "file", "phones_text": ""}
    files = {
        "audio_file": ("привет.wav", tiny_wav(), "audio/wav"),
        "phones_file": ("base.csv", "телефон\n+79161112233\nabc\n".encode(), "text/csv"),
    }
    answer = await web.post("/campaigns/new", data=data, files=files, follow_redirects=True)
    assert answer.status_code == 200, answer.text
    assert "abc" in answer.text
    command = next(c for c in services.commands if isinstance(c, CreateCampaign))
    assert isinstance(command.options.audio, FileAudio)
    assert command.options.audio.file_id.startswith("upload/")
    assert command.phones.count == 1


async def test_a_file_that_is_not_audio_is_refused_next_to_its_field(
    web: httpx.AsyncClient, signed_in: str, services: FakeServices
) -> None:
    data = {"_csrf": signed_in, **FORM, "audio_kind": "file"}
    files = {"audio_file": ("notes.wav", b"this is text, not sound", "audio/wav")}
    answer = await web.post("/campaigns/new", data=data, files=files)
    assert answer.status_code == 422 and 'data-field="audio.file_id"' in answer.text
    assert not [c for c in services.commands if isinstance(c, CreateCampaign)]
