"""The scheduler and the dialling steps of a dialer built by `bootstrap` on a real SQLite
store, with fakes for the NATS ports (campaign commands, blobs, secrets, the outbox's
publisher), a silent synthesizer and a wall clock the test moves."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import itertools
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from zvonar_contracts import campaign_events as ev
from zvonar_contracts import commands as cmd
from zvonar_contracts.call_events import CallCompleted
from zvonar_contracts.codec import decode, encode
from zvonar_contracts.limits import MAX_REASON
from zvonar_contracts.options import (
    WEEKDAYS,
    CallingWindow,
    CampaignOptions,
    FileAudio,
    PhoneBaseRef,
    SmartOptions,
    Status,
    TtsAudio,
)
from zvonar_contracts.subjects import uploaded_audio_object
from zvonar_dialer.adapters import store
from zvonar_dialer.adapters.audio import pcm_to_wav, wav_duration
from zvonar_dialer.adapters.simulated_carrier import SimulatedCarrier
from zvonar_dialer.adapters.store import SqlTx
from zvonar_dialer.bootstrap import bootstrap
from zvonar_dialer.domain.tariff import billed_seconds
from zvonar_dialer.service_layer import campaign_events
from zvonar_dialer.service_layer.deps import Deps
from zvonar_dialer.service_layer.dialling import claim, request_of
from zvonar_dialer.service_layer.ports import PlacedCall, SynthesisError, Tx
from zvonar_dialer.service_layer.recovery import resolve_placing
from zvonar_dialer.service_layer.scheduler import Scheduler, placement_of
from zvonar_dialer.settings import DialerSettings
from zvonar_runtime.db import Cursor
from zvonar_runtime.settings import SettingsError

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
        self.reads: list[tuple[str, str]] = []

    async def get(self, bucket: str, name: str) -> bytes:
        self.reads.append((bucket, name))
        return self.objects[(bucket, name)]

    async def put(self, bucket: str, name: str, data: bytes) -> None:
        self.objects[(bucket, name)] = data


class SilentSynthesizer:
    def synthesize(self, text: str, voice: str = "ru") -> bytes:
        return pcm_to_wav(b"\x00\x00" * 16000 * 2, 16000)  # two seconds


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


class FakePublisher:
    """JetStream for the outbox (not run by these tests: they read the outbox table)."""

    def __init__(self) -> None:
        self.published: list[tuple[str, bytes]] = []

    async def publish(
        self, subject: str, payload: bytes = b"", *, headers: dict[str, str] | None = None
    ) -> None:
        self.published.append((subject, payload))


@pytest.fixture
async def deps(tmp_path: Path, wall: Wall) -> AsyncIterator[Deps]:
    """The dialer as `bootstrap` wires it, on a SQLite store in `tmp_path`, with fakes for
    the NATS ports and a synthesizer that says two seconds of silence."""
    settings = DialerSettings(
        data_dir=tmp_path,
        time_scale=60.0,
        caller_numbers_list="+74950000001,+74950000002",
    )
    dialer = await bootstrap(
        settings,
        commands=FakeCommands(),
        blobs=FakeBlobs(),
        synthesizer=SilentSynthesizer(),
        secrets=FakeSecrets(),
        publisher=FakePublisher(),
        wall=wall,
    )
    assert dialer.deps.clock.origin == ORIGIN
    yield dialer.deps
    dialer.database.close()


def cursor_of(tx: Tx) -> Cursor:
    """The SQL under the store's port, for reading rows no port method returns."""
    assert isinstance(tx, SqlTx)
    cur: Cursor = tx.cur
    return cur


def status_of(campaign_id: int) -> Callable[[Tx], Status | None]:
    return lambda tx: store.campaign_status(cursor_of(tx), campaign_id)


_sequence = iter(range(1, 1_000_000))


async def feed(deps: Deps, event: Any, position: int | None = None) -> bool:
    return await deps.db.run(campaign_events.handle(event, next(_sequence), position))


