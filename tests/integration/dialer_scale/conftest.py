"""Several dialers on one database: the campaign-service double of the dialer's harness."""

from __future__ import annotations

from ..dialer.conftest import double

__all__ = ["double"]
