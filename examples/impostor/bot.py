"""Impostor (seed 000): a Telegram-style bot whose group chats hold game rooms as topics, persisted
through game-persist's Python client.

Each session is one topic room of a chat (the tenant). A room's game: players /join the lobby up to its
size; those who come when it is full wait in the chat's join queue; when a player leaves the lobby the
slot opens and the queue is notified (the longest-waiting player, told once) and that player joins. At
the start roles are dealt (crewmates and impostors). Each round: everyone alive does tasks (crewmates
real ones with XP, impostors fake ones), an impostor may kill, a discussion, then an ejection vote in
which a player is ejected with the most votes, more than the skips and no tie. The crew wins when every
impostor is out or its tasks are done; the impostors win when they are as many as the crew, or when the
rounds run out. Then outcomes with XP, and the session's end.

Everything the game needs to go on is in what game-persist stores: the live state (a merge patch per
step), the participants, the join queue. A restarted bot waits for what was issued, recovers each room and
plays on (examples/lib/harness.py says how a step cut by a kill is finished).

    python3 examples/impostor/bot.py                            # play (the harness's environment)
    python3 examples/impostor/bot.py --answer stats <player>    # the seed's commands, from API reads:
    python3 examples/impostor/bot.py --answer leaderboard <session>
    python3 examples/impostor/bot.py --answer chatstats <chat>
    python3 examples/impostor/bot.py --answer global
    python3 examples/impostor/bot.py --answer recent <chat>
"""

import argparse
import os
import random
import sys
import time
from typing import Any, Dict, List, Optional

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

from harness import GameEnv, Ledger, Session, connect, finish, play, start  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "clients", "python"))
from game_persist import Client  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from answers import ANSWERS, display  # noqa: E402

NAMES = [
    "anna", "boris", "chen", "dana", "emil", "fatima", "gus", "hana", "ivan", "jun", "kira",
    "leo", "mia", "nikos", "olga", "pavel", "quinn", "rosa", "sven", "tara", "umar", "vera", "wes",
    "xena", "yuri", "zoe",
]
TASKS = {
    "ai_riddle": "Solved AI riddle",
    "swipe_card": "Swiped the card in Admin",
    "fix_wiring": "Fixed the wiring in Electrical",
    "download_data": "Downloaded the data in Navigation",
    "align_engine": "Aligned the engine output",
}
PLACES = ["Electrical", "Navigation", "MedBay", "Cafeteria", "Reactor", "Storage"]
SCALES = {
    # players per room, fewest to start, arrivals turned away into the queue, impostors, rounds at most,
    # tasks per crewmate and round, discussion messages per round, tasks per crewmate to win, and how
    # often a crewmate's suspicion falls on an impostor.
    "test": {"max_players": 5, "min_players": 4, "extra": 2, "impostors": 1, "max_rounds": 3, "tasks": 1, "talk": 3, "goal": 3, "insight": 0.45},
    "demo": {"max_players": 10, "min_players": 6, "extra": 3, "impostors": 2, "max_rounds": 10, "tasks": 2, "talk": 12, "goal": 12, "insight": 0.3},
}
TASK_XP, FAKE_TASK_XP = 10, 5
WIN_XP, LOSS_XP = 50, 15
KILL_CHANCE = 0.6


