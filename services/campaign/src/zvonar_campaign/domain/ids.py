"""Aggregate identities, derived deterministically from the campaign number or account."""

from __future__ import annotations

import uuid

_NAMESPACE = uuid.UUID("6f1d2c8e-58a3-4d1f-9c55-7a2e0f3b9d41")

FIRST_CAMPAIGN_ID = 1_000_001


def campaign_uuid(campaign_id: int) -> uuid.UUID:
    return uuid.uuid5(_NAMESPACE, f"campaign:{campaign_id}")


def stop_list_uuid(account_id: str) -> uuid.UUID:
    return uuid.uuid5(_NAMESPACE, f"stop-list:{account_id}")
