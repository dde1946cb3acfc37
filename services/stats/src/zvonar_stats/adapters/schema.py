"""The read-model tables. They come in generations (`campaigns_g1`, `campaigns_g2`...):
a rebuild fills the next generation aside while the service keeps serving the active one,
then one row of `stats_meta` is switched and the old generation dropped. Every
transaction, projection or query, first reads the active generation from that row.

Times are stored as fixed-width UTC text (see rules.utc_text) so they sort and compare
the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

from dataclasses import dataclass

import structlog

from zvonar_runtime.db import Cursor

log = structlog.get_logger("zvonar.stats.schema")

CAMPAIGN_STREAM_KEY = "campaign"
CALL_STREAM_KEY = "call"


@dataclass(frozen=True)
class Tables:
    generation: int

    def _name(self, base: str) -> str:
        return f"{base}_g{self.generation}"

    @property
    def campaigns(self) -> str:
        return self._name("campaigns")

    @property
    def counts(self) -> str:
        return self._name("counts")

    @property
    def numbers(self) -> str:
        return self._name("numbers")

    @property
    def calls(self) -> str:
        return self._name("calls")

    @property
    def history(self) -> str:
        return self._name("history")

    @property
    def stop_list(self) -> str:
        return self._name("stop_list")

    @property
    def checkpoints(self) -> str:
        return self._name("checkpoints")

    @property
    def account_counts(self) -> str:
        return self._name("row_counts")

    def all(self) -> list[str]:
        return [
            self.campaigns,
            self.counts,
            self.numbers,
            self.calls,
            self.history,
            self.stop_list,
            self.checkpoints,
            self.account_counts,
        ]


def _ddl(t: Tables) -> list[str]:
    g = t.generation
    return [
        f"""CREATE TABLE IF NOT EXISTS {t.campaigns} (
            id BIGINT PRIMARY KEY, account_id TEXT NOT NULL, created_at TEXT NOT NULL,
            name TEXT NOT NULL, name_folded TEXT NOT NULL, tags TEXT NOT NULL,
            smart_part INTEGER, parent_id BIGINT, status TEXT NOT NULL,
            scheduled_at TEXT, started_at TEXT, total INTEGER NOT NULL, speed INTEGER NOT NULL,
            comment_user TEXT NOT NULL, comment_system TEXT NOT NULL, caller_number TEXT,
            has_smart INTEGER NOT NULL, options TEXT NOT NULL, deleted INTEGER NOT NULL)""",
        f"""CREATE INDEX IF NOT EXISTS ix_campaigns_list_g{g}
            ON {t.campaigns} (account_id, deleted, created_at DESC, id DESC)""",
        f"CREATE INDEX IF NOT EXISTS ix_campaigns_parent_g{g} ON {t.campaigns} (parent_id)",
        f"""CREATE INDEX IF NOT EXISTS ix_campaigns_status_g{g}
            ON {t.campaigns} (status, deleted, created_at)""",
        f"""CREATE TABLE IF NOT EXISTS {t.counts} (
            campaign_id BIGINT NOT NULL, part INTEGER NOT NULL,
            stop_listed INTEGER NOT NULL, answered INTEGER NOT NULL, leads INTEGER NOT NULL,
            not_answered INTEGER NOT NULL, cost_micros BIGINT NOT NULL,
            PRIMARY KEY (campaign_id, part))""",
        f"""CREATE TABLE IF NOT EXISTS {t.numbers} (
            campaign_id BIGINT NOT NULL, part INTEGER NOT NULL, phone TEXT NOT NULL,
            rank BIGINT NOT NULL, category TEXT NOT NULL,
            PRIMARY KEY (campaign_id, part, phone))""",
        f"""CREATE TABLE IF NOT EXISTS {t.calls} (
            call_id TEXT PRIMARY KEY, seq BIGINT NOT NULL, campaign_id BIGINT NOT NULL,
            part INTEGER NOT NULL, phone TEXT NOT NULL, attempt INTEGER NOT NULL,
            started_at TEXT, outcome TEXT NOT NULL, duration_s DOUBLE PRECISION NOT NULL,
            cost TEXT NOT NULL, answer_text TEXT NOT NULL, lead INTEGER NOT NULL,
            recording TEXT)""",
        f"CREATE INDEX IF NOT EXISTS ix_calls_row_g{g} ON {t.calls} (campaign_id, part, seq)",
        f"""CREATE TABLE IF NOT EXISTS {t.history} (
            campaign_id BIGINT NOT NULL, seq BIGINT NOT NULL, type TEXT NOT NULL,
            at TEXT NOT NULL, details TEXT NOT NULL, PRIMARY KEY (campaign_id, seq))""",
        f"""CREATE TABLE IF NOT EXISTS {t.stop_list} (
            account_id TEXT NOT NULL, phone TEXT NOT NULL, PRIMARY KEY (account_id, phone))""",
        # Visible rows per account, status and tag set (a few dozen groups an account):
        # a list's total by status and tags without counting 100,000 rows.
        f"""CREATE TABLE IF NOT EXISTS {t.account_counts} (
            account_id TEXT NOT NULL, status TEXT NOT NULL, tags TEXT NOT NULL,
            rows INTEGER NOT NULL, PRIMARY KEY (account_id, status, tags))""",
        f"""CREATE TABLE IF NOT EXISTS {t.checkpoints} (
            stream TEXT PRIMARY KEY, seq BIGINT NOT NULL, position BIGINT NOT NULL)""",
    ]


def _create_meta(cur: Cursor) -> None:
    cur.execute(
        "CREATE TABLE IF NOT EXISTS stats_meta "
        "(id INTEGER PRIMARY KEY, generation INTEGER NOT NULL)"
    )
    cur.execute("INSERT INTO stats_meta (id, generation) VALUES (1, 1) ON CONFLICT (id) DO NOTHING")
    # Messages the projection could not store, skipped so the rest could go on.
    cur.execute(
        "CREATE TABLE IF NOT EXISTS stats_parked (stream TEXT NOT NULL, seq BIGINT NOT NULL, "
        "subject TEXT NOT NULL, error TEXT NOT NULL, parked_at TEXT NOT NULL, "
        "PRIMARY KEY (stream, seq))"
    )


def create_generation(cur: Cursor, t: Tables) -> None:
    for statement in _ddl(t):
        cur.execute(statement)
    for stream in (CAMPAIGN_STREAM_KEY, CALL_STREAM_KEY):
        cur.execute(
            f"INSERT INTO {t.checkpoints} (stream, seq, position) VALUES (?, 0, 0) "
            "ON CONFLICT (stream) DO NOTHING",
            (stream,),
        )
    if cur.dialect == "postgres":
        _trigram_index(cur, t)


def _trigram_index(cur: Cursor, t: Tables) -> None:
    """pg_trgm makes `name_folded LIKE '%x%'` an index search; without it, a scan."""
    cur.execute("SAVEPOINT trgm")
    try:
        cur.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        cur.execute(
            f"CREATE INDEX IF NOT EXISTS ix_campaigns_name_g{t.generation} "
            f"ON {t.campaigns} USING gin (name_folded gin_trgm_ops)"
        )
        cur.execute("RELEASE SAVEPOINT trgm")
    except Exception as exc:
        cur.execute("ROLLBACK TO SAVEPOINT trgm")
        log.warning("trigram_index_skipped", error=str(exc))


def recreate_generation(cur: Cursor, t: Tables) -> None:
    drop_generation(cur, t)
    create_generation(cur, t)


def drop_generation(cur: Cursor, t: Tables) -> None:
    for table in t.all():
        cur.execute(f"DROP TABLE IF EXISTS {table}")


def analyze_generation(cur: Cursor, t: Tables) -> None:
    """Fresh statistics for the planner: a generation filled by a rebuild has never been
    analyzed, and its lookups by key are planned as if its tables were empty."""
    for table in t.all():
        cur.execute(f"ANALYZE {table}")


def ensure_schema(cur: Cursor) -> Tables:
    """Creates the meta row and the active generation's tables if missing."""
    _create_meta(cur)
    tables = active_tables(cur)
    create_generation(cur, tables)
    return tables


def active_tables(cur: Cursor, *, lock: str = "") -> Tables:
    """The generation in use; `lock` ("share" or "update") orders projections and swaps
    on PostgreSQL (SQLite's single writer orders them already)."""
    suffix = f" FOR {lock.upper()}" if lock and cur.dialect == "postgres" else ""
    row = cur.execute(f"SELECT generation FROM stats_meta WHERE id = 1{suffix}").fetchone()
    return Tables(int(row[0]))


def switch_generation(cur: Cursor, t: Tables) -> None:
    cur.execute("UPDATE stats_meta SET generation = ? WHERE id = 1", (t.generation,))
