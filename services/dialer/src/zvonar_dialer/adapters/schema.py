"""The dialer's tables, on SQLite or in the PostgreSQL schema `dialer`."""

from __future__ import annotations

from zvonar_runtime.db import Cursor

_OUTBOX_ID = {
    "sqlite": "INTEGER PRIMARY KEY AUTOINCREMENT",
    "postgres": "BIGSERIAL PRIMARY KEY",
}

TABLES = (
    "CREATE TABLE IF NOT EXISTS dialer_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    # One row per campaign: its status and progress as a msgspec JSON document.
    """CREATE TABLE IF NOT EXISTS campaigns (
        campaign_id BIGINT PRIMARY KEY,
        account_id TEXT NOT NULL,
        status TEXT NOT NULL,
        state TEXT NOT NULL)""",
    # Every number of every part: queued -> placing (call id recorded before dialling) -> done.
    """CREATE TABLE IF NOT EXISTS numbers (
        campaign_id BIGINT NOT NULL,
        part INTEGER NOT NULL,
        seq INTEGER NOT NULL,
        phone TEXT NOT NULL,
        tz TEXT NOT NULL,
        state TEXT NOT NULL,
        call_id TEXT,
        started_at TEXT,
        caller_number TEXT,
        outcome TEXT,
        PRIMARY KEY (campaign_id, part, seq))""",
    "CREATE INDEX IF NOT EXISTS numbers_by_state ON numbers (campaign_id, part, state, seq)",
    "CREATE INDEX IF NOT EXISTS numbers_placing ON numbers (state)",
    """CREATE TABLE IF NOT EXISTS stop_list (
        account_id TEXT NOT NULL, phone TEXT NOT NULL, PRIMARY KEY (account_id, phone))""",
    """CREATE TABLE IF NOT EXISTS caller_usage (
        day TEXT NOT NULL, number TEXT NOT NULL, calls INTEGER NOT NULL,
        PRIMARY KEY (day, number))""",
    # Which campaign a call back to a caller number reaches (until the number is released).
    """CREATE TABLE IF NOT EXISTS inbound_routes (
        number TEXT PRIMARY KEY, campaign_id BIGINT NOT NULL)""",
)


def outbox_table(dialect: str) -> str:
    return f"""CREATE TABLE IF NOT EXISTS outbox (
        id {_OUTBOX_ID[dialect]},
        msg_id TEXT NOT NULL UNIQUE,
        subject TEXT NOT NULL,
        payload TEXT NOT NULL)"""


def create_schema(cur: Cursor) -> None:
    for statement in (*TABLES, outbox_table(cur.dialect)):
        cur.execute(statement)
