"""Where replies go. One small interface; a folder here, SMTP beside it.

Delivery is idempotent per Message-ID: the folder outbox names each file after the
Message-ID, so a retry after a crash rewrites the same file instead of adding a second.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Protocol

from bot.rawstore import write_atomically


class DeliveryError(Exception):
    """Base of delivery failures; `permanent` says whether a retry can help."""

    permanent = False


class TemporaryDeliveryError(DeliveryError):
    permanent = False


class PermanentDeliveryError(DeliveryError):
    permanent = True


class Outbox(Protocol):
    def deliver(self, raw: bytes, message_id: str, sender: str, recipients: list[str]) -> None:
        """Hand one message over; raise a DeliveryError subclass on failure."""
        ...

    def close(self) -> None:
        """End the current session (an SMTP connection); a later deliver() opens a new one."""
        ...


class DirOutbox:
    """Each message as one `.eml` file (for trials, tests, and a manual relay)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True, mode=0o700)

    def deliver(self, raw: bytes, message_id: str, sender: str, recipients: list[str]) -> None:
        name = hashlib.sha256(message_id.encode()).hexdigest()[:32] + ".eml"
        path = self.root / name
        try:
            write_atomically(path, raw, tmp=self.root / f".{name}.tmp")
        except OSError as exc:
            raise TemporaryDeliveryError(f"cannot write to the outbox folder: {exc.strerror}") from exc

    def close(self) -> None:
        return None
