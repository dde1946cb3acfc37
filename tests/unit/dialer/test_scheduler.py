"""The scheduler and the dialling steps on a real SQLite store with fakes for the ports
(campaign commands, blobs, synthesizer, webhooks) and a wall clock the test moves."""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from zvonar_contracts import campaign_events as ev
from zvonar_contracts import commands as cmd
from zvonar_contracts.call_events import CallCompleted
from zvonar_contracts.codec import decode
from zvonar_contracts.dialer import GetPlacement
from zvonar_contracts.options import (
    WEEKDAYS,
    CallingWindow,
    CampaignOptions,
    PhoneBaseRef,
    SmartOptions,
    Status,
    TtsAudio,
)
from zvonar_dialer.adapters import schema, store
from zvonar_dialer.adapters.audio import pcm_to_wav
from zvonar_dialer.adapters.simulated_carrier import SimulatedCarrier
from zvonar_dialer.domain.clock import DialerClock
from zvonar_dialer.domain.tariff import load_tariff
from zvonar_dialer.service_layer import campaign_events
from zvonar_dialer.service_layer.deps import Deps
from zvonar_dialer.service_layer.dialling import request_of
from zvonar_dialer.service_layer.recovery import resolve_placing
from zvonar_dialer.service_layer.requests import placement
from zvonar_dialer.service_layer.scheduler import Scheduler
from zvonar_runtime.db import Cursor, Database

ORIGIN = dt.datetime(2026, 6, 17, 9, 0, tzinfo=dt.UTC)
CID = 1000001


class Wall:
    def __init__(self) -> None:
        self.now = ORIGIN

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


class FakeCommands:
    def __init__(self) -> None:
        self.sent: list[cmd.CampaignCommand] = []
        self.position = 1000

    async def send(self, command: cmd.CampaignCommand) -> cmd.CommandReply | None:
        self.sent.append(command)
        self.position += 1
        return cmd.CommandOk(position=self.position)

    def kinds(self) -> list[str]:
        return [type(c).__name__ for c in self.sent]


class FakeBlobs:
    def __init__(self) -> None:
        self.objects: dict[tuple[str, str], bytes] = {}

    async def get(self, bucket: str, name: str) -> bytes:
        return self.objects[(bucket, name)]

    async def put(self, bucket: str, name: str, data: bytes) -> None:
        self.objects[(bucket, name)] = data


class SilentSynthesizer:
    def synthesize(self, text: str, voice: str = "ru") -> bytes:
        return pcm_to_wav(b"\x00\x00" * 16000 * 2, 16000)  # two seconds


class FakeWebhooks:
    def __init__(self) -> None:
        self.posts: list[tuple[str, str, bytes]] = []

    def submit(self, url: str, secret: str, payload: bytes) -> None:
        self.posts.append((url, secret, payload))


class FakeSecrets:
    """Sealed webhook secrets by reference."""

    def __init__(self) -> None:
        self.sealed: dict[str, str] = {}

    async def get(self, ref: str) -> str:
        if ref not in self.sealed:
            raise LookupError(ref)
        return self.sealed[ref]


@pytest.fixture
def wall() -> Wall:
    return Wall()


@pytest.fixture
def deps(tmp_path: Path, wall: Wall) -> Iterator[Deps]:
    db = Database.from_settings(None, tmp_path / "dialer.sqlite3", "dialer")
    db.run_sync(schema.create_schema)
    yield Deps(
        db=db,
        clock=DialerClock(ORIGIN, 60.0, wall),
        commands=FakeCommands(),
        blobs=FakeBlobs(),
        telephony=SimulatedCarrier(db),
        synthesizer=SilentSynthesizer(),
        tariff=load_tariff(),
        webhooks=FakeWebhooks(),
        secrets=FakeSecrets(),
        caller_pool=["+74950000001", "+74950000002"],
    )
    db.close()


_sequence = iter(range(1, 1_000_000))


async def feed(deps: Deps, event: Any, position: int | None = None) -> bool:
    return await deps.db.run(campaign_events.handle(event, next(_sequence), position))