async def create(deps: Deps, phones: list[str], campaign_id: int = CID, **options: Any) -> None:
    base = "".join(f"{p}\n" for p in phones).encode()
    digest = hashlib.sha256(base).hexdigest()
    await deps.blobs.put("phone-bases", digest, base)
    ref = PhoneBaseRef(bucket="phone-bases", name=digest, count=len(phones), sha256=digest)
    opts = CampaignOptions(**{"name": "c", "audio": TtsAudio(text="Здравствуйте"), **options})
    common: dict[str, Any] = {"campaign_id": campaign_id, "account_id": "acc", "at": ORIGIN}
    await feed(deps, ev.CampaignCreated(**common, options=opts, phones=ref, account_tz="UTC"), 1)
    status = Status.SCHEDULED if opts.start_at else Status.ACCEPTED
    await feed(
        deps,
        ev.CampaignModerated(**common, decision="accepted", decided_by="rules", status=status),
        2,
    )


def count(state: str, campaign_id: int = CID) -> Callable[[Tx], int]:
    def work(tx: Tx) -> int:
        cur = cursor_of(tx)
        cur.execute(
            "SELECT COUNT(*) FROM numbers WHERE campaign_id = ? AND state = ?",
            (campaign_id, state),
        )
        return int(cur.fetchone()[0])

    return work


def outbox_events(tx: Tx) -> list[CallCompleted]:
    return [
        decode(row.payload, CallCompleted) for row in store.outbox_pending(cursor_of(tx), 10_000)
    ]


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
    assert ("audio", f"acc/campaign/{CID}/message.wav") in deps.blobs.objects  # type: ignore[attr-defined]


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
    assert await deps.db.run(status_of(CID)) == Status.PAUSED


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

    def crash_after_claim(tx: Tx) -> list[PlacedCall]:
        calls = [
            PlacedCall(CID, 0, seq, phone, f"{CID}-0-{phone[1:]}-1", ORIGIN, None)
            for seq, phone in enumerate(PHONES[:4])
        ]
        tx.mark_placing(calls)
        return calls

    calls = await deps.db.run(crash_after_claim)
    carrier: SimulatedCarrier = deps.telephony  # type: ignore[assignment]
    campaign = await deps.db.run(lambda tx: tx.load_campaign(CID))
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


# MPEG-2.5 Layer III, 8 kbit/s, 8 kHz, mono: 72 bytes play 576 samples (72 ms).
LOW_RATE_FRAME = bytes([0xFF, 0xE3, 0x18, 0xC0]) + bytes(68)


async def upload(deps: Deps, content: bytes, account_id: str = "acc") -> FileAudio:
    file_id = "upload/" + hashlib.sha256(content).hexdigest()[:32]
    await deps.blobs.put("audio", uploaded_audio_object(account_id, file_id), content)
    return FileAudio(file_id=file_id)


async def test_an_answered_call_is_billed_for_the_decoded_message(deps: Deps, wall: Wall) -> None:
    """The call plays the message as decoded (90.0 s of MPEG frames) and is billed for it;
    its recording is made from the message decoded at preparation, read back never."""
    audio = await upload(deps, LOW_RATE_FRAME * 1250)  # 1250 × 72 ms = 90 s
    await create(deps, ["+79160000008"], speed=100_000, audio=audio, record=True)
    blobs: FakeBlobs = deps.blobs  # type: ignore[assignment]
    scheduler = Scheduler(deps)
    for _ in range(3):
        await scheduler.pass_once()
        wall.advance(1)

    campaign = await deps.db.run(lambda tx: tx.load_campaign(CID))
    assert campaign is not None and campaign.message_duration_s == 90.0
    [event] = await deps.db.run(outbox_events)
    assert (event.outcome, event.duration_s) == ("answered", 90.0)
    assert event.billed_s == billed_seconds(deps.tariff, 90.0) == 120
    assert str(event.cost) == "4.20"  # 2 min × (1.80 + 0.30 recording)
    assert event.recording is not None
    recording = blobs.objects[("recordings", event.recording)]
    assert wav_duration(recording) == 90.0
    assert [name for bucket, name in blobs.reads if bucket == "audio"] == [
        uploaded_audio_object("acc", audio.file_id)
    ]


