"""A Magic Adventure-style world (seed 003) through the Python client: world chunks and characters as
documents, story choices as a game-defined event type with a registered JSON Schema, world-evolution
logs as a free-form game type; the game server restarts, recovers its world and reads it back.

Run by test/integration/api/python-client.test.ts (GP_TEST_API_URL, GP_TEST_API_KEY with ingest and
read, GP_TEST_ADMIN_KEY with admin).
"""

import os
import random
import unittest

from game_persist import Client, uuid7

URL = os.environ.get("GP_TEST_API_URL")
KEY = os.environ.get("GP_TEST_API_KEY", "")
ADMIN_KEY = os.environ.get("GP_TEST_ADMIN_KEY", "")
RUN = uuid7()[-12:]

STORY_CHOICE = "x.adventure.story_choice"
WORLD_LOG = "x.adventure.world_log"
CHOICE_SCHEMA = {
    "type": "object",
    "properties": {
        "scene": {"type": "string", "minLength": 1},
        "option": {"type": "integer", "minimum": 0, "maximum": 9},
        "text": {"type": "string", "maxLength": 500},
        "effects": {"type": "object", "additionalProperties": {"type": "integer"}},
    },
    "required": ["scene", "option"],
    "additionalProperties": False,
}
BIOMES = ["forest", "desert", "tundra", "swamp", "plains"]


class World:
    """The game server's own model of its world: what it wrote, so the test can compare."""

    def __init__(self, gp: Client, world_id: str, rnd: random.Random):
        self.gp, self.id, self.rnd = gp, world_id, rnd
        self.chunks = {}
        self.characters = {}
        self.versions = {}
        self.choices = []
        self.logs = []

    def generate(self, size: int) -> None:
        for x in range(size):
            for y in range(size):
                key = f"{x:02d}:{y:02d}"
                chunk = {"x": x, "y": y, "biome": self.rnd.choice(BIOMES), "objects": [{"kind": "tree", "n": self.rnd.randint(0, 9)}]}
                self.gp.put_document(self.id, "chunks", key, chunk)
                self.chunks[key] = chunk

    def spawn(self, player: str) -> None:
        c = {"name": player.title(), "hp": 10, "level": 1, "inventory": ["map"], "at": "00:00"}
        # Created only if new: a second spawn of the same character would be a conflict, never an overwrite.
        self.gp.put_document(self.id, "characters", player, c, player=player, expected_version=0)
        self.characters[player] = c
        self.versions[player] = 1

    def choose(self, player: str, scene: str, option: int) -> None:
        data = {"scene": scene, "option": option, "text": f"{player} picks {option}", "effects": {"hp": -1}}
        self.gp.game_event(STORY_CHOICE, self.id, data, player=player)
        self.choices.append((player, data))
        c = dict(self.characters[player], hp=self.characters[player]["hp"] - 1)
        self.gp.put_document(self.id, "characters", player, c, player=player, expected_version=self.versions[player])
        self.characters[player] = c
        self.versions[player] += 1

    def evolve(self) -> None:
        key = self.rnd.choice(sorted(self.chunks))
        chunk = dict(self.chunks[key], biome="flooded")
        log = {"event": "flood", "chunk": key, "cause": {"river": "rose", "depth": self.rnd.randint(1, 5)}}
        self.gp.game_event(WORLD_LOG, self.id, log)
        self.gp.put_document(self.id, "chunks", key, chunk)
        self.chunks[key] = chunk
        self.logs.append(log)


