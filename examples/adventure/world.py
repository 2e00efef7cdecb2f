"""Magic Adventure (seed 003): a persistent world, persisted through game-persist's Python client.

Each session is a world that is never abandoned (``idleTimeoutS: 0``) and never ends: the harness stops
playing it once it has lived its ticks. Its terrain is Minecraft-style chunks of 16x16 blocks, each a
document (``chunks/<cx>:<cz>``); each hero is a character document owned by its player
(``characters/<player>``: class, stats, position, inventory, relationships), written only over the
version it read; stories (``stories/<id>``: scene, chapter, narrative threads) and AI agents
(``agents/<name>``: model, configuration, memory) are documents too.

Each tick the heroes explore, gather or build (setting a block in their chunk), one of them makes a
choice in its story (``x.adventure.story_choice``, a game-defined type registered with a JSON Schema),
and one AI agent acts: its LLM call (``agent.log``), its activity (``x.adventure.agent_activity``) and
the change it makes to the world (``x.adventure.world_evolution``): the terraformer turns a chunk's biome,
the storyteller adds a narrative thread, the merchant opens a resource. The live state (season, day,
weather, counts, and a digest of every document) moves by a merge patch per tick; every few ticks the
world sends its whole state with its hash, which the workers snapshot and verify: the world snapshots.

After a kill the restarted process waits for what was issued, recovers each world with its documents,
checks them against the digest in the state, and lives on (examples/lib/harness.py says how a tick cut
by the kill is finished).
"""

import argparse
import copy
import os
import sys
from typing import Any, Dict, Optional, Tuple

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

from harness import GameEnv, Ledger, Session, canonical, connect, finish, play, start, state_hash  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "clients", "python"))
from game_persist import Client  # noqa: E402

STORY_CHOICE = "x.adventure.story_choice"
WORLD_EVOLUTION = "x.adventure.world_evolution"
AGENT_ACTIVITY = "x.adventure.agent_activity"
EVOLUTION_TYPES = ["terrain", "story", "resource"]
TYPES = {
    STORY_CHOICE: (
        "a hero's choice in a story scene",
        {
            "type": "object",
            "properties": {
                "story": {"type": "string", "minLength": 1},
                "scene": {"type": "string", "minLength": 1},
                "option": {"type": "integer", "minimum": 0, "maximum": 9},
                "text": {"type": "string", "maxLength": 200},
                "chapter": {"type": "integer", "minimum": 1},
            },
            "required": ["story", "scene", "option"],
            "additionalProperties": False,
        },
    ),
    WORLD_EVOLUTION: (
        "a change an AI agent made to the world",
        {
            "type": "object",
            "properties": {
                "evolutionType": {"enum": EVOLUTION_TYPES},
                "agent": {"type": "string", "minLength": 1},
                "target": {"type": "string"},
                "changes": {"type": "object"},
                "impactScore": {"type": "number", "minimum": 0, "maximum": 1},
            },
            "required": ["evolutionType", "agent", "changes", "impactScore"],
            "additionalProperties": False,
        },
    ),
    AGENT_ACTIVITY: (
        "what an AI agent did in a tick",
        {
            "type": "object",
            "properties": {
                "agent": {"type": "string", "minLength": 1},
                "activityType": {"type": "string", "minLength": 1},
                "data": {"type": "object"},
                "results": {"type": "object"},
            },
            "required": ["agent", "activityType", "results"],
            "additionalProperties": False,
        },
    ),
}

