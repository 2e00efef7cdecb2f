"""The harness contract (examples/README.md) for the Python game servers, on the Python client only.

What a Python game server of examples/ shares: its environment (GAME_*, GP_API_*), the ledger of accepted
events and the crash point, the start-up recovery (wait for what was issued, then recover), the out file,
and ``Session``: one session played in steps that can be resumed after a SIGKILL from the recovery API
alone.

How a step survives a kill. A step emits its events, then one ``turn.result`` whose merge patch takes the
live state from the step's start to its end. The client sends events in order, one batch after another,
so what the pipeline holds after a kill is a prefix of what the process emitted: the live state is the
state after the last whole step, and the recovery's ``sinceState`` is the beginning of the step that was
cut. Every random choice of a step derives from (GAME_SEED, session, turn), so the restarted process plans
the same step again from the same state, skips the events ``sinceState`` shows were stored, and emits the
rest. Join-queue events carry no seq: the step checks the queue itself (``queue_waiting``).
"""

import copy
import hashlib
import json
import logging
import os
import random
import signal
import sys
import threading
import time
from typing import Any, Callable, Dict, List, Optional

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "clients", "python"))

from game_persist import ApiError, Client, merge_patch  # noqa: E402


class GameEnv:
    """The environment a game server starts with (examples/README.md, "Environment in")."""

    def __init__(self, env: Dict[str, str]):
        if not env.get("GAME_RUN"):
            raise SystemExit("GAME_RUN is not set (see examples/README.md)")
        if not env.get("GP_API_URL") or not env.get("GP_API_KEY"):
            raise SystemExit("GP_API_URL and GP_API_KEY are required (a key with the ingest, read and admin scopes)")
        self.run = env["GAME_RUN"]
        self.sessions = int(env.get("GAME_SESSIONS", "3"))
        self.seed = int(env.get("GAME_SEED", "1"))
        self.scale = "demo" if env.get("GAME_SCALE") == "demo" else "test"
        self.pace_ms = int(env.get("GAME_PACE_MS", "0"))
        self.api_url = env["GP_API_URL"]
        self.api_key = env["GP_API_KEY"]
        self.ledger = env.get("GAME_LEDGER") or None
        self.out = env.get("GAME_OUT") or None
        self.crash_after = int(env["GAME_CRASH_AFTER"]) if env.get("GAME_CRASH_AFTER") else None


class Ledger:
    """One JSON line per event the API accepted (the event as sent, with its id and seq), written and
    flushed per request. Once GAME_CRASH_AFTER events were accepted the process SIGKILLs itself, after the
    lines of the request that reached the count (the API accepts a request's events at once: killing
    in its middle would leave accepted events out of the ledger)."""

    def __init__(self, path: Optional[str], crash_after: Optional[int]):
        self._file = open(path, "a", encoding="utf-8") if path else None
        self._crash_after = crash_after
        self._lock = threading.Lock()
        self.accepted = 0

    def record(self, events: List[Dict[str, Any]]) -> None:
        lines = "".join(
            json.dumps({k: e.get(k) for k in ("id", "type", "sessionId", "player", "seq", "at", "data")}, ensure_ascii=False, separators=(",", ":")) + "\n"
            for e in events
        )
        with self._lock:
            if self._file:
                self._file.write(lines)
                self._file.flush()
            self.accepted += len(events)
            if self._crash_after is not None and self.accepted >= self._crash_after:
                os.kill(os.getpid(), signal.SIGKILL)


def connect(env: GameEnv, ledger: Ledger) -> Client:
    """The client a game server publishes and reads with; every accepted event goes to the ledger."""
    # The client logs through `logging` (logger "game_persist") and prints nothing itself: show its errors
    # (a batch not delivered, a ledger write that raised, with its traceback) on stderr.
    logging.basicConfig(level=logging.ERROR, format="%(name)s %(levelname)s: %(message)s")
    return Client(env.api_url, env.api_key, batch_size=25, linger_ms=20, on_accepted=ledger.record)


# ---- state ----------------------------------------------------------------------------------------



def diff_patch(old: Dict[str, Any], new: Dict[str, Any]) -> Dict[str, Any]:
    """The RFC 7396 merge patch that takes ``old`` to ``new`` (states hold no nulls: null deletes)."""
    patch: Dict[str, Any] = {}
    for k in old:
        if k not in new:
            patch[k] = None
    for k, v in new.items():
        if k not in old:
            patch[k] = copy.deepcopy(v)
        elif isinstance(v, dict) and isinstance(old[k], dict):
            sub = diff_patch(old[k], v)
            if sub:
                patch[k] = sub
        elif v != old[k] or type(v) is not type(old[k]):
            patch[k] = copy.deepcopy(v)
    return patch


