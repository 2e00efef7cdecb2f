"""The client: batching publisher with safe retries, and the read calls. Standard library only."""

import copy
import json
import os
import random
import sys
import threading
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request
import uuid
from datetime import datetime, timezone
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Union

Id = Union[str, int]

# Statuses worth retrying: the server was busy, limited or unreachable; the request is idempotent.
_RETRY_STATUSES = {408, 409, 429, 500, 502, 503, 504}


class ApiError(Exception):
    """The API refused a request: ``status`` (HTTP), ``code`` (stable, e.g. ``forbidden``), ``message``."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message


class Rejected:
    """An event the contract refused: the event as sent, the offending ``field`` and the ``reason``."""

    def __init__(self, event: Dict[str, Any], code: str, field: str, reason: str):
        self.event = event
        self.code = code
        self.field = field
        self.reason = reason

    def __repr__(self) -> str:
        return f"Rejected({self.event.get('type')} {self.field}: {self.reason})"


class PublishError(Exception):
    """A batch could not be delivered after every retry; ``events`` were not enqueued."""

    def __init__(self, events: List[Dict[str, Any]], cause: BaseException):
        super().__init__(f"{len(events)} event(s) not delivered: {cause}")
        self.events = events
        self.cause = cause


def uuid7() -> str:
    """A UUIDv7: time-ordered, so the ids a game server assigns sort by creation."""
    ms = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= ((rand >> 62) & 0xFFF) << 64
    value |= 0b10 << 62
    value |= rand & ((1 << 62) - 1)
    return str(uuid.UUID(int=value))


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7396 JSON merge patch, as the workers fold a ``turn.result``'s ``patch`` into the live state:
    a game server rebuilding its state from a recovery's ``sinceState`` or ``tail`` folds the same way."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = dict(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = merge_patch(out.get(k), v)
    return out


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


def _fields(values: Dict[str, Any]) -> Dict[str, Any]:
    """Helper keyword arguments (snake_case) to the contract's data fields (camelCase); None = absent."""
    return {_camel(k): v for k, v in values.items() if v is not None}


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")


