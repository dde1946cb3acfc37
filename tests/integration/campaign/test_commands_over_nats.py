"""Every command over NATS request-reply, on SQLite and on PostgreSQL (one abstract suite,
one subclass per backend): the replies, the stored events, and the events the relay put in
CAMPAIGN_EVENTS — in log order, each exactly once, with position and correlation headers."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from zvonar_campaign.domain.ids import campaign_uuid
from zvonar_campaign.domain.wire import to_wire
from zvonar_contracts import commands as c
from zvonar_contracts import subjects
from zvonar_contracts.campaign_events import StopListEventBase
from zvonar_contracts.codec import decode_campaign_stream_event, decode_command_reply, type_name
from zvonar_contracts.commands import CommandError, CommandOk
from zvonar_contracts.options import (
    CallerIdRouting,
    CampaignOptions,
    PhoneBaseRef,
    SmartOptions,
    Status,
    TtsAudio,
)

pytestmark = pytest.mark.integration

ACCOUNT = "acc_0001"
PHONES = PhoneBaseRef(bucket="phone-bases", name="b" * 64, count=3, sha256="b" * 64)
START_AT = dt.datetime(2026, 6, 18, 7, 0, tzinfo=dt.UTC)  # ahead of the dialer's clock


def create(
    name: str = "Акция", key: str | None = None, request_hash: str = "h1", **changes: Any
) -> c.CreateCampaign:
    options: dict[str, Any] = {"name": name, "audio": TtsAudio(text="Здравствуйте")}
    options.update(changes)
    return c.CreateCampaign(
        account_id=ACCOUNT,
        account_tz="Europe/Moscow",
        options=CampaignOptions(**options),
        phones=PHONES,
        idempotency_key=key,
        request_hash=request_hash,
    )


def ok(reply: Any) -> CommandOk:
    assert isinstance(reply, CommandOk), reply
    return reply


def refused(reply: Any, code: str) -> CommandError:
    assert isinstance(reply, CommandError), reply
    assert reply.code == code, reply
    return reply


class CommandsOverNats:
    """The suite; a subclass names the backend through the `database_url` fixture."""

    @pytest.fixture
    def database_url(self) -> str | None:
        raise NotImplementedError

    @pytest.fixture
    async def service(
        self, campaign_service: Any, database_url: str | None, tmp_path: Path, dialer_clock: Any
    ) -> Any:
        async with campaign_service(database_url, tmp_path / "campaign.sqlite3") as running:
            yield running

    async def test_a_campaign_lives_its_whole_life_through_commands(self, service: Any) -> None:
        send = service.send
        first = ok(
            await send(
                create(
                    key="k1",
                    start_at=START_AT,
                    smart=SmartOptions(parts=2),
                    routing=CallerIdRouting(number="+79161234567"),
                ),
                correlation_id="corr-create",
            )
        )
        assert first.campaign is not None
        cid = first.campaign.campaign_id
        assert (cid, first.campaign.status, first.position) == (1_000_001, Status.MODERATION, 1)

        replay = ok(
            await send(
                create(
                    key="k1",
                    start_at=START_AT,
                    smart=SmartOptions(parts=2),
                    routing=CallerIdRouting(number="+79161234567"),
                )
            )
        )
        assert replay.campaign is not None and replay.campaign.replayed
        assert replay.campaign.campaign_id == cid
        refused(await send(create(key="k1", request_hash="other")), "conflict")

        accepted = ok(
            await send(
                c.ModerateCampaign(
                    account_id=ACCOUNT, campaign_id=cid, decision="accepted", decided_by="rules"
                )
            )
        )
        assert accepted.campaign is not None
        assert accepted.campaign.status is Status.SCHEDULED  # start_at is ahead of the dialer
        for command, status in [
            (
                c.StartCampaign(account_id=ACCOUNT, campaign_id=cid, started_at=START_AT),
                Status.IN_PROGRESS,
            ),
            (c.PauseCampaign(campaign_id=cid, account_id=ACCOUNT), Status.PAUSED),
            # The customer's resume: the start time is still ahead of the dialer's clock.
            (c.ResumeCampaign(campaign_id=cid, account_id=ACCOUNT), Status.SCHEDULED),
            (
                c.StartCampaign(account_id=ACCOUNT, campaign_id=cid, started_at=START_AT),
                Status.IN_PROGRESS,
            ),
            (
                c.MarkOutOfWindow(account_id=ACCOUNT, campaign_id=cid, reopens_at=START_AT),
                Status.PAUSED_WINDOW,
            ),
            (
                c.ResumeCampaign(account_id=ACCOUNT, campaign_id=cid, status=Status.IN_PROGRESS),
                Status.IN_PROGRESS,
            ),
            (
                c.ReportIdle(account_id=ACCOUNT, campaign_id=cid, reason="smart_part_delay"),
                Status.IN_PROGRESS,
            ),
            (c.SetComment(campaign_id=cid, account_id=ACCOUNT, text="звонить"), Status.IN_PROGRESS),
            (c.ReleaseNumber(campaign_id=cid, account_id=ACCOUNT), Status.IN_PROGRESS),
        ]:
            reply = ok(await send(command))
            assert reply.campaign is not None and reply.campaign.status is status, command

        refused(
            await send(c.SetComment(account_id=ACCOUNT, campaign_id=cid, text="x" * 1001)),
            "validation",
        )
        refused(
            await send(c.ReleaseNumber(account_id=ACCOUNT, campaign_id=cid)), "invalid_transition"
        )
        refused(await send(c.PauseCampaign(campaign_id=cid, account_id="acc_other")), "not_found")
        refused(await send(c.PauseCampaign(account_id=ACCOUNT, campaign_id=999)), "not_found")

        part = ok(
            await send(c.StartSmartPart(account_id=ACCOUNT, campaign_id=cid, part=1, phone_count=2))
        )
        again = ok(
            await send(c.StartSmartPart(account_id=ACCOUNT, campaign_id=cid, part=1, phone_count=2))
        )
        assert part.campaign is not None and again.campaign is not None
        assert part.campaign.part_campaign_id == again.campaign.part_campaign_id == cid + 1
        assert again.position == part.position  # a retry stores nothing
        ok(await send(c.FinishSmartPart(account_id=ACCOUNT, campaign_id=cid, part=1)))
        ok(await send(c.CancelLastSmartPart(campaign_id=cid, account_id=ACCOUNT)))
        refused(
            await send(c.CancelAllSmartParts(account_id=ACCOUNT, campaign_id=cid)),
            "invalid_transition",
        )
        finished = ok(await send(c.FinishCampaign(account_id=ACCOUNT, campaign_id=cid)))
        assert finished.campaign is not None and finished.campaign.status is Status.FINISHED
        before = finished.position
        refused(
            await send(c.PauseCampaign(account_id=ACCOUNT, campaign_id=cid)), "invalid_transition"
        )

        copy = ok(
            await send(
                c.CopyCampaign(campaign_id=cid, account_id=ACCOUNT, account_tz="Europe/Moscow")
            )
        )
        assert copy.campaign is not None
        assert (copy.campaign.campaign_id, copy.campaign.status) == (cid + 2, Status.MODERATION)
        assert copy.position == before + 2  # the new campaign's Created and the source's Copied

        await self._other_commands(service)
        await self._check_the_stream(service)

    async def test_a_command_without_an_account_is_refused_and_changes_nothing(
        self, service: Any
    ) -> None:
        send = service.send
        created = ok(await send(create("Чужая"))).campaign
        assert created is not None
        cid = created.campaign_id
        ok(
            await send(
                c.ModerateCampaign(
                    account_id=ACCOUNT, campaign_id=cid, decision="accepted", decided_by="rules"
                )
            )
        )
        started = ok(
            await send(c.StartCampaign(account_id=ACCOUNT, campaign_id=cid, started_at=START_AT))
        )
        # What a system command looked like before: no account, so no ownership check.
        for body in (
            f'{{"campaign_id": {cid}}}',
            f'{{"campaign_id": {cid}, "account_id": null}}',
            f'{{"campaign_id": {cid}, "account_id": ""}}',
        ):
            for kind in ("PauseCampaign", "StopCampaign", "FinishCampaign"):
                msg = await service.nc.request(
                    subjects.campaign_command_subject(kind), body.encode(), timeout=5
                )
                reply = refused(decode_command_reply(msg.data), "validation")
                assert "account_id" in reply.message, reply
        stopped = [
            b'{"phones": ["+79161234567"]}',
            b'{"phones": ["+79161234567"], "account_id": ""}',
        ]
        for raw in stopped:
            msg = await service.nc.request(
                subjects.campaign_command_subject("AddToStopList"), raw, timeout=5
            )
            refused(decode_command_reply(msg.data), "validation")
        # Another account's command on it is as if it did not exist.
        refused(await send(c.StopCampaign(account_id="acc_other", campaign_id=cid)), "not_found")
        app = service.store.app
        assert app.max_position() == started.position
        events = list(app.events.get(campaign_uuid(cid)))
        assert [type(e).__name__ for e in events][-1] == "Started"

    async def test_one_instance_holds_a_campaigns_commands_in_line(self, service: Any) -> None:
        # 30 changes of one campaign at once reach one instance: they wait for each other
        # instead of all loading one version and racing to save it (which, on a busy machine,
        # ran out of retries and answered `conflict`).
        target = ok(await service.send(create("В очередь"))).campaign.campaign_id  # type: ignore[union-attr]
        comments = [
            c.SetComment(account_id=ACCOUNT, campaign_id=target, text=f"#{i}") for i in range(30)
        ]
        replies = await asyncio.gather(*(service.send(cmd) for cmd in comments))
        assert len({ok(reply).position for reply in replies}) == 30
        assert service.deps.lost_races == 0

    async def test_two_instances_share_commands_without_losing_an_event(
        self, service: Any, campaign_service: Any, database_url: str | None, tmp_path: Path
    ) -> None:
        second = campaign_service(database_url, tmp_path / "campaign.sqlite3", relay=False)
        async with second:
            created = await asyncio.gather(*(service.send(create(f"n{i}")) for i in range(20)))
            numbers = [ok(reply).campaign.campaign_id for reply in created]  # type: ignore[union-attr]
            assert sorted(numbers) == list(range(1_000_001, 1_000_021))
            target = numbers[0]
            # Both instances answer the queue group; races on one campaign are retried.
            comments = [
                c.SetComment(account_id=ACCOUNT, campaign_id=target, text=f"#{i}")
                for i in range(30)
            ]
            replies = await asyncio.gather(*(service.send(cmd) for cmd in comments))
            positions = [ok(reply).position for reply in replies]
            assert len(set(positions)) == 30
        app = service.store.app
        events = list(app.events.get(campaign_uuid(target)))
        assert [type(e).__name__ for e in events] == ["Created"] + ["CommentChanged"] * 30

    async def _other_commands(self, service: Any) -> None:
        send = service.send
        unclear = ok(await send(create("Займы"))).campaign
        assert unclear is not None
        n = unclear.campaign_id
        clarify = c.ModerateCampaign(
            account_id=ACCOUNT, campaign_id=n, decision="clarification", decided_by="rules"
        )
        assert ok(await send(clarify)).campaign.status is Status.CLARIFICATION  # type: ignore[union-attr]
        reject = c.ModerateCampaign(
            account_id=ACCOUNT,
            campaign_id=n,
            decision="rejected",
            decided_by="moderator",
            reason="кредиты",
        )
        assert ok(await send(reject)).campaign.status is Status.REJECTED  # type: ignore[union-attr]
        failing = ok(await send(create("Ошибка"))).campaign
        assert failing is not None
        failed = ok(
            await send(
                c.FailCampaign(account_id=ACCOUNT, campaign_id=failing.campaign_id, reason="tts")
            )
        )
        assert failed.campaign is not None and failed.campaign.status is Status.ERROR
        running = ok(await send(create("Идёт"))).campaign
        assert running is not None
        stopped = ok(
            await send(c.StopCampaign(account_id=ACCOUNT, campaign_id=running.campaign_id))
        )
        assert stopped.campaign is not None and stopped.campaign.status is Status.STOPPED
        live = ok(await send(create("Удалить"))).campaign
        assert live is not None

        doomed = [n, live.campaign_id, 42]
        deleted = ok(await send(c.DeleteCampaigns(account_id=ACCOUNT, campaign_ids=doomed)))
        assert deleted.deleted == [n, live.campaign_id]
        refused(
            await send(c.SetComment(account_id=ACCOUNT, campaign_id=n, text="gone")), "not_found"
        )
        nothing = ok(await send(c.DeleteCampaigns(account_id=ACCOUNT, campaign_ids=[n])))
        assert nothing.deleted == [] and nothing.position == deleted.position

        ok(await send(c.AddToStopList(account_id=ACCOUNT, phones=["+79161234567"])))
        ok(await send(c.RemoveFromStopList(account_id=ACCOUNT, phones=["+79161234567"])))
        refused(await send(create("Плохо", speed=0)), "validation")
        bad = await service.nc.request(
            subjects.campaign_command_subject("PauseCampaign"), b'{"campaign_id": "x"}', timeout=5
        )
        assert b'"validation"' in bad.data

    async def _check_the_stream(self, service: Any) -> None:
        app = service.store.app
        stored = app.recorder.select_notifications(start=None, limit=10_000)
        expected = []
        for notification in stored:
            event = to_wire(app.mapper.to_domain_event(notification))
            if event is None:
                continue
            if isinstance(event, StopListEventBase):
                subject = subjects.stop_list_event_subject(event.account_id, type_name(event))
            else:
                subject = subjects.campaign_event_subject(event.campaign_id, type_name(event))
            expected.append((f"cl-{notification.id}", subject, event))
        assert len(expected) >= 30

        async def everything_relayed() -> list[Any]:
            messages = await self.read_stream()
            return messages if len(messages) >= len(expected) else []

        messages = await self.wait_for(everything_relayed)
        got = [
            (
                m.headers[subjects.MSG_ID_HEADER],
                m.subject,
                decode_campaign_stream_event(m.data),
            )
            for m in messages
        ]
        assert got == expected  # in log order, each once
        positions = [int(m.headers[subjects.POSITION_HEADER]) for m in messages]
        assert positions == sorted(set(positions))
        assert messages[0].headers[subjects.CORRELATION_HEADER] == "corr-create"
        assert await service.store.tables.relay_position() == stored[-1].id

    @pytest.fixture(autouse=True)
    def _helpers(
        self, read_stream: Callable[..., Awaitable[Any]], wait_for: Callable[..., Awaitable[Any]]
    ) -> None:
        self.read_stream = read_stream
        self.wait_for = wait_for


class TestOnSqlite(CommandsOverNats):
    @pytest.fixture
    def database_url(self) -> str | None:
        return None


@pytest.mark.postgres
class TestOnPostgres(CommandsOverNats):
    @pytest.fixture
    def database_url(self, pg_url: str) -> str | None:
        return pg_url


@pytest.mark.postgres
async def test_on_postgres_a_relay_elsewhere_wakes_on_notify_not_on_its_poll(
    campaign_service: Any,
    pg_url: str,
    tmp_path: Path,
    dialer_clock: Any,
    read_stream: Callable[..., Awaitable[Any]],
    wait_for: Callable[..., Awaitable[Any]],
) -> None:
    unused = tmp_path / "unused.sqlite3"
    # The relay polls once a minute; only the NOTIFY of the insert can wake it in time.
    async with campaign_service(pg_url, unused, poll_interval=60.0) as relay_side:
        async with campaign_service(pg_url, unused, relay=False) as commands:

            async def listening() -> bool:
                return bool(relay_side.relay.nudges > 0)  # the listener nudges once it listens

            await wait_for(listening)
            reply = ok(await commands.send(create("Слушатель")))

            async def relayed() -> list[Any]:
                messages: list[Any] = await read_stream()
                return messages

            (msg,) = await wait_for(relayed, timeout=5)
            assert msg.headers[subjects.POSITION_HEADER] == str(reply.position)