async def create(deps: Deps, phones: list[str], campaign_id: int = CID, **options: Any) -> None:
    base = "".join(f"{p}\n" for p in phones).encode()
    digest = hashlib.sha256(base).hexdigest()
    await deps.blobs.put("phone-bases", digest, base)
    ref = PhoneBaseRef(bucket="phone-bases", name=digest, count=len(phones), sha256=digest)
    opts = CampaignOptions(name="c", audio=TtsAudio(text="Здравствуйте"), **options)
    common: dict[str, Any] = {"campaign_id": campaign_id, "account_id": "acc", "at": ORIGIN}
    await feed(deps, ev.CampaignCreated(**common, options=opts, phones=ref, account_tz="UTC"), 1)
    status = Status.SCHEDULED if opts.start_at else Status.ACCEPTED
    await feed(
        deps,
        ev.CampaignModerated(**common, decision="accepted", decided_by="rules", status=status),
        2,
    )


def count(state: str, campaign_id: int = CID) -> Any:
    def work(cur: Cursor) -> int:
        cur.execute(
            "SELECT COUNT(*) FROM numbers WHERE campaign_id = ? AND state = ?",
            (campaign_id, state),
        )
        return int(cur.fetchone()[0])

    return work


def outbox_events(cur: Cursor) -> list[CallCompleted]:
    return [decode(row.payload, CallCompleted) for row in store.outbox_pending(cur, 10_000)]


PHONES = [f"+7916000{n:04d}" for n in range(100)]


async def test_an_accepted_campaign_is_prepared_and_started_at_once(deps: Deps) -> None:
    await create(deps, PHONES, speed=3600)
    scheduler = Scheduler(deps)

    await scheduler.pass_once()  # prepare: base and message
    await scheduler.pass_once()  # start

    commands = deps.commands.sent  # type: ignore[attr-defined]
    assert [type(c) for c in commands] == [cmd.StartCampaign]
    assert commands[0].started_at == deps.clock.now()
    assert await deps.db.run(count("queued")) == 100
    assert ("audio", f"campaign/{CID}/message.wav") in deps.blobs.objects  # type: ignore[attr-defined]


async def test_a_scheduled_campaign_starts_at_its_start_time_never_before(
    deps: Deps, wall: Wall
) -> None:
    await create(deps, PHONES, start_at=ORIGIN + dt.timedelta(hours=1))
    scheduler = Scheduler(deps)
    await scheduler.pass_once()

    wall.advance(59)  # 59 dialer minutes at scale 60
    await scheduler.pass_once()
    assert deps.commands.sent == []  # type: ignore[attr-defined]

    wall.advance(1)
    await scheduler.pass_once()
    assert deps.commands.kinds() == ["StartCampaign"]  # type: ignore[attr-defined]


async def test_calls_are_paced_by_speed_on_the_dialer_clock(deps: Deps, wall: Wall) -> None:
    await create(deps, PHONES, speed=360)  # one call every ten dialer seconds
    scheduler = Scheduler(deps)
    await scheduler.pass_once()
    await scheduler.pass_once()
    await scheduler.pass_once()
    assert await deps.db.run(count("done")) == 1  # the first slot is due at the start

    for _ in range(17):  # 102 dialer seconds, in passes six dialer seconds apart
        wall.advance(0.1)
        await scheduler.pass_once()

    assert await deps.db.run(count("done")) == 11
    events = await deps.db.run(outbox_events)
    starts = sorted(e.started_at for e in events)
    assert {b - a for a, b in itertools.pairwise(starts)} == {dt.timedelta(seconds=10)}


async def test_the_consumer_skips_an_event_it_has_already_applied(deps: Deps) -> None:
    await create(deps, PHONES)
    paused = ev.CampaignPaused(campaign_id=CID, account_id="acc", at=ORIGIN, paused_by="customer")

    assert await deps.db.run(campaign_events.handle(paused, 10_000_000, 3))
    assert not await deps.db.run(campaign_events.handle(paused, 10_000_000, 3))
    assert await deps.db.run(lambda cur: store.campaign_status(cur, CID)) == Status.PAUSED


async def test_a_stop_listed_number_is_reported_at_its_turn_and_never_dialled(
    deps: Deps, wall: Wall
) -> None:
    await feed(deps, ev.StopListPhonesAdded(account_id="acc", at=ORIGIN, phones=[PHONES[1]]))
    await create(deps, PHONES[:3], speed=100_000)
    scheduler = Scheduler(deps)
    for _ in range(4):
        await scheduler.pass_once()
        wall.advance(1)

    events = {e.phone: e for e in await deps.db.run(outbox_events)}
    assert events[PHONES[1]].outcome == "stop_listed"
    assert await deps.telephony.result_of(events[PHONES[1]].call_id) is None
    assert await deps.telephony.result_of(events[PHONES[0]].call_id) is not None