async def test_an_upload_whose_header_lies_fails_the_campaign_and_bills_nobody(
    deps: Deps, wall: Wall
) -> None:
    """A 16 KB WAV whose data chunk claims 0xFFFFFF00 bytes: the dialer took the header's
    268,436 s as the message length and billed an answered call 8,053.20 ₽ for it."""
    wav = bytearray(pcm_to_wav(bytes(16000), 8000))
    at = wav.index(b"data")
    wav[at + 4 : at + 8] = (0xFFFFFF00).to_bytes(4, "little")
    await create(deps, ["+79160000008"], speed=100_000, audio=await upload(deps, bytes(wav)))
    scheduler = Scheduler(deps)
    for _ in range(3):
        await scheduler.pass_once()
        wall.advance(1)

    failures = [c for c in deps.commands.sent if isinstance(c, cmd.FailCampaign)]  # type: ignore[attr-defined]
    assert len(failures) == 1 and "claims" in failures[0].reason
    assert await deps.db.run(outbox_events) == []
    assert await deps.db.run(status_of(CID)) == Status.ERROR


async def test_another_accounts_upload_is_not_found_by_the_dialer(deps: Deps) -> None:
    audio = await upload(deps, pcm_to_wav(bytes(16000), 8000), account_id="acc_other")
    await create(deps, PHONES[:1], audio=audio)  # account "acc" names the other's file_id

    await Scheduler(deps).pass_once()

    failures = [c for c in deps.commands.sent if isinstance(c, cmd.FailCampaign)]  # type: ignore[attr-defined]
    assert len(failures) == 1 and "missing" in failures[0].reason


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
    window = CallingWindow(days=list(WEEKDAYS), from_="09:00", to="18:00", tz="callee")
    await create(deps, [vladivostok, moscow], speed=3600, window=window)
    scheduler = Scheduler(deps)
    for _ in range(6):
        await scheduler.pass_once()
        wall.advance(0.1)

    events = await deps.db.run(outbox_events)
    assert [e.phone for e in events] == [moscow]
    out = [c for c in deps.commands.sent if isinstance(c, cmd.MarkOutOfWindow)]  # type: ignore[attr-defined]
    assert [c.reopens_at for c in out] == [dt.datetime(2026, 6, 17, 23, 0, tzinfo=dt.UTC)]
    assert await deps.db.run(status_of(CID)) == Status.PAUSED_WINDOW

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
    assert await deps.db.run(status_of(CID)) == Status.ERROR
    assert await deps.db.run(count("queued")) == 0


async def test_placement_says_scheduled_while_the_start_time_is_ahead(
    deps: Deps, wall: Wall
) -> None:
    await create(deps, PHONES[:2], start_at=ORIGIN + dt.timedelta(hours=2))

    def placed(tx: Tx) -> Status:
        return placement_of(tx, CID, deps.clock.now())

    assert await deps.db.run(placed) == Status.SCHEDULED
    wall.advance(121)
    assert await deps.db.run(placed) == Status.IN_PROGRESS


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


# --- recovery re-checks before it places a call again ---------------------------------------
async def claimed_then_crashed(deps: Deps, phones: list[str], **options: Any) -> list[str]:
    """A started campaign whose next burst was claimed (the intent on disk, numbers
    `placing`) by a dialer that died before it dialled anyone; the claimed call ids."""
    await create(deps, phones, speed=100_000, **options)
    scheduler = Scheduler(deps)
    await scheduler.pass_once()  # prepare
    await scheduler.pass_once()  # start
    now = deps.clock.now()
    _, calls, _ = await deps.db.run(claim(deps, CID, 0, [now] * len(phones), ["UTC"], now))
    assert len(calls) == len(phones)
    assert await deps.db.run(count("placing")) == len(phones)
    return [c.call_id for c in calls]


