"""What time it is for the casework: sessions, lockouts, deadlines' colours, "today" and the
audit log's times all ask one clock, handed to the casework (`Casework.open(..., clock=)`)
and the workbench (`create_app(..., clock=)`). Production passes nothing and gets the
system's clock; a test passes a clock it moves forward to let 15 minutes or 10 days pass."""
from __future__ import annotations

from datetime import datetime, timezone


class Clock:
    """The system's clock. A test's clock overrides `now`."""

    def now(self) -> datetime:
        """Now, in UTC."""
        return datetime.now(timezone.utc)


SYSTEM_CLOCK = Clock()
