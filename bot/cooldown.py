"""A per-user cooldown shared by every way of asking (slash command, mention, answer channel)."""

from __future__ import annotations

import time


class UserCooldown:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._last: dict[int, float] = {}

    def retry_after(self, user_id: int) -> float:
        """0 when the user may ask now (and the ask is recorded), else the seconds to wait."""
        if self.seconds <= 0:
            return 0.0
        now = time.monotonic()
        last = self._last.get(user_id)
        if last is not None and now - last < self.seconds:
            return self.seconds - (now - last)
        self._last[user_id] = now
        if len(self._last) > 10_000:  # forget users whose cooldown is long over
            self._last = {u: t for u, t in self._last.items() if now - t < self.seconds}
        return 0.0