async def rung(deps: Deps, call_ids: list[str]) -> list[str]:
    return [c for c in call_ids if await deps.telephony.result_of(c) is not None]


COMMON: dict[str, Any] = {"campaign_id": CID, "account_id": "acc", "at": ORIGIN}


@pytest.mark.parametrize(
    "meanwhile",
    [
        ev.CampaignPaused(**COMMON, paused_by="customer"),
        ev.CampaignPaused(**COMMON, paused_by="system"),
        ev.CampaignOutOfWindow(**COMMON),
        ev.CampaignStopped(**COMMON),
        ev.CampaignDeleted(**COMMON),
    ],
    ids=["paused", "paused_by_system", "out_of_window", "stopped", "deleted"],
)
async def test_recovery_places_no_call_of_a_campaign_that_is_not_running(
    deps: Deps, meanwhile: ev.CampaignEvent
) -> None:
    call_ids = await claimed_then_crashed(deps, PHONES[:4])
    await feed(deps, meanwhile, 5000)  # while the dialer was down

    assert await resolve_placing(deps) == 4

    assert await rung(deps, call_ids) == []
    assert await deps.db.run(count("queued")) == 4  # dialled at their turn if it runs again
    assert await deps.db.run(count("placing")) == 0
    assert await deps.db.run(outbox_events) == []
    assert await resolve_placing(deps) == 0  # nothing left to settle: no call later either
    assert await rung(deps, call_ids) == []


async def test_calls_put_back_by_recovery_are_dialled_once_when_the_campaign_resumes(
    deps: Deps, wall: Wall
) -> None:
    call_ids = await claimed_then_crashed(deps, PHONES[:4])
    await feed(deps, ev.CampaignPaused(**COMMON, paused_by="customer"), 5000)
    await resolve_placing(deps)
    await feed(deps, ev.CampaignResumed(**COMMON, status=Status.IN_PROGRESS), 5001)

    await run_passes(Scheduler(deps), wall, 5)

    assert await rung(deps, call_ids) == call_ids
    assert deps.telephony.rung == 4  # type: ignore[attr-defined]
    events = await deps.db.run(outbox_events)
    assert sorted(e.call_id for e in events) == sorted(call_ids)


async def test_recovery_does_not_dial_a_number_stop_listed_while_the_dialer_was_down(
    deps: Deps,
) -> None:
    call_ids = await claimed_then_crashed(deps, PHONES[:4])
    listed = ev.StopListPhonesAdded(account_id="acc", at=ORIGIN, phones=[PHONES[1], PHONES[3]])
    await feed(deps, listed)

    assert await resolve_placing(deps) == 4

    assert await rung(deps, call_ids) == [call_ids[0], call_ids[2]]
    events = {e.phone: e for e in await deps.db.run(outbox_events)}
    assert {p: e.outcome for p, e in events.items() if e.outcome == "stop_listed"} == {
        PHONES[1]: "stop_listed",
        PHONES[3]: "stop_listed",
    }
    assert events[PHONES[1]].call_id == call_ids[1]  # one final per number, under its call id
    assert await deps.db.run(count("done")) == 4


async def test_recovery_does_not_dial_a_number_whose_window_closed_while_the_dialer_was_down(
    deps: Deps, wall: Wall
) -> None:
    window = CallingWindow(days=list(WEEKDAYS), from_="09:00", to="10:00")
    call_ids = await claimed_then_crashed(deps, PHONES[:4], window=window)
    wall.advance(61)  # 61 dialer minutes: 10:01, the window is closed

    assert await resolve_placing(deps) == 4

    assert await rung(deps, call_ids) == []
    assert await deps.db.run(count("queued")) == 4