WORLDS = ["Eldoria", "Mirefall", "Sunspire", "Frosthold", "Verdantia", "Ashmoor"]
HEROES = ["ann", "bo", "cy", "dee", "eli", "fay", "gil"]
CLASSES = ["wizard", "ranger", "knight", "bard", "alchemist"]
BIOMES = ["forest", "plains", "desert", "tundra", "swamp", "hills"]
BLOCKS = ["torch", "stone", "oak_planks", "campfire", "glass"]
ITEMS = ["herb", "crystal", "iron", "feather", "mushroom"]
SEASONS = ["spring", "summer", "autumn", "winter"]
WEATHER = ["clear", "rain", "fog", "storm", "snow"]
# scene: (what happens, options, where each option leads); the summit ends a chapter.
STORY = {
    "gate": ("The city gate is shut", ["bribe the guard", "climb the wall", "wait for dawn"], ["market", "rooftops", "market"]),
    "market": ("A crowded market", ["buy a map", "follow a thief"], ["library", "sewers"]),
    "rooftops": ("Slippery rooftops", ["jump", "climb back down"], ["tower", "market"]),
    "sewers": ("Dark sewers", ["light a torch", "swim"], ["crypt", "river"]),
    "library": ("A silent library", ["read the old tome", "ask the librarian"], ["tower", "crypt"]),
    "tower": ("The wizard's tower", ["climb the stairs", "knock"], ["summit", "summit"]),
    "crypt": ("An ancient crypt", ["open the coffin", "leave quietly"], ["summit", "river"]),
    "river": ("A wild river", ["build a raft", "follow the bank"], ["summit", "gate"]),
    "summit": ("The summit of the world", ["descend and begin anew"], ["gate"]),
}
THREADS = ["a dragon stirs in the north", "the river spirits are restless", "a lost heir walks the roads", "the old king's crown was stolen", "stars fall over the desert"]
AGENTS = {
    "terraformer": {"type": "world_builder", "model": "claude-3-haiku", "activity": "reshape_terrain"},
    "storyteller": {"type": "narrator", "model": "gpt-4o-mini", "activity": "branch_story"},
    "merchant": {"type": "economy", "model": "llama-3-8b", "activity": "open_resource"},
}
SCALES = {
    # chunks per side, heroes, stories, agents, ticks, a full-state snapshot every N ticks.
    "test": {"size": 3, "heroes": 3, "stories": 1, "agents": 2, "ticks": 6, "snapshot_every": 3},
    "demo": {"size": 5, "heroes": 5, "stories": 2, "agents": 3, "ticks": 30, "snapshot_every": 10},
}

DocKey = Tuple[str, str, str]  # (collection, owning player or "", key)


def doc_name(k: DocKey) -> str:
    return f"{k[0]}/{k[1]}/{k[2]}"


def docs_digest(docs: Dict[DocKey, Any]) -> str:
    return state_hash({doc_name(k): v for k, v in docs.items()})  # type: ignore[arg-type]


def chunk_key(cx: int, cz: int) -> str:
    return f"{cx:02d}:{cz:02d}"


