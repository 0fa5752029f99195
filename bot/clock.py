"""The one place that reads the time, so tests and replays can fix it (MADOGUCHI_NOW)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo


class Clock:
    def __init__(self, fixed: dt.datetime | None = None, tz: str = "Asia/Tokyo") -> None:
        self._fixed = fixed
        self.tz = ZoneInfo(tz)

    def now(self) -> dt.datetime:
        """An aware datetime in the window's time zone."""
        t = self._fixed if self._fixed is not None else dt.datetime.now(dt.UTC)
        return t.astimezone(self.tz)

    def today(self) -> dt.date:
        return self.now().date()
