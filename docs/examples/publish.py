#!/usr/bin/env python3
"""
Publishing game-persist events from Python with the `bullmq` PyPI package (no game-persist SDK).
It plays one short session that uses every v1 event type (documents included) and a game-defined type
of its own (`x.docs.note`), plus an abandoned lobby and a join queue. A test runs its --dry-run output
through a real worker (test/integration/docs/examples.test.ts).

    pip install bullmq          # brings redis-py along
    REDIS_URL=redis://127.0.0.1:6379 GP_QUEUE_PREFIX=gp python3 docs/examples/publish.py

    python3 docs/examples/publish.py --dry-run   # print the events as JSON, numbered locally; no Redis

See docs/contract.md for the rules this follows. The --dry-run path needs only the standard library.
"""
import asyncio
import json
import os
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379")
PREFIX = os.environ.get("GP_QUEUE_PREFIX") or "gp"  # must match the workers' GP_QUEUE_PREFIX
QUEUE_NAME = "events"
JOB_NAME = "events"
EVENTS_PER_JOB = 100  # ~100 events per job
# The same policy the SDK uses: a job whose write fails transiently is retried, not lost.
JOB_OPTIONS = {
    "removeOnComplete": True,
    "removeOnFail": {"age": 7 * 24 * 3600},
    "attempts": 20,
    "backoff": {"type": "exponential", "delay": 1000},
}
SEQ_TTL_SECONDS = 30 * 24 * 3600  # TTL the SDK gives {prefix}:seq:{sessionId}


def uuid7() -> str:
    """A UUIDv7 (RFC 9562): 48-bit Unix milliseconds, version 7, random bits, RFC variant."""
    if hasattr(uuid, "uuid7"):  # Python 3.14+
        return str(uuid.uuid7())
    ms = time.time_ns() // 1_000_000
    r = int.from_bytes(os.urandom(10), "big")  # 80 random bits, 74 used
    n = (ms & (2**48 - 1)) << 80 | 0x7 << 76 | (r >> 68) << 64 | 0b10 << 62 | (r & (2**62 - 1))
    return str(uuid.UUID(int=n))


def now() -> str:
    """RFC 3339 with a zone, e.g. 2026-11-21T10:00:00.123456+00:00."""
    return datetime.now(timezone.utc).isoformat()


def event(type_: str, data: dict, session_id=None, player=None) -> dict:
    ev = {"id": uuid7(), "type": type_, "at": now(), "data": data}
    if session_id is not None:
        ev["sessionId"] = session_id
    if player is not None:
        ev["player"] = player
    return ev


def play_session(run: str) -> list:
    """One short game that uses every event type. Events with a sessionId get their seq later."""
    sid, lobby, tenant = f"py-{run}-game", f"py-{run}-lobby", f"py-{run}-guild"
    players = [f"{p}-{run}" for p in ("ana", "ben", "cho")]
    expires = (datetime.now(timezone.utc) + timedelta(minutes=10)).isoformat()
    out = []
    # Waiting in the tenant's join queue: no session yet, so no seq.
    for p in players:
        out.append(event("queue.entered", {"tenant": tenant, "expiresAt": expires, "meta": {"elo": 1200}}, player=p))
    out.append(event("session.created", {"gameType": "impostor", "tenant": tenant, "name": "Docs example",
                                         "createdBy": players[0], "settings": {"rounds": 1}}, sid))
    for i, p in enumerate(players):
        # Leaving the queue for this session: with a sessionId the event takes a seq of that session.
        out.append(event("queue.left", {"tenant": tenant, "reason": "joined"}, sid, p))
        out.append(event("player.joined", {"role": "impostor" if i == 2 else "crew", "team": "red" if i == 2 else "blue",
                                           "position": i, "name": p.split("-")[0]}, sid, p))
    out.append(event("session.started", {"settings": {"rounds": 1}}, sid))
    # Documents: the session's own (a room) and a player's (a character, written only over version 0),
    # then one deleted. Applied in seq order by the worker.
    out.append(event("doc.put", {"collection": "rooms", "key": "admin", "value": {"lights": True}}, sid))
    out.append(event("doc.put", {"collection": "characters", "key": players[0], "owner": "player",
                                 "value": {"color": "red"}, "expectedVersion": 0}, sid, players[0]))
    out.append(event("doc.put", {"collection": "rooms", "key": "storage", "value": {"lights": False}}, sid))
    out.append(event("doc.delete", {"collection": "rooms", "key": "storage"}, sid))
    # A game's own event type: free-form data (checked against its JSON Schema once one is registered).
    out.append(event("x.docs.note", {"text": "saw cho near the vent", "round": 1}, sid, players[1]))
    out.append(event("task.completed", {"taskType": "wires", "xp": 10, "description": "Fix wiring"}, sid, players[0]))
    out.append(event("task.completed", {"taskType": "wires", "fake": True}, sid, players[2]))
    out.append(event("move", {"action": "walk", "round": 1, "turn": 1, "data": {"from": "cafeteria", "to": "admin"}}, sid, players[1]))
    out.append(event("agent.log", {"model": "example-model", "provider": "example", "agent": "impostor-bot", "turn": 1,
                                   "prompt": "You are the impostor. Who do you accuse?", "response": "ben was in admin alone.",
                                   "promptTokens": 12, "completionTokens": 7, "latencyMs": 812.5}, sid, players[2]))
    out.append(event("chat.message", {"text": "ben was in admin alone \U0001F914", "channel": "discussion", "round": 1}, sid, players[2]))
    out.append(event("vote", {"target": players[2], "round": 1, "kind": "eject"}, sid, players[0]))
    out.append(event("vote", {"target": players[2], "round": 1, "kind": "eject"}, sid, players[1]))
    out.append(event("vote", {"target": None, "round": 1, "kind": "eject"}, sid, players[2]))  # None = skip
    out.append(event("turn.result", {"turn": 1, "round": 1, "results": {"ejected": players[2]},
                                     "state": {"alive": players[:2], "round": 1}, "stateHash": "a1"}, sid))
    out.append(event("turn.result", {"turn": 2, "round": 1, "patch": {"phase": "ended"}}, sid))  # RFC 7396 patch
    out.append(event("player.left", {"reason": "ejected"}, sid, players[2]))
    for i, p in enumerate(players):
        out.append(event("player.outcome", {"outcome": "loss" if i == 2 else "win", "xp": 5 if i == 2 else 50,
                                            "score": 0 if i == 2 else 1.5}, sid, p))
    out.append(event("session.finished", {"winners": players[:2], "result": "crew win",
                                          "scores": {p: (0 if i == 2 else 1.5) for i, p in enumerate(players)}}, sid))
    # A lobby that never started; integer ids are accepted too (stored as text).
    out.append(event("session.created", {"gameType": "impostor", "tenant": tenant, "createdBy": 4242}, lobby))
    out.append(event("session.abandoned", {"reason": "not enough players"}, lobby))
    return out