class Client:
    """A game-persist HTTP API client. Thread-safe; one per process is enough.

    Events are buffered and sent in batches of ``batch_size`` or after ``linger_ms``, whichever comes
    first, by a background thread; ``flush()`` sends what is buffered and waits. Each event gets a
    client-side UUIDv7 id and each batch an Idempotency-Key, so a retried batch (a timeout, a 503, a
    lost response) is stored once with the same sequence numbers. Events the contract refuses are
    reported to ``on_rejected`` (and kept in ``rejected``); a batch that fails after ``max_retries`` is
    reported to ``on_error`` and raised by the next ``flush()``. The events the API accepted are reported
    to ``on_accepted``, once per request, as a list in the order sent: each event as sent, with the ``seq``
    the API gave it (None for ``queue.*``). An audit trail of what the pipeline owes you.

    The callbacks run on the sending thread (or the one calling ``publish``); an exception they raise is
    printed to stderr and does not stop the sending.
    """

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
        on_rejected: Optional[Callable[[Rejected], None]] = None,
        on_error: Optional[Callable[[PublishError], None]] = None,
        on_accepted: Optional[Callable[[List[Dict[str, Any]]], None]] = None,
    ):
        if not 1 <= batch_size <= 1000:
            raise ValueError("batch_size must be 1-1000")
        self._base = base_url.rstrip("/")
        self._headers = {"authorization": f"Bearer {api_key}", "accept": "application/json"}
        self._timeout = timeout
        self._batch_size = batch_size
        self._linger = linger_ms / 1000.0
        self._max_retries = max_retries
        self._max_buffered = max_buffered
        self._on_rejected = on_rejected
        self._on_error = on_error
        self._on_accepted = on_accepted
        self._buffer: List[Dict[str, Any]] = []
        self._cond = threading.Condition()
        self._sending = 0
        self._errors: List[PublishError] = []
        self._closed = False
        self.rejected: List[Rejected] = []
        self._last_seq: Dict[str, int] = {}
        self.stats = {"sent": 0, "accepted": 0, "rejected": 0, "batches": 0, "retries": 0}
        self._thread = threading.Thread(target=self._run, name="game-persist-sender", daemon=True)
        self._thread.start()

    # ---- publishing -----------------------------------------------------------------------------

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
        """Buffers one event in the contract's wire form; returns its id. Sent in the order emitted."""
        event: Dict[str, Any] = {"id": id or uuid7(), "type": type, "at": at or _now(), "data": data or {}}
        if session_id is not None:
            event["sessionId"] = str(session_id)
        if player is not None:
            event["player"] = str(player)
        if seq is not None:
            event["seq"] = seq
        with self._cond:
            if self._closed:
                raise RuntimeError("client is closed")
            while len(self._buffer) >= self._max_buffered:
                self._cond.wait()
            self._buffer.append(event)
            self._cond.notify_all()
        return event["id"]

    def publish(self, events: Iterable[Dict[str, Any]]) -> Dict[str, Any]:
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

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

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
                self._post_batch(batch)
            except PublishError as e:
                with self._cond:
                    self._errors.append(e)
                if self._on_error:
                    self._on_error(e)
            finally:
                with self._cond:
                    self._sending -= 1
                    self._cond.notify_all()

    def _post_batch(self, batch: List[Dict[str, Any]]) -> Dict[str, Any]:
        key = f"py-{uuid7()}"  # one per batch, reused by its retries
        body = json.dumps(batch, ensure_ascii=False, allow_nan=False).encode("utf-8")
        attempt = 0
        while True:
            try:
                r = self._request("POST", "/v1/events", body=body, headers={"idempotency-key": key})
                break
            except ApiError as e:
                if e.status not in _RETRY_STATUSES or attempt >= self._max_retries:
                    raise PublishError(batch, e) from e
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError) as e:
                if attempt >= self._max_retries:
                    raise PublishError(batch, e) from e
            attempt += 1
            self.stats["retries"] += 1
            time.sleep(min(0.1 * 2**attempt, 5.0) * (0.5 + random.random()))
        self.stats["batches"] += 1
        self.stats["sent"] += len(batch)
        self.stats["accepted"] += r["accepted"]
        self.stats["rejected"] += r["rejected"]
        accepted: List[Dict[str, Any]] = []
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
                if self._on_rejected:
                    _call(self._on_rejected, rej)
        if accepted and self._on_accepted:
            _call(self._on_accepted, accepted)
        return r

    # ---- typed helpers (keyword arguments are the contract's data fields, snake_case; id, seq and at
    # are the envelope's; a top-level None means "absent", nested values are sent as they are) --------

    def _helper(self, type: str, session_id: Optional[Id], player: Optional[Id], fields: Dict[str, Any]) -> str:
        env = {k: fields.pop(k) for k in list(fields) if k in ("id", "seq", "at")}
        return self.emit(type, session_id, _fields(fields), player=player, **env)

    def session_created(self, session_id: Id, game_type: str, **fields: Any) -> str:
        return self._helper("session.created", session_id, None, dict(fields, game_type=game_type))

    def session_started(self, session_id: Id, **fields: Any) -> str:
        return self._helper("session.started", session_id, None, fields)

    def session_finished(self, session_id: Id, **fields: Any) -> str:
        """``winners=[...]``, ``scores={...}``, ``result=...``: outcomes are derived for players without one."""
        return self._helper("session.finished", session_id, None, fields)

    def session_abandoned(self, session_id: Id, **fields: Any) -> str:
        return self._helper("session.abandoned", session_id, None, fields)

    def player_joined(self, session_id: Id, player: Id, **fields: Any) -> str:
        return self._helper("player.joined", session_id, player, fields)

    def player_left(self, session_id: Id, player: Id, **fields: Any) -> str:
        return self._helper("player.left", session_id, player, fields)

    def player_outcome(self, session_id: Id, player: Id, outcome: str, **fields: Any) -> str:
        """``outcome``: win, loss (or lose), draw."""
        return self._helper("player.outcome", session_id, player, dict(fields, outcome=outcome))

    def move(self, session_id: Id, player: Optional[Id], action: str, **fields: Any) -> str:
        return self._helper("move", session_id, player, dict(fields, action=action))

    def vote(self, session_id: Id, player: Id, target: Optional[Id], **fields: Any) -> str:
        env = {k: fields.pop(k) for k in list(fields) if k in ("id", "seq", "at")}
        data = _fields(fields)
        data["target"] = None if target is None else str(target)  # null: a skip vote
        return self.emit("vote", session_id, data, player=player, **env)

    def chat_message(self, session_id: Id, player: Optional[Id], text: str, **fields: Any) -> str:
        return self._helper("chat.message", session_id, player, dict(fields, text=text))

    def task_completed(self, session_id: Id, player: Optional[Id], task_type: str, **fields: Any) -> str:
        return self._helper("task.completed", session_id, player, dict(fields, task_type=task_type))

    def turn_result(self, session_id: Id, turn: int, **fields: Any) -> str:
        """``state=`` (the full state) and/or ``patch=`` (RFC 7396: None members delete keys)."""
        return self._helper("turn.result", session_id, None, dict(fields, turn=turn))

    def agent_log(self, session_id: Id, model: str, player: Optional[Id] = None, **fields: Any) -> str:
        """``player``: whose call it was (an LLM agent's player): what the agent usage reads group by."""
        return self._helper("agent.log", session_id, player, dict(fields, model=model))

    def queue_entered(self, tenant: Id, player: Id, **fields: Any) -> str:
        return self._helper("queue.entered", fields.pop("session_id", None), player, dict(fields, tenant=str(tenant)))

    def queue_left(self, tenant: Id, player: Id, **fields: Any) -> str:
        return self._helper("queue.left", fields.pop("session_id", None), player, dict(fields, tenant=str(tenant)))

    # ---- documents and game-defined types --------------------------------------------------------

    def put_document(self, session_id: Id, collection: str, key: str, value: Any, *, player: Optional[Id] = None, expected_version: Optional[int] = None, **env: Any) -> str:
        """Writes a document of the session (or, with ``player``, that player's in the session), applied in seq
        order. ``expected_version``: write only over that version (0: only if it does not exist); a mismatch is
        recorded as a conflict (``document_rejections``), never applied."""
        if value is None:
            raise ValueError("a document's value cannot be None: use delete_document")
        data: Dict[str, Any] = {"collection": collection, "key": key, "value": value}
        if player is not None:
            data["owner"] = "player"
        if expected_version is not None:
            data["expectedVersion"] = expected_version
        return self.emit("doc.put", session_id, data, player=player, **env)

    def delete_document(self, session_id: Id, collection: str, key: str, *, player: Optional[Id] = None, expected_version: Optional[int] = None, **env: Any) -> str:
        data: Dict[str, Any] = {"collection": collection, "key": key}
        if player is not None:
            data["owner"] = "player"
        if expected_version is not None:
            data["expectedVersion"] = expected_version
        return self.emit("doc.delete", session_id, data, player=player, **env)

    def game_event(self, type: str, session_id: Id, data: Dict[str, Any], *, player: Optional[Id] = None, **env: Any) -> str:
        """An event of the game's own type ``x.<game>.<name>``: ``data`` is free-form JSON, checked against the
        JSON Schema registered for the type (``register_type``) when there is one."""
        if not type.startswith("x."):
            raise ValueError("a game's own event type is named x.<game>.<name>")
        return self.emit(type, session_id, data, player=player, **env)

    def register_type(self, type: str, schema: Dict[str, Any], description: Optional[str] = None) -> Dict[str, Any]:
        """Registers (or replaces) the JSON Schema (2020-12) of ``x.<game>.<name>`` (an ``admin`` key)."""
        body: Dict[str, Any] = {"schema": schema}
        if description is not None:
            body["description"] = description
        return self._request("PUT", f"/v1/contract/types/{_quote(type)}", body=json.dumps(body).encode("utf-8"))

    def event_types(self) -> Dict[str, Any]:
        """``{"mode": "open"|"registered", "types": [...]}``: the registered game types and their schemas."""
        return self._get("/v1/contract/types")

    def remove_type(self, type: str) -> bool:
        try:
            self._request("DELETE", f"/v1/contract/types/{_quote(type)}")
            return True
        except ApiError as e:
            if e.status == 404:
                return False
            raise

    def document(self, session_id: Id, collection: str, key: str, *, player: Optional[Id] = None) -> Optional[Dict[str, Any]]:
        """One document (``value``, ``version``, ``seq``, ``updatedAt``), or None."""
        q = {"player": player} if player is not None else None
        try:
            return self._get(f"/v1/sessions/{_quote(session_id)}/documents/{_quote(collection)}/{_quote(key)}", q)
        except ApiError as e:
            if e.status == 404:
                return None
            raise

    def documents(
        self,
        session_id: Id,
        collection: str,
        *,
        player: Optional[Id] = None,
        prefix: Optional[str] = None,
        from_key: Optional[str] = None,
        to_key: Optional[str] = None,
        page_size: int = 100,
    ) -> Iterator[Dict[str, Any]]:
        """Every document of a collection in key order (byte order), by ``prefix`` or ``[from_key, to_key)``, paged."""
        q = {"player": player, "prefix": prefix, "from": from_key, "to": to_key, "limit": page_size}
        return self._pages(f"/v1/sessions/{_quote(session_id)}/documents/{_quote(collection)}", q, "documents", "after", "next")

    def player_documents(self, player: Id, *, collection: Optional[str] = None, page_size: int = 100) -> Iterator[Dict[str, Any]]:
        """A player's documents across sessions."""
        return self._pages(f"/v1/players/{_quote(player)}/documents", {"collection": collection, "limit": page_size}, "documents", "after", "next")

    def document_rejections(self, session_id: Id) -> List[Dict[str, Any]]:
        """The session's document writes that were not applied: ``conflict`` (expectedVersion differed) and ``over_limit``."""
        return self._get(f"/v1/sessions/{_quote(session_id)}/document-rejections", {"limit": 1000})["rejections"]

    # ---- reads ----------------------------------------------------------------------------------

    def recover(
        self,
        session_id: Id,
        *,
        issued: Optional[int] = None,
        tail_limit: Optional[int] = None,
        documents: Union[bool, List[str]] = False,
    ) -> Optional[Dict[str, Any]]:
        """The session's live state, newest verified snapshot, the tail after it and participants; None if unknown.
        ``documents=True`` (or a list of collections) adds ``documents``: ``{"throughSeq", "items", "truncated"}``."""
        docs = ("all" if documents is True else ",".join(documents)) if documents else None
        q = {k: v for k, v in {"issued": issued, "tailLimit": tail_limit, "documents": docs}.items() if v is not None}
        try:
            return self._get(f"/v1/sessions/{_quote(session_id)}/recover", q)
        except ApiError as e:
            if e.status == 404:
                return None
            raise

    def last_seq(self, session_id: Id) -> int:
        """The highest seq the API assigned to this client's accepted events of the session (0: none yet)."""
        with self._cond:
            return self._last_seq.get(str(session_id), 0)

    def wait_persisted(self, session_id: Id, seq: Union[int, str, None] = None, timeout_ms: int = 10_000) -> Dict[str, Any]:
        """Blocks until the session is stored and folded through ``seq`` (default: ``last_seq``, after a
        ``flush()``); raises ApiError with code ``timeout`` when it takes longer than ``timeout_ms``.

        ``seq="issued"`` waits for the last seq any producer was issued for the session (the server's
        counter): what a restarted game server waits for before it recovers, when it no longer knows what
        it sent."""
        if seq is None:
            self.flush()
            seq = self.last_seq(session_id)
        return self._get(f"/v1/sessions/{_quote(session_id)}/wait", {"seq": seq, "timeoutMs": timeout_ms}, timeout=timeout_ms / 1000 + self._timeout)

    def player_stats(self, player: Id) -> Optional[Dict[str, Any]]:
        try:
            return self._get(f"/v1/players/{_quote(player)}/stats")
        except ApiError as e:
            if e.status == 404:
                return None
            raise

    def leaderboard(self, by: str = "xp", *, period: Optional[str] = None, game: Optional[str] = None, around: Optional[Id] = None, limit: int = 100) -> Dict[str, Any]:
        """A board by ``xp``, ``wins``, ``win_rate``, ``rating`` or ``best_score`` (the highest outcome score)."""
        q = {k: v for k, v in {"by": by, "period": period, "game": game, "around": around, "limit": limit}.items() if v is not None}
        return self._get("/v1/leaderboard", q)

    def active_sessions(self, *, tenant: Optional[Id] = None, game_type: Optional[str] = None, limit: int = 100, tail_limit: Optional[int] = None) -> Iterator[Dict[str, Any]]:
        """Every active (not ended) session, recovered, a page at a time: what a restarted server resumes."""
        return self._pages("/v1/sessions", {"tenant": tenant, "gameType": game_type, "limit": limit, "tailLimit": tail_limit}, "sessions", "cursor", "nextCursor")

    def replay(self, session_id: Id, *, from_seq: Optional[int] = None, to_seq: Optional[int] = None, after: Optional[str] = None) -> Iterator[Dict[str, Any]]:
        """The session's events in sequence order, streamed (NDJSON) as they are read."""
        q = {k: v for k, v in {"from": from_seq, "to": to_seq, "after": after}.items() if v is not None}
        path = f"/v1/sessions/{_quote(session_id)}/replay" + ("?" + urllib.parse.urlencode(q) if q else "")
        req = urllib.request.Request(self._base + path, method="GET", headers=self._headers)
        try:
            with urllib.request.urlopen(req, timeout=self._timeout) as res:
                for line in res:
                    if line.strip():
                        yield json.loads(line)
        except urllib.error.HTTPError as e:
            raise _api_error(e) from None

    def recent_sessions(self, *, tenant: Optional[Id] = None, limit: int = 20) -> List[Dict[str, Any]]:
        return self._get("/v1/sessions/recent", {k: v for k, v in {"tenant": tenant, "limit": limit}.items() if v is not None})

    def session_leaderboard(self, session_id: Id) -> Any:
        return self._get(f"/v1/sessions/{_quote(session_id)}/leaderboard")

    def snapshots(self, session_id: Id, *, with_state: bool = False) -> List[Dict[str, Any]]:
        return self._get(f"/v1/sessions/{_quote(session_id)}/snapshots", {"withState": "true" if with_state else "false"})

    def tenant_stats(self, tenant: Id, days: int = 7) -> Dict[str, Any]:
        """Seed 000's /chatstats: a chat's sessions of the last days and its completion rate."""
        return self._get(f"/v1/tenants/{_quote(tenant)}/stats", {"days": days})

    def daily_stats(self, days: int = 7, game: Optional[str] = None) -> List[Dict[str, Any]]:
        """Sessions created, started, finished and abandoned per day, newest first; of one game type with ``game``."""
        return self._get("/v1/stats/daily", {k: v for k, v in {"days": days, "game": game}.items() if v is not None})

    def tenant_chat(self, tenant: Id, days: int = 7) -> Dict[str, Any]:
        """Seed 000's /chatstats messages: a chat's messages of the last days, per player (and channel) and per channel."""
        return self._get(f"/v1/tenants/{_quote(tenant)}/chat", {"days": days})

    def session_agents(self, session_id: Id) -> Optional[Dict[str, Any]]:
        """A session's LLM/agent calls per player, model and provider: calls, token sums, latency mean, max, p95. None if unknown."""
        return self._get_or_none(f"/v1/sessions/{_quote(session_id)}/agents")

    def player_agents(self, player: Id) -> Optional[Dict[str, Any]]:
        """A player's LLM/agent calls across sessions per model and provider. None if unknown."""
        return self._get_or_none(f"/v1/players/{_quote(player)}/agents")

    def queue_waiting(self, tenant: Id, limit: int = 100) -> List[Dict[str, Any]]:
        """The players waiting in a tenant's join queue, longest-waiting first."""
        return self._get(f"/v1/tenants/{_quote(tenant)}/queue", {"limit": limit})["waiting"]

    def queue_notify(self, tenant: Id, count: int) -> List[Dict[str, Any]]:
        """Seed 000's notify_queue: take the next ``count`` waiting players not notified yet and mark them."""
        body = json.dumps({"count": count}).encode("utf-8")
        return self._request("POST", f"/v1/tenants/{_quote(tenant)}/queue/notify", body=body)["notified"]

    # ---- HTTP -----------------------------------------------------------------------------------

    def _pages(self, path: str, query: Dict[str, Any], items: str, cursor_param: str, next_key: str) -> Iterator[Dict[str, Any]]:
        """Every item of a paged route: each page's ``items``, following ``next_key`` as ``cursor_param``."""
        cursor: Optional[str] = None
        while True:
            q = {k: v for k, v in dict(query, **{cursor_param: cursor}).items() if v is not None}
            page = self._get(path, q)
            yield from page[items]
            cursor = page.get(next_key)
            if not cursor:
                return

    def _get_or_none(self, path: str) -> Any:
        try:
            return self._get(path)
        except ApiError as e:
            if e.status == 404:
                return None
            raise

    def _get(self, path: str, query: Optional[Dict[str, Any]] = None, timeout: Optional[float] = None) -> Any:
        if query:
            path += "?" + urllib.parse.urlencode({k: str(v) for k, v in query.items()})
        return self._request("GET", path, timeout=timeout)

    def _request(self, method: str, path: str, body: Optional[bytes] = None, headers: Optional[Dict[str, str]] = None, timeout: Optional[float] = None) -> Any:
        h = dict(self._headers)
        if body is not None:
            h["content-type"] = "application/json"
        h.update(headers or {})
        req = urllib.request.Request(self._base + path, data=body, method=method, headers=h)
        try:
            with urllib.request.urlopen(req, timeout=timeout or self._timeout) as res:
                return json.loads(res.read() or b"null")
        except urllib.error.HTTPError as e:
            raise _api_error(e) from None


def _call(callback: Callable[[Any], None], arg: Any) -> None:
    """Runs a user callback; what it raises is printed, never lost, and never stops the sender."""
    try:
        callback(arg)
    except Exception:  # noqa: BLE001 - a callback's bug must not kill the sending thread
        traceback.print_exc(file=sys.stderr)


def _api_error(e: urllib.error.HTTPError) -> ApiError:
    raw = e.read()
    try:
        err = json.loads(raw)["error"]
        return ApiError(e.code, err.get("code", "error"), err.get("message", ""))
    except (ValueError, KeyError, TypeError):
        return ApiError(e.code, "http_error", raw[:200].decode("utf-8", "replace"))


def _quote(v: Id) -> str:
    return urllib.parse.quote(str(v), safe="")