async def test_after_a_crash_placed_calls_are_resolved_without_ringing_twice(
    deps: Deps,
) -> None:
    await create(deps, PHONES[:4], speed=100_000)
    scheduler = Scheduler(deps)
    await scheduler.pass_once()
    await scheduler.pass_once()  # started; the next pass would dial

    def crash_after_claim(cur: Cursor) -> list[store.PlacedCall]:
        calls = [
            store.PlacedCall(CID, 0, seq, phone, f"{CID}-0-{phone[1:]}-1", ORIGIN, None)
            for seq, phone in enumerate(PHONES[:4])
        ]
        store.mark_placing(cur, calls)
        return calls

    calls = await deps.db.run(crash_after_claim)
    carrier: SimulatedCarrier = deps.telephony  # type: ignore[assignment]
    campaign = await deps.db.run(lambda cur: store.load_campaign(cur, CID))
    assert campaign is not None
    await carrier.place_call(request_of(campaign, calls[0]))  # rung before the crash
    rung_before = carrier.rung

    assert await resolve_placing(deps) == 4

    assert carrier.rung - rung_before == 3
    assert await carrier.calls_recorded() == 4
    assert await deps.db.run(count("done")) == 4
    assert len(await deps.db.run(outbox_events)) == 4


async def test_answered_calls_are_charged_and_unanswered_ones_are_free(
    deps: Deps, wall: Wall
) -> None:
    await create(deps, ["+79160000000", "+79160000006"], speed=100_000)
    scheduler = Scheduler(deps)
    for _ in range(3):
        await scheduler.pass_once()
        wall.advance(1)

    events = {e.phone[-1]: e for e in await deps.db.run(outbox_events)}
    assert events["0"].outcome == "answered"
    assert events["0"].billed_s == 60 and str(events["0"].cost) == "1.80"
    assert events["6"].outcome == "no_answer" and str(events["6"].cost) == "0.00"
    assert {e.caller_number for e in events.values()} == {"+74950000001", "+74950000002"}


async def test_a_pass_after_a_long_stall_does_not_fire_the_calls_it_missed(
    deps: Deps, wall: Wall
) -> None:
    await create(deps, PHONES, speed=3600)
    scheduler = Scheduler(deps)
    for _ in range(3):
        await scheduler.pass_once()

    wall.advance(60)  # an hour of dialer time with no pass at all
    await scheduler.pass_once()

    # Only the last wall second's worth (sixty dialer seconds) is placed, not 3,600 calls.
    assert await deps.db.run(count("done")) == 1 + 61


async def test_campaigns_run_at_once_each_at_its_own_speed(deps: Deps, wall: Wall) -> None:
    await create(deps, PHONES, campaign_id=CID, speed=360)
    await create(deps, PHONES, campaign_id=CID + 1, speed=720)
    scheduler = Scheduler(deps)
    for _ in range(3):
        await scheduler.pass_once()
    for _ in range(17):  # 102 dialer seconds
        wall.advance(0.1)
        await scheduler.pass_once()

    assert await deps.db.run(count("done", CID)) == 11
    assert await deps.db.run(count("done", CID + 1)) == 21


async def test_with_callee_time_a_number_whose_window_is_closed_waits(
    deps: Deps, wall: Wall
) -> None:
    moscow, vladivostok = "+74951234567", "+74232123456"  # 12:00 and 19:00 at 09:00 UTC
    window = CallingWindow(days=list(WEEKDAYS), from_="09:00", to="18:00", tz="callee")  # type: ignore[arg-type]
    await create(deps, [vladivostok, moscow], speed=3600, window=window)
    scheduler = Scheduler(deps)
    for _ in range(6):
        await scheduler.pass_once()
        wall.advance(0.1)

    events = await deps.db.run(outbox_events)
    assert [e.phone for e in events] == [moscow]
    out = [c for c in deps.commands.sent if isinstance(c, cmd.MarkOutOfWindow)]  # type: ignore[attr-defined]
    assert [c.reopens_at for c in out] == [dt.datetime(2026, 6, 17, 23, 0, tzinfo=dt.UTC)]
    assert await deps.db.run(lambda cur: store.campaign_status(cur, CID)) == Status.PAUSED_WINDOW

    wall.advance(14 * 60)  # 23:00 UTC: nine in the morning in Vladivostok
    for _ in range(3):
        await scheduler.pass_once()
        wall.advance(0.1)

    assert [e.phone for e in await deps.db.run(outbox_events)] == [moscow, vladivostok]
    resumed = [c for c in deps.commands.sent if isinstance(c, cmd.ResumeCampaign)]  # type: ignore[attr-defined]
    assert [c.status for c in resumed] == [Status.IN_PROGRESS]