def canonical(value: Any) -> str:
    """RFC 8785 canonical JSON for what our states hold (strings, integers, booleans, lists, objects)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def state_hash(state: Dict[str, Any]) -> str:
    """The hash game-persist checks a snapshot with: SHA-256 of the canonical JSON."""
    return hashlib.sha256(canonical(state).encode("utf-8")).hexdigest()


# ---- sessions -------------------------------------------------------------------------------------


class Session:
    """One session of a game, played a step at a time (see the module's docstring)."""

    game = "game"

    def __init__(self, gp: Client, env: GameEnv, index: int):
        self.gp = gp
        self.env = env
        self.index = index
        self.id = f"{env.run}-{self.game}-{index}"
        self.state: Dict[str, Any] = {}
        self.done = False
        self.resumed = False
        self._since: List[Dict[str, Any]] = []

    # The game's part.
    def step(self) -> None:
        raise NotImplementedError

    def out(self) -> Dict[str, Any]:
        """This session's entry in GAME_OUT."""
        return {"state": self.state}

    # Start-up.
    def resume(self, rec: Optional[Dict[str, Any]]) -> None:
        """Takes the session back from its recovery (None: it does not exist yet, start it)."""
        if rec is None:
            return
        self.resumed = True
        self.state = rec["state"]["value"] if rec["state"] else {}
        self._since = [e for e in rec["sinceState"] if e.get("seq") is not None]
        if rec["session"]["status"] in ("finished", "abandoned"):
            self.done = True

    @property
    def redoing(self) -> bool:
        """True while the step being planned was cut by a kill and part of it is stored."""
        return bool(self._since)

    def since(self, type: str) -> List[Dict[str, Any]]:
        """The stored events of the cut step, of one type (a step that needs what it decided before)."""
        return [e for e in self._since if e["type"] == type]

    def rng(self) -> random.Random:
        """The random source of the step about to be played: the same after a restart."""
        return random.Random(f"{self.env.seed}:{self.game}:{self.index}:{self.state.get('turn', 0)}")

    # Emitting.
    def emit(self, type: str, data: Dict[str, Any], player: Optional[str] = None) -> None:
        """One event of the session (it gets a seq); skipped when the cut step already stored it."""
        if self._since:
            e = self._since.pop(0)
            if e["type"] != type or e.get("player") != player:
                raise RuntimeError(f"{self.id}: the step planned again differs from what was stored: {type}/{player} vs {e['type']}/{e.get('player')} at seq {e['seq']}")
            return
        self.gp.emit(type, self.id, data, player=player)

    def commit(self, new_state: Dict[str, Any], *, full: bool = False) -> None:
        """Ends the step: a turn.result taking the state to ``new_state`` (a merge patch, or with ``full`` the
        whole state and its hash, which the workers snapshot and verify)."""
        new_state = dict(new_state, turn=self.state.get("turn", 0) + 1)
        if full:
            data = {"turn": new_state["turn"], "state": new_state, "stateHash": state_hash(new_state)}
        else:
            patch = diff_patch(self.state, new_state)
            assert merge_patch(self.state, patch) == new_state, "diff_patch is wrong"
            data = {"turn": new_state["turn"], "patch": patch}
        if "round" in new_state:
            data["round"] = new_state["round"]
        self.emit("turn.result", data)
        if self._since:
            raise RuntimeError(f"{self.id}: events stored after the step's end: {[e['type'] for e in self._since]}")
        self.state = new_state


def wait_issued(gp: Client, session_id: str, log: Callable[[str], None]) -> None:
    """Waits until everything issued for the session is stored and folded (a wait can time out when a kill
    left a seq gap, which the workers give up after GP_GAP_TIMEOUT_S: wait again)."""
    deadline = time.monotonic() + 120
    while True:
        try:
            gp.wait_persisted(session_id, "issued", timeout_ms=10_000)
            return
        except ApiError as e:
            if e.status != 408 or time.monotonic() > deadline:
                raise
            log(f"{session_id}: still waiting for what was issued")


def start(sessions: List[Session], documents: bool, log: Callable[[str], None]) -> None:
    """The start-up recovery of every session: wait, recover, rebuild."""
    for s in sessions:
        wait_issued(s.gp, s.id, log)
        rec = s.gp.recover(s.id, documents=documents)
        s.resume(rec)
        if rec is not None:
            log(f"{s.id}: recovered at turn {s.state.get('turn', 0)} ({rec['session']['status']}, {len(s._since)} event(s) of a cut step stored)")


def play(sessions: List[Session], pace_ms: int) -> None:
    """Plays every session to its end, a step of each in turn (they run concurrently)."""
    active = [s for s in sessions if not s.done]
    while active:
        for s in list(active):
            s.step()
            if s.done:
                active.remove(s)
        if pace_ms:
            time.sleep(pace_ms / 1000)


def finish(gp: Client, env: GameEnv, game: str, sessions: List[Session], extra: Optional[Dict[str, Any]] = None) -> None:
    """Sends what is buffered, waits until it is persisted, writes GAME_OUT; exits 1 on a refused event."""
    gp.flush()
    for s in sessions:
        seq = gp.last_seq(s.id)
        if seq:
            gp.wait_persisted(s.id, seq, timeout_ms=60_000)
    if gp.rejected:
        for r in gp.rejected:
            print(f"refused: {r.event.get('type')} {r.field}: {r.reason}", file=sys.stderr)
        raise SystemExit(1)
    out = {"game": game, "sessions": {s.id: s.out() for s in sessions}, "restarts": int(any(s.resumed for s in sessions))}
    out.update(extra or {})
    if env.out:
        with open(env.out, "w", encoding="utf-8") as f:
            json.dump(out, f, ensure_ascii=False, indent=2)
