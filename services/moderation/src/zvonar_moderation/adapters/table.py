"""The base of the service's own SQL tables: each is created from its `SCHEMA` DDL and
written a row at a time, stamped with the time it was written, never twice for one key."""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from zvonar_runtime.db import Database


class SqlTable:
    SCHEMA: ClassVar[str]
    TABLE: ClassVar[str]
    COLUMNS: ClassVar[tuple[str, ...]]  # the last one holds the time the row was written
    KEY: ClassVar[str]  # the primary key's columns, as in the DDL

    def __init__(self, db: Database) -> None:
        self.db = db

    async def create_schema(self) -> None:
        await self.db.execute(self.SCHEMA)

    async def insert_stamped(self, values: tuple[Any, ...]) -> None:
        """One row: `values`, then the current UTC time (ISO 8601) in the last column. A row
        whose key is there already is kept as it is."""
        names = ", ".join(self.COLUMNS)
        marks = ", ".join("?" * len(self.COLUMNS))
        await self.db.execute(
            f"INSERT INTO {self.TABLE} ({names}) VALUES ({marks})"
            f" ON CONFLICT ({self.KEY}) DO NOTHING",
            (*values, dt.datetime.now(dt.UTC).isoformat()),
        )
