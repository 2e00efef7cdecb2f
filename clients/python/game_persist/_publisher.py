"""The publishing half of the client: the bounded buffer, the background sender and its safe retries."""

import json
import logging
import threading
import time
import urllib.error
from typing import Any, Callable, Dict, Iterable, List, Optional

from ._errors import ApiError, BufferFullError, PublishError, Rejected
from ._transport import Transport
from ._wire import Event, Id, now_iso, uuid7

log: logging.Logger = logging.getLogger("game_persist")

# Statuses worth retrying: the server was busy, limited or unreachable; the request is idempotent.
_RETRY_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504})


class Publisher(Transport):
    """Buffers events and sends them in batches from a background thread (see ``Client``)."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float = 10.0,
        batch_size: int = 100,
        linger_ms: int = 50,
        max_retries: int = 6,
        max_buffered: int = 100_000,
        block_timeout: Optional[float] = 1.0,
        max_retry_after: float = 30.0,
        on_rejected: Optional[Callable[[Rejected], None]] = None,
        on_error: Optional[Callable[[PublishError], None]] = None,
        on_accepted: Optional[Callable[[List[Event]], None]] = None,
    ) -> None:
        if not 1 <= batch_size <= 1000:
            raise ValueError("batch_size must be 1-1000")
        if max_buffered < 1:
            raise ValueError("max_buffered must be >= 1")
        if block_timeout is not None and block_timeout < 0:
            raise ValueError("block_timeout must be >= 0 (or None: wait as long as it takes)")
        super().__init__(base_url, api_key, timeout, max_retries, max_retry_after)
        self._batch_size = batch_size
        self._linger = linger_ms / 1000.0
        self._max_buffered = max_buffered
        self._block_timeout = block_timeout
        self._on_rejected = on_rejected
        self._on_error = on_error
        self._on_accepted = on_accepted
        self._buffer: List[Event] = []
        self._cond = threading.Condition()
        self._sending = 0
        self._errors: List[PublishError] = []
        self._closed = False
        self.rejected: List[Rejected] = []
        self._last_seq: Dict[str, int] = {}
        self.stats: Dict[str, int] = {"sent": 0, "accepted": 0, "rejected": 0, "batches": 0, "retries": 0, "buffer_full": 0}
        self._thread = threading.Thread(target=self._run, name="game-persist-sender", daemon=True)
        self._thread.start()

    def emit(
        self,
        type: str,
        session_id: Optional[Id],
        data: Optional[Dict[str, Any]] = None,
        *,
        player: Optional[Id] = None,
        id: Optional[str] = None,
        seq: Optional[int] = None,
        at: Optional[str] = None,
    ) -> str:
        """Buffers one event in the contract's wire form; returns its id. Sent in the order emitted.

        When ``max_buffered`` events are already waiting, waits up to the client's ``block_timeout``
        for room, then raises BufferFullError (the event is not buffered): a game loop never hangs here."""
        event: Event = {"id": id or uuid7(), "type": type, "at": at or now_iso(), "data": data or {}}
        if session_id is not None:
            event["sessionId"] = str(session_id)
        if player is not None:
            event["player"] = str(player)
        if seq is not None:
            event["seq"] = seq
        with self._cond:
            if self._closed:
                raise RuntimeError("client is closed")
            if len(self._buffer) >= self._max_buffered:
                self._wait_for_room(event)
            self._buffer.append(event)
            self._cond.notify_all()
        return str(event["id"])

    def _wait_for_room(self, event: Event) -> None:
        """With the lock held: waits until the buffer has room, at most ``block_timeout`` seconds."""
        deadline = None if self._block_timeout is None else time.monotonic() + self._block_timeout
        while len(self._buffer) >= self._max_buffered:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                self.stats["buffer_full"] += 1
                raise BufferFullError(event, self._max_buffered, self._block_timeout or 0.0)
            self._cond.wait(left)
            if self._closed:
                raise RuntimeError("client is closed")

    def publish(self, events: Iterable[Event]) -> Dict[str, Any]:
        """Sends events now, in one request per 1000, bypassing the buffer; returns the API's verdicts."""
        events = list(events)
        out: Dict[str, Any] = {"accepted": 0, "rejected": 0, "results": []}
        for i in range(0, len(events), 1000):
            r = self._post_batch(events[i : i + 1000])
            out["accepted"] += r["accepted"]
            out["rejected"] += r["rejected"]
            out["results"].extend(dict(x, index=x["index"] + i) for x in r["results"])
        return out

    def flush(self, timeout: Optional[float] = None) -> None:
        """Waits until everything emitted so far is enqueued (or failed: then raises PublishError)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            self._cond.notify_all()
            while self._buffer or self._sending:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    raise TimeoutError("flush timed out")
                self._cond.wait(left)
            if self._errors:
                err, self._errors = self._errors[0], []
                raise err

    def close(self) -> None:
        """Sends what is buffered and stops the background thread."""
        try:
            self.flush()
        finally:
            with self._cond:
                self._closed = True
                self._cond.notify_all()
            self._thread.join(timeout=5)

    def last_seq(self, session_id: Id) -> int:
        """The highest seq the API assigned to this client's accepted events of the session (0: none yet)."""
        with self._cond:
            return self._last_seq.get(str(session_id), 0)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._buffer and not self._closed:
                    self._cond.wait()
                if not self._buffer and self._closed:
                    return
                # Linger for a fuller batch unless one is already full.
                deadline = time.monotonic() + self._linger
                while len(self._buffer) < self._batch_size and not self._closed:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    self._cond.wait(left)
                batch = self._buffer[: self._batch_size]
                del self._buffer[: self._batch_size]
                self._sending += 1
                self._cond.notify_all()
            try:
                self._send_in_background(batch)
            finally:
                with self._cond:
                    self._sending -= 1
                    self._cond.notify_all()

    def _send_in_background(self, batch: List[Event]) -> None:
        """Sends one batch; a failure, expected or not, is logged, kept for ``flush`` and given to
        ``on_error``: the thread lives on to send the next batch."""
        try:
            self._post_batch(batch)
            return
        except PublishError as e:
            err = e
            log.error("%s", e)
        except Exception as e:  # noqa: BLE001 - e.g. an answer that is not the API's: lose no batch silently
            err = PublishError(batch, e)
            log.exception("the sender failed on a batch of %d event(s)", len(batch))
        with self._cond:
            self._errors.append(err)
        if self._on_error:
            _call(self._on_error, err)

    def _post_batch(self, batch: List[Event]) -> Dict[str, Any]:
        key = f"py-{uuid7()}"  # one per batch, reused by its retries
        body = json.dumps(batch, ensure_ascii=False, allow_nan=False).encode("utf-8")
        attempt = 0
        while True:
            api_err: Optional[ApiError] = None
            try:
                r: Dict[str, Any] = self._request("POST", "/v1/events", body=body, headers={"idempotency-key": key})
                break
            except ApiError as e:
                if e.status not in _RETRY_STATUSES or attempt >= self._max_retries:
                    raise PublishError(batch, e) from e
                api_err, why = e, f"{e.status} {e.code}"
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError) as e:
                if attempt >= self._max_retries:
                    raise PublishError(batch, e) from e
                why = repr(e)
            attempt += 1
            self.stats["retries"] += 1
            delay = self._retry_delay(api_err, attempt)
            log.warning("a batch of %d event(s) failed (%s); retry %d of %d in %.2f s", len(batch), why, attempt, self._max_retries, delay)
            time.sleep(delay)
        self._record(batch, r)
        return r

    def _record(self, batch: List[Event], r: Dict[str, Any]) -> None:
        """The API's verdicts on a batch: seqs, stats, ``rejected`` and the callbacks."""
        self.stats["batches"] += 1
        self.stats["sent"] += len(batch)
        self.stats["accepted"] += r["accepted"]
        self.stats["rejected"] += r["rejected"]
        accepted: List[Event] = []
        for x in r["results"]:
            event = batch[x["index"]]
            if x["status"] == "accepted":
                seq = x.get("seq")
                sid = event.get("sessionId")
                if seq is not None and sid is not None:
                    with self._cond:
                        if seq > self._last_seq.get(sid, 0):
                            self._last_seq[sid] = seq
                accepted.append(dict(event, id=x.get("id", event.get("id")), seq=seq))
            elif x["status"] == "rejected":
                rej = Rejected(event, x.get("code", "invalid_event"), x.get("field", ""), x.get("reason", ""))
                self.rejected.append(rej)
                log.debug("%r", rej)
                if self._on_rejected:
                    _call(self._on_rejected, rej)
        if accepted and self._on_accepted:
            _call(self._on_accepted, accepted)


def _call(callback: Callable[[Any], None], arg: Any) -> None:
    """Runs a user callback; what it raises is logged (with its traceback), never lost, and never stops
    the sender."""
    try:
        callback(arg)
    except Exception:  # noqa: BLE001 - a callback's bug must not kill the sending thread
        log.exception("a game-persist callback (%s) raised", getattr(callback, "__qualname__", repr(callback)))