@unittest.skipUnless(URL and ADMIN_KEY, "GP_TEST_API_URL / GP_TEST_ADMIN_KEY not set: run through test/integration/api/python-client.test.ts")
class MagicAdventureTest(unittest.TestCase):
    def test_world_written_recovered_and_read_back(self):
        with Client(URL, ADMIN_KEY) as admin:
            admin.register_type(STORY_CHOICE, CHOICE_SCHEMA, description="a player's choice in a story scene")
            self.assertIn(STORY_CHOICE, [t["type"] for t in admin.event_types()["types"]])

        world_id = f"py-world-{RUN}"
        players = [f"hero-{RUN}-{n}" for n in ("ann", "bo", "cy")]
        rnd = random.Random(3)
        gp = Client(URL, KEY, batch_size=20, linger_ms=10)
        w = World(gp, world_id, rnd)
        gp.session_created(world_id, game_type="magic-adventure", tenant=f"realm-{RUN}", name="Eldoria")
        gp.session_started(world_id)
        w.generate(5)
        for p in players:
            gp.player_joined(world_id, p)
            w.spawn(p)
        for turn in range(6):
            for p in players:
                w.choose(p, f"scene-{turn}", rnd.randint(0, 9))
            w.evolve()
        # The same character spawned again (a bug in the game, say): recorded as a conflict, not applied.
        gp.put_document(world_id, "characters", players[0], {"name": "impostor"}, player=players[0], expected_version=0)
        # A story choice the registered schema refuses: rejected by the API, naming the path.
        gp.game_event(STORY_CHOICE, world_id, {"scene": "gate", "option": 42}, player=players[1])
        gp.flush()
        self.assertEqual([(r.field, r.code) for r in gp.rejected], [("data.option", "invalid_event")])
        last = gp.last_seq(world_id)
        gp.close()  # the game server goes down

        # A new process: recover the world with its documents once everything sent is persisted.
        with Client(URL, KEY) as gp2:
            gp2.wait_persisted(world_id, last, timeout_ms=30_000)
            rec = gp2.recover(world_id, documents=True)
            self.assertEqual(rec["session"]["status"], "started")
            docs = rec["documents"]
            self.assertFalse(docs["truncated"])
            self.assertEqual(docs["throughSeq"], last)
            chunks = {d["key"]: d["value"] for d in docs["items"] if d["collection"] == "chunks" and d["player"] is None}
            characters = {d["player"]: d["value"] for d in docs["items"] if d["collection"] == "characters"}
            self.assertEqual(chunks, w.chunks)
            self.assertEqual(characters, w.characters)

            # Read back by key, by prefix and by range, and across sessions for a player.
            ann = gp2.document(world_id, "characters", players[0], player=players[0])
            self.assertEqual((ann["value"], ann["version"]), (w.characters[players[0]], w.versions[players[0]]))
            self.assertIsNone(gp2.document(world_id, "characters", players[0]))  # the session's own: none
            row2 = [d["key"] for d in gp2.documents(world_id, "chunks", prefix="02:", page_size=2)]
            self.assertEqual(row2, [f"02:{y:02d}" for y in range(5)])
            block = [d["key"] for d in gp2.documents(world_id, "chunks", from_key="01:03", to_key="02:02")]
            self.assertEqual(block, ["01:03", "01:04", "02:00", "02:01"])
            self.assertEqual([d["key"] for d in gp2.player_documents(players[1])], [players[1]])

            # The conflict is reported, with the version it found.
            rejections = gp2.document_rejections(world_id)
            self.assertEqual([(r["key"], r["outcome"], r["expectedVersion"]) for r in rejections], [(players[0], "conflict", 0)])
            self.assertEqual(rejections[0]["version"], w.versions[players[0]])

            # The story as it happened: choices and world logs in order, as sent.
            history = list(gp2.replay(world_id))
            self.assertEqual([(e["player"], e["data"]) for e in history if e["type"] == STORY_CHOICE], w.choices)
            self.assertEqual([e["data"] for e in history if e["type"] == WORLD_LOG], w.logs)

            # The game continues from what it recovered: a write over the recovered version applies.
            w2 = World(gp2, world_id, rnd)
            w2.characters = {p: v for p, v in characters.items()}
            w2.versions = {p: gp2.document(world_id, "characters", p, player=p)["version"] for p in players}
            w2.choose(players[2], "epilogue", 1)
            gp2.wait_persisted(world_id, timeout_ms=30_000)
            cy = gp2.document(world_id, "characters", players[2], player=players[2])
            self.assertEqual((cy["value"]["hp"], cy["version"]), (w.characters[players[2]]["hp"] - 1, w.versions[players[2]] + 1))
            self.assertEqual(gp2.rejected, [])


if __name__ == "__main__":
    unittest.main()