async def test_a_phone_base_that_does_not_match_its_checksum_fails_the_campaign(
    deps: Deps,
) -> None:
    await create(deps, PHONES[:2])
    blobs: FakeBlobs = deps.blobs  # type: ignore[assignment]
    for key in [k for k in blobs.objects if k[0] == "phone-bases"]:
        blobs.objects[key] = b"+79990000000\n"  # tampered with

    await Scheduler(deps).pass_once()

    failures = [c for c in deps.commands.sent if isinstance(c, cmd.FailCampaign)]  # type: ignore[attr-defined]
    assert len(failures) == 1 and "checksum" in failures[0].reason
    assert await deps.db.run(lambda cur: store.campaign_status(cur, CID)) == Status.ERROR
    assert await deps.db.run(count("queued")) == 0


async def test_placement_says_scheduled_while_the_start_time_is_ahead(
    deps: Deps, wall: Wall
) -> None:
    await create(deps, PHONES[:2], start_at=ORIGIN + dt.timedelta(hours=2))

    assert (await placement(deps, GetPlacement(campaign_id=CID))).status == Status.SCHEDULED
    wall.advance(121)
    assert (await placement(deps, GetPlacement(campaign_id=CID))).status == Status.IN_PROGRESS


async def run_passes(scheduler: Scheduler, wall: Wall, passes: int, step: float = 0.1) -> None:
    for _ in range(passes):
        await scheduler.pass_once()
        wall.advance(step)


TEN = [f"+7916000000{d}" for d in range(10)]


async def test_cancel_last_drops_only_the_last_part(deps: Deps, wall: Wall) -> None:
    await create(deps, TEN, speed=100_000, smart=SmartOptions(parts=2, delay_minutes=10))
    scheduler = Scheduler(deps)
    await run_passes(scheduler, wall, 5)
    cancelled = ev.SmartPartsCancelled(campaign_id=CID, account_id="acc", at=ORIGIN, parts=[2])
    await feed(deps, cancelled, 5000)

    await run_passes(scheduler, wall, 30, step=1.0)

    kinds = [k for k in deps.commands.kinds() if k != "ReportIdle"]  # type: ignore[attr-defined]
    assert kinds == ["StartCampaign", "StartSmartPart", "FinishSmartPart", "FinishCampaign"]
    events = await deps.db.run(outbox_events)
    assert sorted(e.phone for e in events if e.part == 1) == [TEN[6], TEN[7]]
    assert not [e for e in events if e.part == 2]


async def test_a_part_cancelled_while_it_dials_calls_nobody_more(deps: Deps, wall: Wall) -> None:
    phones = [f"+791600000{n:02d}" for n in range(30)]  # part 1: the six ending in 6 or 7
    await create(deps, phones, speed=360, smart=SmartOptions(parts=1))  # a call per 10 s
    scheduler = Scheduler(deps)

    async def part_one_calls() -> int:
        return len([e for e in await deps.db.run(outbox_events) if e.part == 1])

    for _ in range(200):
        await run_passes(scheduler, wall, 1)
        if await part_one_calls():
            break
    cancelled = ev.SmartPartsCancelled(campaign_id=CID, account_id="acc", at=ORIGIN, parts=[1])
    await feed(deps, cancelled, 5000)
    await run_passes(scheduler, wall, 10)

    assert await part_one_calls() == 1
    assert await deps.db.run(count("cancelled")) == 5
    assert deps.commands.kinds()[-1] == "FinishCampaign"  # type: ignore[attr-defined]
    assert "FinishSmartPart" not in deps.commands.kinds()  # type: ignore[attr-defined]