class World(Session):
    game = "adventure"

    def __init__(self, gp: Client, env: GameEnv, index: int):
        super().__init__(gp, env, index)
        self.cfg = SCALES[env.scale]
        self.docs: Dict[DocKey, Any] = {}
        self.versions: Dict[DocKey, int] = {}
        self.restored: Optional[Dict[str, Any]] = None
        self.heroes = [f"{env.run}-{h}" for h in HEROES[: self.cfg["heroes"]]]

    # ---- start-up ---------------------------------------------------------------------------------

    def resume(self, rec: Optional[Dict[str, Any]]) -> None:
        super().resume(rec)
        if rec is None:
            return
        if self.state.get("phase") == "resting":
            self.done = True  # it lived its ticks: the world stays, this run leaves it alone
        docs = rec["documents"]
        if docs["truncated"]:
            raise RuntimeError(f"{self.id}: more documents than one recovery holds")
        for d in docs["items"]:
            k = (d["collection"], d["player"] or "", d["key"])
            self.docs[k] = d["value"]
            self.versions[k] = d["version"]
        cut = [e for e in self._since if e["type"] == "doc.put"]
        if cut:
            # The tick a kill cut wrote some documents already: plan it again from what they were before it.
            state_seq = rec["state"]["seq"] if rec["state"] else 0
            keys = {self.key_of(e) for e in cut}
            before: Dict[DocKey, Any] = {}
            for e in self.gp.replay(self.id, to_seq=state_seq):
                if e["type"] == "doc.put" and e["seq"] <= state_seq and self.key_of(e) in keys:
                    before[self.key_of(e)] = e["data"]["value"]
            for k in keys:
                if k in before:
                    self.docs[k] = before[k]
                else:
                    self.docs.pop(k, None)
                self.versions[k] -= sum(1 for e in cut if self.key_of(e) == k)
        # The world as it was after its last whole tick: every document as the state's digest says.
        if self.state.get("docs"):
            ok = docs_digest(self.docs) == self.state["docs"]["digest"]
            self.restored = {"turn": self.state["turn"], "documents": len(self.docs), "digestMatches": ok, "cutTick": len(self._since)}
            if not ok:
                raise RuntimeError(f"{self.id}: the recovered documents do not match the state's digest")

    @staticmethod
    def key_of(e: Dict[str, Any]) -> DocKey:
        d = e["data"]
        return (d["collection"], e["player"] if d.get("owner") == "player" else "", d["key"])

    # ---- writing documents ------------------------------------------------------------------------

    def put(self, k: DocKey, value: Any, conditional: bool = False) -> None:
        data: Dict[str, Any] = {"collection": k[0], "key": k[2], "value": value}
        if k[1]:
            data["owner"] = "player"
        if conditional:
            data["expectedVersion"] = self.versions.get(k, 0)
        self.emit("doc.put", data, player=k[1] or None)
        self.docs[k] = value
        self.versions[k] = self.versions.get(k, 0) + 1

    def write_all(self, pending: Dict[DocKey, Any]) -> None:
        """A step's document writes, each document once, in key order; characters and stories only over
        the version read."""
        for k in sorted(pending):
            self.put(k, pending[k], conditional=k[0] in ("characters", "stories"))

    def commit_world(self, s: Dict[str, Any], full: bool = False) -> None:
        s["docs"] = {"count": len(self.docs), "digest": docs_digest(self.docs)}
        self.commit(s, full=full)

    # ---- the steps --------------------------------------------------------------------------------

    def step(self) -> None:
        s = self.state
        if not s:
            self.create()
        elif s["phase"] == "genesis":
            self.genesis()
        elif s["phase"] == "arrivals":
            self.arrive()
        elif s["phase"] == "living":
            self.tick()
        if self.state.get("phase") == "resting":
            self.done = True

    def create(self) -> None:
        name = WORLDS[self.index % len(WORLDS)] + ("" if self.index < len(WORLDS) else f" {self.index // len(WORLDS) + 1}")
        settings = {"idleTimeoutS": 0, "chunkSize": 16, "size": self.cfg["size"], "seed": self.env.seed}
        self.emit("session.created", {"gameType": "magic-adventure", "tenant": f"{self.env.run}-realm", "name": name, "createdBy": self.heroes[0], "settings": settings})
        self.emit("session.started", {})
        self.commit_world({"phase": "genesis", "world": {"name": name, "size": self.cfg["size"]}, "tick": 0, "day": 1, "season": "spring", "weather": "clear", "heroes": [], "choices": 0, "evolutions": 0})

    def genesis(self) -> None:
        """The terrain, the stories and the agents."""
        rng = self.rng()
        s = dict(self.state)
        pending: Dict[DocKey, Any] = {}
        for cx in range(self.cfg["size"]):
            for cz in range(self.cfg["size"]):
                pending[("chunks", "", chunk_key(cx, cz))] = {"x": cx, "z": cz, "biome": rng.choice(BIOMES), "height": rng.randint(60, 90), "blocks": {}, "features": []}
        stories = {}
        for n in range(self.cfg["stories"]):
            sid = f"story-{n + 1}"
            pending[("stories", "", sid)] = {"title": f"The {rng.choice(['Lost', 'Hidden', 'Broken'])} {rng.choice(['Crown', 'Map', 'Star'])}", "type": "quest", "scene": "gate", "chapter": 1, "threads": {"main": "The adventure begins..."}, "path": ["gate"]}
            stories[sid] = "gate"
        for name in sorted(AGENTS)[: self.cfg["agents"]]:
            a = AGENTS[name]
            pending[("agents", "", name)] = {"name": name, "type": a["type"], "model": a["model"], "config": {"temperature": 7, "activity": a["activity"]}, "memory": [], "activities": 0}
        self.write_all(pending)
        s.update(phase="arrivals", stories=stories, agents=sorted(AGENTS)[: self.cfg["agents"]])
        self.commit_world(s)

    def arrive(self) -> None:
        """A hero enters the world: the player joins and its character is created (only if new)."""
        rng = self.rng()
        s = dict(self.state)
        p = self.heroes[len(s["heroes"])]
        name = p.rsplit("-", 1)[-1].title()
        self.emit("player.joined", {"name": name, "role": rng.choice(CLASSES)}, player=p)
        story = sorted(s["stories"])[len(s["heroes"]) % len(s["stories"])]
        character = {
            "name": name,
            "class": rng.choice(CLASSES),
            "level": 1,
            "xp": 0,
            "hp": 20,
            "stats": {"strength": rng.randint(8, 14), "intelligence": rng.randint(8, 14), "dexterity": rng.randint(8, 14)},
            "position": {"x": 8, "y": 64, "z": 8},
            "inventory": {"map": 1},
            "relationships": {},
            "story": story,
        }
        self.write_all({("characters", p, p): character})
        s["heroes"] = s["heroes"] + [p]
        if len(s["heroes"]) == len(self.heroes):
            s["phase"] = "living"
        self.commit_world(s)

    def tick(self) -> None:
        rng = self.rng()
        s = dict(self.state)
        tick = s["tick"] + 1
        pending: Dict[DocKey, Any] = {}

        def doc(k: DocKey) -> Any:
            """The value this tick works on (each document is written once per tick)."""
            if k not in pending:
                pending[k] = copy.deepcopy(self.docs[k])
            return pending[k]

        # The story: one hero a tick chooses, in turn.
        hero = s["heroes"][(tick - 1) % len(s["heroes"])]
        me = doc(("characters", hero, hero))
        story_key = ("stories", "", me["story"])
        story = doc(story_key)
        text, options, leads = STORY[story["scene"]]
        option = rng.randrange(len(options))
        self.emit(STORY_CHOICE, {"story": me["story"], "scene": story["scene"], "option": option, "text": options[option], "chapter": story["chapter"]}, player=hero)
        nxt = leads[option]
        if story["scene"] == "summit":
            story["chapter"] += 1
            me["inventory"]["relic"] = me["inventory"].get("relic", 0) + 1
        story["scene"] = nxt
        story["path"] = story["path"] + [nxt]
        me["xp"] += 5
        s["choices"] += 1
        s["stories"] = dict(s["stories"], **{me["story"]: nxt})

        # The heroes act.
        size = self.cfg["size"]
        for p in s["heroes"]:
            c = doc(("characters", p, p))
            pos = c["position"]
            act = rng.choice(["explore", "gather", "build"])
            if act == "explore":
                cx = min(size - 1, max(0, pos["x"] // 16 + rng.choice([-1, 0, 1])))
                cz = min(size - 1, max(0, pos["z"] // 16 + rng.choice([-1, 0, 1])))
                c["position"] = {"x": cx * 16 + rng.randrange(16), "y": pos["y"], "z": cz * 16 + rng.randrange(16)}
                c["xp"] += 2
            elif act == "gather":
                item = rng.choice(ITEMS)
                c["inventory"][item] = c["inventory"].get(item, 0) + 1
                c["xp"] += 1
            else:
                # set_block: the chunk of the block, and the block's place in it.
                chunk = doc(("chunks", "", chunk_key(pos["x"] // 16, pos["z"] // 16)))
                chunk["blocks"][f"{pos['x'] % 16},{pos['y']},{pos['z'] % 16}"] = rng.choice(BLOCKS)
                c["xp"] += 3
            if c["xp"] >= 10 * c["level"]:
                c["level"] += 1
                c["hp"] += 5
            other = rng.choice([q for q in s["heroes"] if q != p] or [p])
            if other != p:
                c["relationships"][other] = c["relationships"].get(other, 0) + rng.choice([-1, 1, 2])

        # An AI agent acts, in turn.
        name = s["agents"][(tick - 1) % len(s["agents"])]
        agent = doc(("agents", "", name))
        prompt_tokens, completion_tokens = rng.randint(200, 900), rng.randint(40, 300)
        self.emit("agent.log", {"model": agent["model"], "provider": "simulated", "agent": name, "turn": tick, "promptTokens": prompt_tokens, "completionTokens": completion_tokens, "latencyMs": rng.randint(150, 1800)})
        if name == "storyteller":
            key = sorted(s["stories"])[rng.randrange(len(s["stories"]))]
            st = doc(("stories", "", key))
            thread = f"t{len(st['threads'])}"
            st["threads"][thread] = rng.choice(THREADS)
            target, kind, changes = key, "story", {"thread": thread, "text": st["threads"][thread]}
        else:
            cx, cz = rng.randrange(size), rng.randrange(size)
            target = chunk_key(cx, cz)
            chunk = doc(("chunks", "", target))
            if name == "terraformer":
                new = rng.choice([b for b in BIOMES if b != chunk["biome"]])
                kind, changes = "terrain", {"biome": [chunk["biome"], new]}
                chunk["biome"] = new
            else:
                feature = f"{rng.choice(['iron', 'crystal', 'gold'])} vein"
                kind, changes = "resource", {"feature": feature}
                chunk["features"] = chunk["features"] + [feature]
        impact = round(rng.random(), 2)
        self.emit(AGENT_ACTIVITY, {"agent": name, "activityType": AGENTS[name]["activity"], "data": {"tick": tick, "target": target}, "results": {"status": "completed", "tokens": prompt_tokens + completion_tokens}})
        self.emit(WORLD_EVOLUTION, {"evolutionType": kind, "agent": name, "target": target, "changes": changes, "impactScore": impact})
        agent["memory"] = (agent["memory"] + [f"tick {tick}: {kind} {target}"])[-3:]
        agent["activities"] += 1
        s["evolutions"] += 1

        self.write_all(pending)
        s.update(tick=tick, day=s["day"] + 1, season=SEASONS[(tick // 4) % 4], weather=rng.choice(WEATHER))
        last = tick == self.cfg["ticks"]
        if last:
            s["phase"] = "resting"
        self.commit_world(s, full=last or tick % self.cfg["snapshot_every"] == 0)

    def out(self) -> Dict[str, Any]:
        return {"state": self.state, "documents": {doc_name(k): v for k, v in self.docs.items()}, "versions": {doc_name(k): v for k, v in self.versions.items()}, "restored": self.restored}


def register_types(gp: Client) -> None:
    """The game's own event types and their JSON Schemas (registered again only when they changed)."""
    have = {t["type"]: t for t in gp.event_types()["types"]}
    for type, (description, schema) in TYPES.items():
        if type not in have or canonical(have[type]["schema"]) != canonical(schema):
            gp.register_type(type, schema, description=description)


def main() -> None:
    argparse.ArgumentParser(description="Magic Adventure (seed 003) on game-persist").parse_args()
    env = GameEnv(os.environ)
    ledger = Ledger(env.ledger, env.crash_after)
    gp = connect(env, ledger)
    register_types(gp)
    worlds = [World(gp, env, i) for i in range(env.sessions)]
    log = lambda m: print(m, file=sys.stderr, flush=True)  # noqa: E731
    start(worlds, documents=True, log=log)
    play(worlds, env.pace_ms)
    finish(gp, env, "adventure", worlds)
    for w in worlds:
        print(f"{w.id}: {w.state['world']['name']} lives on: day {w.state['day']}, {w.state['choices']} story choices, {w.state['evolutions']} evolutions, {len(w.docs)} documents", flush=True)
    gp.close()


if __name__ == "__main__":
    main()
