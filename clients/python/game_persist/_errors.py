"""What the client raises, all under one base (``GamePersistError``), and the verdict on a refused event."""

from typing import Any, Dict, List, Optional


class GamePersistError(Exception):
    """The base of every error this client raises on purpose: ``except GamePersistError`` catches them all."""


class ApiError(GamePersistError):
    """The API refused a request: ``status`` (HTTP), ``code`` (stable, e.g. ``forbidden``), ``message``.

    ``retry_after``: the seconds the API asked the client to wait (its ``Retry-After`` header, from a 429
    or 503 answer), or None when it named none."""

    def __init__(self, status: int, code: str, message: str, retry_after: Optional[float] = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.retry_after = retry_after


class PublishError(GamePersistError):
    """A batch could not be delivered after every retry; ``events`` were not enqueued."""

    def __init__(self, events: List[Dict[str, Any]], cause: BaseException) -> None:
        super().__init__(f"{len(events)} event(s) not delivered: {cause}")
        self.events = events
        self.cause = cause


class BufferFullError(GamePersistError):
    """``emit`` found the buffer full (``max_buffered`` events waiting to be sent) and it did not drain
    within ``block_timeout`` seconds: ``event`` was NOT buffered. The API is down or slower than the game
    emits; the game decides what to do with the event (keep it, retry later, drop it)."""

    def __init__(self, event: Dict[str, Any], max_buffered: int, block_timeout: float) -> None:
        super().__init__(f"the buffer of {max_buffered} events stayed full for {block_timeout} s; event {event.get('id')} not buffered")
        self.event = event
        self.max_buffered = max_buffered
        self.block_timeout = block_timeout


class Rejected:
    """An event the contract refused: the event as sent, the offending ``field`` and the ``reason``."""

    def __init__(self, event: Dict[str, Any], code: str, field: str, reason: str) -> None:
        self.event = event
        self.code = code
        self.field = field
        self.reason = reason

    def __repr__(self) -> str:
        return f"Rejected({self.event.get('type')} {self.field}: {self.reason})"
