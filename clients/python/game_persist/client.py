"""The client: typed helpers for every event type, documents and game types, and the read calls. The
buffering and sending are in ``_publisher``, the HTTP and its retries in ``_transport``."""

import json
import urllib.parse
from typing import Any, Dict, Iterator, List, Optional, Union

from ._errors import ApiError, BufferFullError, GamePersistError, PublishError, Rejected
from ._publisher import Publisher
from ._transport import quote
from ._wire import Id, data_fields, merge_patch, uuid7

# The names this module had before it was split, so ``from game_persist.client import ...`` keeps working.
__all__ = ["ApiError", "BufferFullError", "Client", "GamePersistError", "PublishError", "Rejected", "merge_patch", "uuid7"]


class Client(Publisher):
    """A game-persist HTTP API client. Thread-safe; one per process is enough.

    Events are buffered and sent in batches of ``batch_size`` or after ``linger_ms``, whichever comes
    first, by a background thread; ``flush()`` sends what is buffered and waits. Each event gets a
    client-side UUIDv7 id and each batch an Idempotency-Key, so a retried batch (a timeout, a 503, a
    lost response) is stored once with the same sequence numbers. Events the contract refuses are
    reported to ``on_rejected`` (and kept in ``rejected``); a batch that fails after ``max_retries`` is
    reported to ``on_error`` and raised by the next ``flush()``. The events the API accepted are reported
    to ``on_accepted``, once per request, as a list in the order sent: each event as sent, with the ``seq``
    the API gave it (None for ``queue.*``). An audit trail of what the pipeline owes you.

    At most ``max_buffered`` events wait to be sent; ``emit`` on a full buffer waits up to
    ``block_timeout`` seconds (default 1; 0: not at all; None: as long as it takes) for room, then raises
    BufferFullError without buffering the event.

    A batch answered 429 or 503 (and a read answered 429 or 503) is retried after what the answer's
    ``Retry-After`` says, seconds or an HTTP-date, at most ``max_retry_after`` seconds (default 30); an
    answer without it, after an exponential backoff with jitter. At most ``max_retries`` retries.

    The callbacks run on the sending thread (or the one calling ``publish``); an exception they raise is
    logged and does not stop the sending. The client logs to the ``game_persist`` logger (``logging``):
    retries as warnings, undelivered batches and callback errors as errors (with their traceback). It
    adds only a ``NullHandler``: configure logging in your application to see them.
    """

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # ---- typed helpers (keyword arguments are the contract's data fields, snake_case; id, seq and at
    # are the envelope's; a top-level None means "absent", nested values are sent as they are) --------

    def _helper(self, type: str, session_id: Optional[Id], player: Optional[Id], fields: Dict[str, Any]) -> str:
        env = {k: fields.pop(k) for k in list(fields) if k in ("id", "seq", "at")}
        return self.emit(type, session_id, data_fields(fields), player=player, **env)

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
        data = data_fields(fields)
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
        return self._request("PUT", f"/v1/contract/types/{quote(type)}", body=json.dumps(body).encode("utf-8"))

    def event_types(self) -> Dict[str, Any]:
        """``{"mode": "open"|"registered", "types": [...]}``: the registered game types and their schemas."""
        return self._get("/v1/contract/types")

    def remove_type(self, type: str) -> bool:
        try:
            self._request("DELETE", f"/v1/contract/types/{quote(type)}")
            return True
        except ApiError as e:
            if e.status == 404:
                return False
            raise

    def document(self, session_id: Id, collection: str, key: str, *, player: Optional[Id] = None) -> Optional[Dict[str, Any]]:
        """One document (``value``, ``version``, ``seq``, ``updatedAt``), or None."""
        q = {"player": player} if player is not None else None
        try:
            return self._get(f"/v1/sessions/{quote(session_id)}/documents/{quote(collection)}/{quote(key)}", q)
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
        return self._pages(f"/v1/sessions/{quote(session_id)}/documents/{quote(collection)}", q, "documents", "after", "next")

    def player_documents(self, player: Id, *, collection: Optional[str] = None, page_size: int = 100) -> Iterator[Dict[str, Any]]:
        """A player's documents across sessions."""
        return self._pages(f"/v1/players/{quote(player)}/documents", {"collection": collection, "limit": page_size}, "documents", "after", "next")

    def document_rejections(self, session_id: Id) -> List[Dict[str, Any]]:
        """The session's document writes that were not applied: ``conflict`` (expectedVersion differed) and ``over_limit``."""
        return self._get(f"/v1/sessions/{quote(session_id)}/document-rejections", {"limit": 1000})["rejections"]

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
            return self._get(f"/v1/sessions/{quote(session_id)}/recover", q)
        except ApiError as e:
            if e.status == 404:
                return None
            raise

    def wait_persisted(self, session_id: Id, seq: Union[int, str, None] = None, timeout_ms: int = 10_000) -> Dict[str, Any]:
        """Blocks until the session is stored and folded through ``seq`` (default: ``last_seq``, after a
        ``flush()``); raises ApiError with code ``timeout`` when it takes longer than ``timeout_ms``.

        ``seq="issued"`` waits for the last seq any producer was issued for the session (the server's
        counter): what a restarted game server waits for before it recovers, when it no longer knows what
        it sent."""
        if seq is None:
            self.flush()
            seq = self.last_seq(session_id)
        return self._get(f"/v1/sessions/{quote(session_id)}/wait", {"seq": seq, "timeoutMs": timeout_ms}, timeout=timeout_ms / 1000 + self._timeout)

    def player_stats(self, player: Id) -> Optional[Dict[str, Any]]:
        try:
            return self._get(f"/v1/players/{quote(player)}/stats")
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
        path = f"/v1/sessions/{quote(session_id)}/replay" + ("?" + urllib.parse.urlencode(q) if q else "")
        with self._open("GET", path) as res:
            for line in res:
                if line.strip():
                    yield json.loads(line)

    def recent_sessions(self, *, tenant: Optional[Id] = None, limit: int = 20) -> List[Dict[str, Any]]:
        return self._get("/v1/sessions/recent", {k: v for k, v in {"tenant": tenant, "limit": limit}.items() if v is not None})

    def session_leaderboard(self, session_id: Id) -> Any:
        return self._get(f"/v1/sessions/{quote(session_id)}/leaderboard")

    def snapshots(self, session_id: Id, *, with_state: bool = False) -> List[Dict[str, Any]]:
        return self._get(f"/v1/sessions/{quote(session_id)}/snapshots", {"withState": "true" if with_state else "false"})

    def tenant_stats(self, tenant: Id, days: int = 7) -> Dict[str, Any]:
        """Seed 000's /chatstats: a chat's sessions of the last days and its completion rate."""
        return self._get(f"/v1/tenants/{quote(tenant)}/stats", {"days": days})

    def daily_stats(self, days: int = 7, game: Optional[str] = None) -> List[Dict[str, Any]]:
        """Sessions created, started, finished and abandoned per day, newest first; of one game type with ``game``."""
        return self._get("/v1/stats/daily", {k: v for k, v in {"days": days, "game": game}.items() if v is not None})

    def tenant_chat(self, tenant: Id, days: int = 7) -> Dict[str, Any]:
        """Seed 000's /chatstats messages: a chat's messages of the last days, per player (and channel) and per channel."""
        return self._get(f"/v1/tenants/{quote(tenant)}/chat", {"days": days})

    def session_agents(self, session_id: Id) -> Optional[Dict[str, Any]]:
        """A session's LLM/agent calls per player, model and provider: calls, token sums, latency mean, max, p95. None if unknown."""
        return self._get_or_none(f"/v1/sessions/{quote(session_id)}/agents")

    def player_agents(self, player: Id) -> Optional[Dict[str, Any]]:
        """A player's LLM/agent calls across sessions per model and provider. None if unknown."""
        return self._get_or_none(f"/v1/players/{quote(player)}/agents")

    def queue_waiting(self, tenant: Id, limit: int = 100) -> List[Dict[str, Any]]:
        """The players waiting in a tenant's join queue, longest-waiting first."""
        return self._get(f"/v1/tenants/{quote(tenant)}/queue", {"limit": limit})["waiting"]

    def queue_notify(self, tenant: Id, count: int) -> List[Dict[str, Any]]:
        """Seed 000's notify_queue: take the next ``count`` waiting players not notified yet and mark them."""
        body = json.dumps({"count": count}).encode("utf-8")
        return self._request("POST", f"/v1/tenants/{quote(tenant)}/queue/notify", body=body)["notified"]
