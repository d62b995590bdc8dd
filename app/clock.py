"""The one clock. Everything that needs "now" takes it as an argument or from a Clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC
from datetime import datetime

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    """Return the current time, timezone-aware, in UTC."""
    return datetime.now(UTC)
