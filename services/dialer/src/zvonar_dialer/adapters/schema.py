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
    # The fencing token of each lease partition (service_layer/ownership.py): raised by one
    # at every take-over; a dialling or recording transaction compares its own.
    """CREATE TABLE IF NOT EXISTS partition_leases (
        part_no INTEGER PRIMARY KEY, holder TEXT NOT NULL, fence BIGINT NOT NULL)""",
)


def outbox_table(dialect: str) -> str:
    return f"""CREATE TABLE IF NOT EXISTS outbox (
        id {_OUTBOX_ID[dialect]},
        msg_id TEXT NOT NULL UNIQUE,
        subject TEXT NOT NULL,
        payload TEXT NOT NULL,
        campaign_id BIGINT)"""


def outbox_campaign_column(cur: Cursor) -> None:
    """The outbox's campaign (whose partition's holder publishes the row), added to a store
    made before it: its rows keep NULL there and go out with partition 0."""
    if cur.dialect == "postgres":  # looked up first: the ALTER would lock a busy outbox
        rows = cur.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND table_name = 'outbox'"
        ).fetchall()
    else:
        rows = [(row[1],) for row in cur.execute("PRAGMA table_info(outbox)").fetchall()]
    columns = {str(row[0]) for row in rows}
    if "campaign_id" not in columns:
        cur.execute("ALTER TABLE outbox ADD COLUMN campaign_id BIGINT")


def webhook_tables(dialect: str) -> tuple[str, ...]:
    """The webhook outbox and delivery log: one row per post of an event to a campaign's
    URL, written with the call result that causes it; the sender updates it after each
    attempt. Times are wall-clock seconds since the epoch. The secret is not here: the row
    names it (`secret_ref`), the sender opens it at each attempt."""
    return (
        f"""CREATE TABLE IF NOT EXISTS webhook_deliveries (
        id {_OUTBOX_ID[dialect]},
        webhook_id TEXT NOT NULL UNIQUE,
        campaign_id BIGINT NOT NULL,
        account_id TEXT NOT NULL,
        event TEXT NOT NULL,
        call_id TEXT,
        url TEXT NOT NULL,
        secret_ref TEXT,
        payload TEXT NOT NULL,
        state TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        last_status INTEGER,
        last_error TEXT,
        created_at DOUBLE PRECISION NOT NULL,
        next_attempt_at DOUBLE PRECISION,
        delivered_at DOUBLE PRECISION)""",
        "CREATE INDEX IF NOT EXISTS webhook_deliveries_due "
        "ON webhook_deliveries (state, next_attempt_at)",
        "CREATE INDEX IF NOT EXISTS webhook_deliveries_of_campaign "
        "ON webhook_deliveries (campaign_id, id)",
    )


def create_schema(cur: Cursor) -> None:
    for statement in (*TABLES, outbox_table(cur.dialect), *webhook_tables(cur.dialect)):
        cur.execute(statement)
    outbox_campaign_column(cur)