def by_session(events: list) -> dict:
    groups = {}
    for ev in events:
        if "sessionId" in ev and "seq" not in ev:
            groups.setdefault(str(ev["sessionId"]), []).append(ev)
    return groups


def assign_seqs_locally(events: list, counters: dict) -> None:
    """Option 1: keep your own per-session counter (only if one process owns the session for its life)."""
    for sid, evs in by_session(events).items():
        for ev in evs:
            counters[sid] = counters.get(sid, 0) + 1
            ev["seq"] = counters[sid]


async def assign_seqs_redis(client, events: list) -> None:
    """Option 2: reserve blocks from the counter the SDK uses: INCRBY {prefix}:seq:{sessionId} n."""
    groups = by_session(events)
    if not groups:
        return
    async with client.pipeline(transaction=True) as pipe:
        for sid, evs in groups.items():
            key = f"{PREFIX}:seq:{sid}"
            pipe.incrby(key, len(evs)).expire(key, SEQ_TTL_SECONDS)
        replies = await pipe.execute()
    for i, evs in enumerate(groups.values()):
        last = int(replies[2 * i])
        for j, ev in enumerate(evs):
            ev["seq"] = last - len(evs) + 1 + j


async def publish(events: list) -> int:
    from bullmq import Queue  # pip install bullmq
    import redis.asyncio as aioredis  # installed with bullmq

    client = aioredis.from_url(REDIS_URL, decode_responses=True)
    queue = Queue(QUEUE_NAME, {"connection": REDIS_URL, "prefix": PREFIX})
    try:
        await assign_seqs_redis(client, events)
        jobs = 0
        for i in range(0, len(events), EVENTS_PER_JOB):
            payload = {"v": 1, "events": events[i:i + EVENTS_PER_JOB]}
            json.dumps(payload, allow_nan=False)  # NaN/Infinity are not JSON: fail here, not in the worker
            await queue.add(JOB_NAME, payload, JOB_OPTIONS)
            jobs += 1
        return jobs
    finally:
        await queue.close()
        await (client.aclose() if hasattr(client, "aclose") else client.close())


def main() -> None:
    run = f"{int(time.time() * 1000):x}{os.urandom(2).hex()}"
    events = play_session(run)
    if "--dry-run" in sys.argv:
        assign_seqs_locally(events, {})
        print(json.dumps({"v": 1, "events": events}, allow_nan=False, ensure_ascii=False, indent=1))
        return
    jobs = asyncio.run(publish(events))
    types = {ev["type"] for ev in events}
    print(f"published {len(events)} events of {len(types)} types in {jobs} job(s) to {PREFIX}:{QUEUE_NAME} (session py-{run}-game)")


if __name__ == "__main__":
    main()