async def test_recovery_places_a_call_the_carrier_never_placed_while_the_campaign_runs(
    deps: Deps,
) -> None:
    call_ids = await claimed_then_crashed(deps, PHONES[:4])

    assert await resolve_placing(deps) == 4

    assert await rung(deps, call_ids) == call_ids
    assert await deps.db.run(count("done")) == 4


async def test_recovery_cancels_the_calls_of_a_part_cancelled_while_the_dialer_was_down(
    deps: Deps, wall: Wall
) -> None:
    await create(deps, TEN, speed=100_000, smart=SmartOptions(parts=1))
    scheduler = Scheduler(deps)

    async def dialling_part_one() -> bool:
        campaign = await deps.db.run(lambda tx: tx.load_campaign(CID))
        assert campaign is not None
        return campaign.current_part == 1 and campaign.part_state == "dialling"

    for _ in range(50):
        if await dialling_part_one():
            break
        await run_passes(scheduler, wall, 1)
    assert await dialling_part_one()
    now = deps.clock.now()
    _, calls, _ = await deps.db.run(claim(deps, CID, 1, [now] * 3, ["UTC"], now))
    assert [c.phone for c in calls] == [TEN[6], TEN[7]]  # part 1: the unanswered ones
    cancelled = ev.SmartPartsCancelled(**COMMON, parts=[1])
    await feed(deps, cancelled, 5000)

    assert await resolve_placing(deps) == 2

    assert await rung(deps, [c.call_id for c in calls]) == []
    assert await deps.db.run(count("cancelled")) == 2


class LongWindedSynthesizer:
    def synthesize(self, text: str, voice: str = "ru") -> bytes:
        raise SynthesisError("the engine says: " + "нет " * 1000)


async def test_a_failure_reason_longer_than_the_contract_allows_is_clipped(deps: Deps) -> None:
    """The campaign service refuses a FailCampaign whose reason is over the contract's
    limit: the campaign would never reach `error`. The dialer sends it clipped."""
    deps.synthesizer = LongWindedSynthesizer()
    await create(deps, PHONES[:2])

    await Scheduler(deps).pass_once()

    failures = [c for c in deps.commands.sent if isinstance(c, cmd.FailCampaign)]  # type: ignore[attr-defined]
    assert len(failures) == 1
    assert failures[0].reason.startswith("the message could not be synthesized")
    assert len(failures[0].reason) == MAX_REASON
    assert decode(encode(failures[0]), cmd.FailCampaign) == failures[0]  # within the contract


class BehindLog:
    """A campaign log double: so many events behind until the test lets it catch up."""

    def __init__(self) -> None:
        self.asked = 0
        self.asked_thrice = asyncio.Event()
        self.caught_up = False

    async def behind(self) -> int:
        self.asked += 1
        if self.asked >= 3:
            self.asked_thrice.set()
        return 0 if self.caught_up else 7


async def test_the_scheduler_does_nothing_before_it_has_caught_up_with_the_campaign_log(
    deps: Deps,
) -> None:
    await create(deps, PHONES[:4], speed=100_000)
    campaign_log = BehindLog()
    deps.campaign_log = campaign_log
    running = asyncio.create_task(Scheduler(deps).run())
    try:
        async with asyncio.timeout(10):
            await campaign_log.asked_thrice.wait()
        assert deps.commands.sent == []  # type: ignore[attr-defined]
        assert await deps.db.run(count("queued")) == 0  # not even prepared

        campaign_log.caught_up = True
        async with asyncio.timeout(10):
            while not await deps.db.run(count("done")):  # the first call (the wall stands)
                await deps.outbox_wakeup.wait()  # set when results are recorded
                deps.outbox_wakeup.clear()
        assert deps.commands.kinds()[0] == "StartCampaign"  # type: ignore[attr-defined]
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running


