"""Every NATS name Zvonar uses: streams, subjects, buckets, durable consumers, headers.

Subjects carry the campaign number so that per-campaign order holds under partitioning:
    campaign.events.<campaign_id>.<EventType>
    campaign.events.stoplist.<account_id>.<EventType>
    call.events.<campaign_id>.<EventType>
"""

from __future__ import annotations

from typing import Final

from zvonar_contracts import keys

# --- JetStream streams -------------------------------------------------------------------
CAMPAIGN_EVENTS_STREAM: Final = "CAMPAIGN_EVENTS"
CAMPAIGN_EVENTS_SUBJECTS: Final = ("campaign.events.>",)
CALL_EVENTS_STREAM: Final = "CALL_EVENTS"
CALL_EVENTS_SUBJECTS: Final = ("call.events.>",)

# Dedupe windows for Nats-Msg-Id, each sized for its stream's rate (docs/scaling.md "The
# duplicate window"): the server keeps ~160 B per message id for the window's length. A
# window must outlast the longest time a publisher may publish the same message again.
# Campaign events (the relay: a restart or a standby's takeover) are few per campaign: 2 h
# costs little. Call events come at up to 20,000/s (2 h would be ~25 GB per replica); the
# dialer's outbox publishes again within a restart or a lease takeover (10 s) — 2 min
# covers that with room, ~375 MB per replica at 20,000/s — and a later copy is dropped by
# its consumer (stats keeps a ledger of call ids).
CAMPAIGN_EVENTS_DUPLICATE_WINDOW_SECONDS: Final = 2 * 60 * 60
CALL_EVENTS_DUPLICATE_WINDOW_SECONDS: Final = 2 * 60
# The campaign events' window, under its old name.
DUPLICATE_WINDOW_SECONDS: Final = CAMPAIGN_EVENTS_DUPLICATE_WINDOW_SECONDS

# --- Object-store buckets ---------------------------------------------------------------
PHONE_BASES_BUCKET: Final = "phone-bases"
AUDIO_BUCKET: Final = "audio"
RECORDINGS_BUCKET: Final = "recordings"
ALL_BUCKETS: Final = (PHONE_BASES_BUCKET, AUDIO_BUCKET, RECORDINGS_BUCKET)

# --- Object names: built and read back in zvonar_contracts.keys (named here as well) ------
account_folder = keys.account_folder
uploaded_audio_object = keys.uploaded_audio_object
message_folder = keys.message_folder
message_object = keys.message_object
preview_object = keys.preview_object
recording_object = keys.recording_object
phone_base_object = keys.phone_base_object


# --- Key-value buckets --------------------------------------------------------------------
# Web sessions signed out (key: the session's random id), kept for a session's lifetime so
# a copied cookie is refused by every gateway replica, across restarts. Owned by the gateway.
REVOKED_SESSIONS_BUCKET: Final = "web-sessions-revoked"
# Webhook secrets sealed by the gateway, read by the dialer (zvonar_runtime.secrets); the
# events carry only the key (Integration.secret_ref).
WEBHOOK_SECRETS_BUCKET: Final = "webhook-secrets"
# The dialer's clock (zvonar_contracts.clock.ClockOrigin under DIALER_CLOCK_KEY), written by
# the dialer at start and read by every service that needs "dialer now".
DIALER_CLOCK_BUCKET: Final = "dialer-clock"
DIALER_CLOCK_KEY: Final = "origin"

# --- Headers -----------------------------------------------------------------------------
CORRELATION_HEADER: Final = "Zvonar-Correlation-Id"
MSG_ID_HEADER: Final = "Nats-Msg-Id"
# Position of a campaign event in the campaign service's notification log (an int as text).
POSITION_HEADER: Final = "Zvonar-Position"


def campaign_event_subject(campaign_id: int | str, event_type: str) -> str:
    return f"campaign.events.{campaign_id}.{event_type}"


def stop_list_event_subject(account_id: str, event_type: str) -> str:
    return f"campaign.events.stoplist.{account_id}.{event_type}"


def call_event_subject(campaign_id: int | str, event_type: str) -> str:
    return f"call.events.{campaign_id}.{event_type}"


# Filter that selects one event type of every campaign (not stop-list events).
def campaign_event_filter(event_type: str) -> str:
    return f"campaign.events.*.{event_type}"


STOP_LIST_EVENTS_FILTER: Final = "campaign.events.stoplist.>"

# --- Commands: request-reply on core NATS, one owner each ----------------------------------
CAMPAIGN_COMMAND_PREFIX: Final = "campaign.cmd"
CAMPAIGN_COMMANDS_QUEUE: Final = "campaign"


def campaign_command_subject(command_type: str) -> str:
    return f"{CAMPAIGN_COMMAND_PREFIX}.{command_type}"


# --- Queries: request-reply to the stats service ------------------------------------------
STATS_QUERY_PREFIX: Final = "stats.query"
STATS_QUERIES_QUEUE: Final = "stats"


def stats_query_subject(query_type: str) -> str:
    return f"{STATS_QUERY_PREFIX}.{query_type}"


# --- Dialer requests (TTS preview, inbound calls of the simulated carrier) ----------------
DIALER_REQUEST_PREFIX: Final = "dialer.req"
DIALER_REQUESTS_QUEUE: Final = "dialer"


def dialer_request_subject(request_type: str) -> str:
    return f"{DIALER_REQUEST_PREFIX}.{request_type}"


# --- Health: every service instance answers on zvonar.health.<service> ----------------------
SERVICES: Final = ("campaign", "moderation", "dialer", "stats", "gateway")


def health_subject(service: str) -> str:
    return f"zvonar.health.{service}"


def health_queue(service: str) -> str:
    """The queue group of a service's health answers: one instance answers each ask."""
    return f"health-{service}"


# --- Durable consumer names -----------------------------------------------------------------
MODERATION_CONSUMER: Final = "moderation-created"
DIALER_CAMPAIGN_CONSUMER: Final = "dialer-campaign-events"
STATS_CAMPAIGN_CONSUMER: Final = "stats-campaign-events"
STATS_CALL_CONSUMER: Final = "stats-call-events"