class Room(Session):
    """One topic room of a chat, and its game."""

    game = "impostor"

    def __init__(self, gp: Client, env: GameEnv, index: int, chats: Dict[str, List["Room"]]):
        super().__init__(gp, env, index)
        self.cfg = SCALES[env.scale]
        self.chat = f"{env.run}-chat-{index // 2}"
        self.chats = chats
        chats.setdefault(self.chat, []).append(self)
        # Rooms of one chat draw from disjoint halves of the names; rooms of different chats share players.
        size = self.cfg["max_players"] + self.cfg["extra"]
        half = NAMES[(index % 2) * size : (index % 2 + 1) * size]
        # Player ids outlive a run, as a Telegram user's id does: a bot that plays again adds to their stats.
        self.candidates = [f"tg-{n.lower()}" for n in half]
        random.Random(f"{env.seed}:impostor:{index}:candidates").shuffle(self.candidates)
        self._check_queue = False

    def resume(self, rec: Optional[Dict[str, Any]]) -> None:
        super().resume(rec)
        # The step a kill cut may have sent join-queue events (they have no seq): check the queue for them.
        self._check_queue = rec is not None and not self.done

    # ---- the steps --------------------------------------------------------------------------------

    def step(self) -> None:
        s = self.state
        phase = s.get("phase")
        if not s:
            self.create()
        elif phase == "lobby":
            if s["arrivals"] < len(self.candidates):
                self.arrive()
            elif not s["left"]:
                self.leave()
            elif len(s["players"]) < self.cfg["max_players"] and not s.get("queueEmpty"):
                self.fill()
            else:
                self.begin()
        elif phase == "tasks":
            self.tasks()
        elif phase == "discussion":
            self.discuss()
        elif phase == "voting":
            self.vote()
        elif phase == "over":
            self.outcomes()
        elif phase == "ended":
            self.close()
        self._check_queue = False

    def create(self) -> None:
        name = f"Game Room #{self.index + 1}"
        settings = {k: self.cfg[k] for k in ("max_players", "min_players", "impostors", "max_rounds")}
        self.emit("session.created", {"gameType": "impostor", "tenant": self.chat, "name": name, "createdBy": self.candidates[0], "settings": settings})
        self.commit({"phase": "lobby", "room": {"chat": self.chat, "topicId": 1000 + self.index, "name": name}, "players": [], "arrivals": 0, "queued": [], "left": [], "fromQueue": []})

    def arrive(self) -> None:
        """/join: into the lobby while it has room, else into the chat's join queue."""
        s = dict(self.state)
        p = self.candidates[s["arrivals"]]
        if len(s["players"]) < self.cfg["max_players"]:
            self.emit("player.joined", {"name": display(p), "position": len(s["players"])}, player=p)
            s["players"] = s["players"] + [p]
        else:
            self.queue_event("queue.entered", p, {"tenant": self.chat})
            s["queued"] = s["queued"] + [p]
        s["arrivals"] += 1
        self.commit(s)

    def leave(self) -> None:
        """/leave before the start: someone other than the host; a slot opens."""
        s = dict(self.state)
        p = self.rng().choice(s["players"][1:])
        self.emit("player.left", {"reason": "left the lobby"}, player=p)
        s["players"] = [x for x in s["players"] if x != p]
        s["left"] = s["left"] + [p]
        self.commit(s)

    def fill(self) -> None:
        """A slot is open: notify the queue (seed 000's notify_queue) and the notified player joins."""
        s = dict(self.state)
        joined = self.since("player.joined")
        p = joined[0]["player"] if joined else self.take_from_queue()
        if p is None:
            s["queueEmpty"] = True
        else:
            self.emit("player.joined", {"name": display(p), "position": len(s["players"]), "meta": {"from": "queue"}}, player=p)
            self.queue_event("queue.left", p, {"tenant": self.chat, "reason": "joined"})
            s["players"] = s["players"] + [p]
            s["fromQueue"] = s["fromQueue"] + [p]
        self.commit(s)

    def begin(self) -> None:
        s = dict(self.state)
        rng = self.rng()
        players = s["players"]
        if len(players) < self.cfg["min_players"]:
            raise RuntimeError(f"{self.id}: {len(players)} players, fewer than {self.cfg['min_players']}")
        impostors = set(rng.sample(players, self.cfg["impostors"]))
        roles = {p: ("impostor" if p in impostors else "crewmate") for p in players}
        crew = len(players) - len(impostors)
        self.emit("session.started", {"settings": {"players": len(players), "impostors": len(impostors), "taskGoal": crew * self.cfg["goal"]}})
        s.update(phase="tasks", round=1, roles=roles, alive=list(players), dead=[], ejected=[], tasksDone=0, taskGoal=crew * self.cfg["goal"])
        self.commit(s)

    def tasks(self) -> None:
        """Tasks (crewmates real, impostors fake), then maybe a kill."""
        s = dict(self.state)
        rng = self.rng()
        r = s["round"]
        done = s["tasksDone"]
        for p in s["alive"]:
            for _ in range(self.cfg["tasks"]):
                t = rng.choice(sorted(TASKS))
                if s["roles"][p] == "crewmate":
                    self.emit("task.completed", {"taskType": t, "xp": TASK_XP, "description": TASKS[t]}, player=p)
                    done += 1
                else:
                    self.emit("task.completed", {"taskType": t, "xp": FAKE_TASK_XP, "fake": True, "description": f"Pretended: {TASKS[t]}"}, player=p)
        s["tasksDone"] = done
        s.pop("lastKill", None)
        crew = [p for p in s["alive"] if s["roles"][p] == "crewmate"]
        imps = [p for p in s["alive"] if s["roles"][p] == "impostor"]
        if imps and crew and rng.random() < KILL_CHANCE:
            killer, victim, place = rng.choice(imps), rng.choice(crew), rng.choice(PLACES)
            self.emit("move", {"action": "kill", "round": r, "data": {"target": victim, "place": place}}, player=killer)
            s["alive"] = [p for p in s["alive"] if p != victim]
            s["dead"] = s["dead"] + [victim]
            s["lastKill"] = {"victim": victim, "place": place}
        self.end_round_or(s, "discussion", after_vote=False)
        self.commit(s)

    def discuss(self) -> None:
        s = dict(self.state)
        rng = self.rng()
        alive = s["alive"]
        for k in range(self.cfg["talk"]):
            speaker = rng.choice(alive)
            other = rng.choice([p for p in alive if p != speaker])
            kill = s.get("lastKill")
            if k == 0 and kill:
                text = f"{display(kill['victim'])} was found in {kill['place']}! 💀"
            else:
                text = rng.choice(
                    [
                        f"I think {display(other)} is sus",
                        f"I was doing {rng.choice(sorted(TASKS)).replace('_', ' ')} in {rng.choice(PLACES)}",
                        f"Where was {display(other)}?",
                        "No evidence, I'll skip",
                        f"{display(other)} was with me in {rng.choice(PLACES)}",
                    ]
                )
            self.emit("chat.message", {"text": text, "channel": "discussion", "round": s["round"]}, player=speaker)
        s["phase"] = "voting"
        self.commit(s)

    def vote(self) -> None:
        """Everyone alive votes to eject someone or skips; most votes, more than the skips, no tie: out."""
        s = dict(self.state)
        rng = self.rng()
        alive = s["alive"]
        imps = [p for p in alive if s["roles"][p] == "impostor"]
        crew = [p for p in alive if s["roles"][p] == "crewmate"]
        counts: Dict[str, int] = {}
        skips = 0
        for p in alive:
            x = rng.random()
            if s["roles"][p] == "impostor":
                target = rng.choice(crew) if crew and x < 0.75 else None
            elif imps and x < self.cfg["insight"]:
                target = rng.choice(imps)
            elif x < 0.8:
                target = rng.choice([q for q in alive if q != p])
            else:
                target = None
            self.emit("vote", {"target": target, "round": s["round"], "kind": "eject"}, player=p)
            if target is None:
                skips += 1
            else:
                counts[target] = counts.get(target, 0) + 1
        top = max(counts.values(), default=0)
        leaders = sorted(p for p, n in counts.items() if n == top)
        result: Dict[str, Any] = {"round": s["round"], "votes": counts, "skips": skips}
        if top > skips and len(leaders) == 1:
            out = leaders[0]
            self.emit("player.left", {"reason": "ejected"}, player=out)
            s["alive"] = [p for p in alive if p != out]
            s["ejected"] = s["ejected"] + [out]
            result["ejected"] = out
        s["lastVote"] = result
        self.end_round_or(s, "tasks", after_vote=True)
        self.commit(s)

    def end_round_or(self, s: Dict[str, Any], next_phase: str, after_vote: bool) -> None:
        """The win conditions, checked after the kill and after the vote."""
        crew = sum(1 for p in s["alive"] if s["roles"][p] == "crewmate")
        imps = sum(1 for p in s["alive"] if s["roles"][p] == "impostor")
        if imps == 0:
            winner, reason = "crewmates", "every impostor was ejected"
        elif s["tasksDone"] >= s["taskGoal"]:
            winner, reason = "crewmates", "the crew finished its tasks"
        elif imps >= crew:
            winner, reason = "impostors", "the impostors outnumber the crew"
        elif after_vote and s["round"] >= self.cfg["max_rounds"]:
            winner, reason = "impostors", "the crew ran out of time"
        else:
            s["phase"] = next_phase
            if after_vote:
                s["round"] += 1
            return
        s.update(phase="over", winner=winner, reason=reason)

    def outcomes(self) -> None:
        s = dict(self.state)
        side = "impostor" if s["winner"] == "impostors" else "crewmate"
        winners = []
        for p in s["players"]:
            role = s["roles"][p]
            won = role == side
            self.emit("player.outcome", {"outcome": "win" if won else "lose", "xp": WIN_XP if won else LOSS_XP, "role": role}, player=p)
            if won:
                winners.append(p)
        s.update(phase="ended", winners=winners)
        self.commit(s)

    def close(self) -> None:
        s = self.state
        self.emit("session.finished", {"result": s["winner"], "meta": {"winners": s["winners"], "reason": s["reason"], "rounds": s["round"]}})
        self.done = True
        print(f"{self.id}: {s['winner']} won in round {s['round']} ({s['reason']})", flush=True)

    # ---- the join queue ---------------------------------------------------------------------------

    def queue_event(self, type: str, player: str, data: Dict[str, Any]) -> None:
        """A join-queue event (no seq). In the first step after a restart, only if the queue lacks it."""
        if self._check_queue:
            waiting = {w["playerId"] for w in self.gp.queue_waiting(self.chat, limit=1000)}
            if (type == "queue.entered") == (player in waiting):
                return
        self.gp.emit(type, None, data, player=player)

    def take_from_queue(self) -> Optional[str]:
        """The next player for an open slot: one the queue already told (a kill came between telling and
        joining) and no room has taken, else the longest-waiting one, told now (handed out once)."""
        rooms = self.chats[self.chat]
        taken = {p for r in rooms for p in r.state.get("players", [])} | {e["player"] for r in rooms for e in r.since("player.joined")}
        expected = {p for r in rooms for p in r.state.get("queued", [])} - {p for r in rooms for p in r.state.get("fromQueue", [])}
        self.gp.flush()
        waiting = self.gp.queue_waiting(self.chat, limit=1000)
        # What this bot put in the queue is stored before the queue is asked. That waits for a worker: up
        # to 60 s, because a worker may be down meanwhile (npm start kills one and starts another, which
        # took 13 s on a loaded CI machine; a 10 s budget failed the demo there).
        deadline = time.monotonic() + 60
        while not expected <= {w["playerId"] for w in waiting}:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.chat}: the join queue lacks {sorted(expected - {w['playerId'] for w in waiting})}")
            time.sleep(0.05)
            waiting = self.gp.queue_waiting(self.chat, limit=1000)
        told = [w["playerId"] for w in waiting if w.get("notifiedAt") and w["playerId"] not in taken]
        if told:
            return told[0]
        notified = self.gp.queue_notify(self.chat, 1)
        return notified[0]["playerId"] if notified else None

    def out(self) -> Dict[str, Any]:
        return {"state": self.state, "chat": self.chat}


def main() -> None:
    ap = argparse.ArgumentParser(description="Impostor (seed 000) on game-persist")
    ap.add_argument("--answer", nargs="+", metavar=("COMMAND", "ARG"), help=f"answer a command ({', '.join(ANSWERS)}) from the read API and exit")
    args = ap.parse_args()
    if args.answer:
        cmd, *rest = args.answer
        if cmd not in ANSWERS:
            ap.error(f"unknown command {cmd}: use {', '.join(ANSWERS)}")
        with Client(os.environ["GP_API_URL"], os.environ["GP_API_KEY"]) as gp:
            print(ANSWERS[cmd](gp, *rest))
        return

    env = GameEnv(os.environ)
    ledger = Ledger(env.ledger, env.crash_after)
    gp = connect(env, ledger)
    chats: Dict[str, List[Room]] = {}
    rooms = [Room(gp, env, i, chats) for i in range(env.sessions)]
    log = lambda m: print(m, file=sys.stderr, flush=True)  # noqa: E731
    start(rooms, documents=False, log=log)
    play(rooms, env.pace_ms)
    finish(gp, env, "impostor", rooms, {"chats": {c: [r.id for r in rs] for c, rs in chats.items()}})
    gp.close()


if __name__ == "__main__":
    main()