async def test_a_stop_that_comes_as_the_scheduler_is_woken_stops_it(deps: Deps) -> None:
    passed = asyncio.Event()

    class Observed(Scheduler):
        async def pass_once(self) -> None:
            await super().pass_once()
            passed.set()  # the run goes on into its wait without yielding

    deps.tick_seconds = 3600.0
    running = asyncio.create_task(Observed(deps).run())
    async with asyncio.timeout(10):
        await passed.wait()
    deps.scheduler_wakeup.set()  # news for the scheduler…
    running.cancel()  # …and the dialer stopped, in the same turn of the loop

    with pytest.raises(asyncio.CancelledError):
        async with asyncio.timeout(10):
            await running


class AnsweredAsStopped:
    """A campaign log read through a NATS request whose answer comes in the same turn of the
    loop as the stop: Python 3.11's asyncio.wait_for (inside nats-py's request) then returns
    the answer and the cancellation is lost — the task stays marked `cancelling()`."""

    def __init__(self) -> None:
        self.asked = asyncio.Event()

    async def behind(self) -> int:
        self.asked.set()
        try:
            await asyncio.Event().wait()  # the request in flight
        except asyncio.CancelledError:
            pass  # the answer was there: wait_for returns it, the stop is swallowed
        return 0


async def test_a_stop_swallowed_by_a_nats_request_while_catching_up_still_stops_it(
    deps: Deps,
) -> None:
    campaign_log = AnsweredAsStopped()
    deps.campaign_log = campaign_log
    running = asyncio.create_task(Scheduler(deps).run())
    async with asyncio.timeout(10):
        await campaign_log.asked.wait()
    running.cancel()

    # asyncio.wait, not `await running`: a scheduler that runs on must fail the test, not
    # hang it (awaiting it would only be swallowed again).
    done, _ = await asyncio.wait([running], timeout=5)
    assert running in done, "the scheduler ran on after it was stopped"
    assert running.cancelled()


async def test_a_stop_swallowed_by_a_command_in_a_pass_still_stops_it(deps: Deps) -> None:
    await create(deps, PHONES[:4], speed=100_000)
    sending = asyncio.Event()

    class AnsweredAsStoppedCommands(FakeCommands):
        async def send(self, command: cmd.CampaignCommand) -> cmd.CommandReply | None:
            sending.set()
            with contextlib.suppress(asyncio.CancelledError):  # as 3.11's wait_for would
                await asyncio.Event().wait()
            return await super().send(command)

    deps.commands = AnsweredAsStoppedCommands()
    running = asyncio.create_task(Scheduler(deps).run())
    async with asyncio.timeout(10):
        await sending.wait()
    running.cancel()

    done, _ = await asyncio.wait([running], timeout=5)
    assert running in done, "the scheduler ran on after it was stopped"
    assert running.cancelled()


async def test_without_nats_every_nats_port_must_be_given(tmp_path: Path) -> None:
    settings = DialerSettings(data_dir=tmp_path)
    with pytest.raises(ValueError, match="the blobs port must be given"):
        await bootstrap(settings, commands=FakeCommands(), secrets=FakeSecrets())
    assert not (tmp_path / "dialer.sqlite3").exists()  # refused before anything was opened


async def test_an_unknown_carrier_is_refused_before_the_store_is_opened(tmp_path: Path) -> None:
    settings = DialerSettings(data_dir=tmp_path, carrier="pstn")
    with pytest.raises(SettingsError, match="DIALER_CARRIER: 'pstn'"):
        await bootstrap(settings, commands=FakeCommands(), blobs=FakeBlobs(), secrets=FakeSecrets())
    assert not (tmp_path / "dialer.sqlite3").exists()


class CountingDb:
    """The store, counting the campaigns the scheduler loads (a pass's cost when idle)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.loads = 0
        self.listings = 0

    async def run(self, work: Callable[[Tx], Any]) -> Any:
        counter = self

        class Counting:
            def __init__(self, tx: Tx) -> None:
                self.tx = tx

            def load_campaign(self, campaign_id: int) -> Any:
                counter.loads += 1
                return self.tx.load_campaign(campaign_id)

            def active_campaign_ids(self) -> list[int]:
                counter.listings += 1
                return self.tx.active_campaign_ids()

            def __getattr__(self, name: str) -> Any:
                return getattr(self.tx, name)

        return await self.inner.run(lambda tx: work(Counting(tx)))  # a Tx by delegation

    def is_transient(self, exc: BaseException) -> bool:
        return bool(self.inner.is_transient(exc))


LATER = dt.timedelta(days=365 * 70)  # scheduled for decades ahead


async def test_a_campaign_far_ahead_is_prepared_at_once_and_started_on_time(
    deps: Deps, wall: Wall
) -> None:
    """Its message is there to listen to before the start; it then sleeps until the start."""
    start = ORIGIN + dt.timedelta(hours=24)  # 24 dialer hours = 24 wall minutes at scale 60
    await create(deps, PHONES[:3], start_at=start)
    scheduler = Scheduler(deps)
    await scheduler.pass_once()
    message = ("audio", f"acc/campaign/{CID}/message.wav")
    assert message in deps.blobs.objects  # type: ignore[attr-defined]
    assert await deps.db.run(count("queued")) == 3
    assert deps.commands.sent == []  # type: ignore[attr-defined]

    wall.advance(24 * 60)
    await scheduler.pass_once()
    assert deps.commands.kinds() == ["StartCampaign"]  # type: ignore[attr-defined]
    assert deps.commands.sent[0].started_at == start  # type: ignore[attr-defined]


async def test_a_campaign_starting_soon_is_prepared_at_once(deps: Deps, wall: Wall) -> None:
    await create(deps, PHONES[:3], start_at=ORIGIN + dt.timedelta(hours=2))
    await Scheduler(deps).pass_once()
    assert await deps.db.run(count("queued")) == 3


async def test_campaigns_that_cannot_dial_yet_are_not_loaded_every_pass(
    deps: Deps, wall: Wall
) -> None:
    for n in range(5):
        await create(deps, PHONES[:1], campaign_id=CID + n, start_at=ORIGIN + LATER)
    counting = CountingDb(deps.db)
    deps.db = counting
    scheduler = Scheduler(deps)
    await scheduler.pass_once()  # each is prepared, then sleeps until its start
    loads = counting.loads
    assert loads >= 5
    for _ in range(10):
        wall.advance(0.02)
        await scheduler.pass_once()
    assert counting.loads == loads  # asleep until their start
    assert counting.listings == 1  # all asleep: the list is not read again at once either

    scheduler.wake_all()  # news (a campaign event): each is looked at again, once
    await scheduler.pass_once()
    await scheduler.pass_once()
    assert (counting.loads, counting.listings) == (loads + 5, 2)


async def test_a_campaign_event_wakes_a_sleeping_campaign(deps: Deps, wall: Wall) -> None:
    await create(deps, PHONES[:1], start_at=ORIGIN + LATER)
    scheduler = Scheduler(deps)
    passes: asyncio.Queue[None] = asyncio.Queue()
    one_pass = scheduler.pass_once

    async def noted_pass() -> None:
        await one_pass()
        passes.put_nowait(None)

    scheduler.pass_once = noted_pass  # type: ignore[method-assign]  # to wait on each pass
    running = asyncio.create_task(scheduler.run())
    try:
        async with asyncio.timeout(10):
            await passes.get()
            await passes.get()
            assert CID in scheduler._sleeping and deps.commands.sent == []  # type: ignore[attr-defined]
            # The customer moves the start to now: the consumer applies it and wakes the
            # scheduler, which prepares and starts the campaign without waiting for 2096.
            common: dict[str, Any] = {"campaign_id": CID, "account_id": "acc", "at": ORIGIN}
            await feed(deps, ev.CampaignScheduled(**common, start_at=ORIGIN), 5)
            deps.scheduler_wakeup.set()
            while deps.commands.kinds() != ["StartCampaign"]:  # type: ignore[attr-defined]
                await passes.get()
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running
