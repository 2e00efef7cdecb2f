"""The Python client against a real game-persist API and worker.

Run by the TypeScript suite (test/integration/api/python-client.test.ts), which starts them, installs
the client into a fresh venv and sets GP_TEST_API_URL, GP_TEST_API_KEY (scopes ingest and read) and
GP_TEST_LIMITED_KEY (read, limited to 1 request a minute); by hand, from clients/python:

    GP_TEST_API_URL=http://127.0.0.1:8080 GP_TEST_API_KEY=gpk_… python3 -m unittest discover -s tests
"""

import logging
import os
import time
import unittest

from game_persist import ApiError, Client, PublishError, merge_patch, uuid7

URL = os.environ.get("GP_TEST_API_URL")
KEY = os.environ.get("GP_TEST_API_KEY", "")
LIMITED_KEY = os.environ.get("GP_TEST_LIMITED_KEY", "")
RUN = uuid7()[-12:]


def wait_until(what, fn, timeout=30.0):
    until = time.monotonic() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.monotonic() > until:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@unittest.skipUnless(URL, "GP_TEST_API_URL not set: run through test/integration/api/python-client.test.ts")
class ClientTest(unittest.TestCase):
    def setUp(self):
        self.rejected = []
        self.gp = Client(URL, KEY, batch_size=25, linger_ms=20, on_rejected=self.rejected.append)

    def tearDown(self):
        self.gp.close()

    def test_every_event_type_lands(self):
        sid = f"py-all-{RUN}"
        gp = self.gp
        gp.session_created(sid, game_type="impostor", tenant="chat-1", name="Room", settings={"rounds": 3})
        gp.player_joined(sid, "alice", role="crewmate", team=1, name="Alice")
        gp.player_joined(sid, "bob", role="impostor", team=2)
        gp.session_started(sid)
        gp.move(sid, "alice", "step", turn=1, data={"to": [1, 2]})
        gp.vote(sid, "alice", "bob", round=1)
        gp.vote(sid, "bob", None, round=1)
        gp.chat_message(sid, "bob", "hi", channel="discussion", round=1)
        gp.task_completed(sid, "alice", "swipe card", xp=10)
        gp.turn_result(sid, 1, state={"round": 1, "alive": ["alice", "bob"]})
        gp.agent_log(sid, "gpt-x", agent="narrator", prompt_tokens=12, completion_tokens=3, latency_ms=40)
        gp.player_left(sid, "bob", reason="voted out")
        gp.player_outcome(sid, "alice", "win", xp=30)
        gp.player_outcome(sid, "bob", "lose", xp=5)
        gp.session_finished(sid, winners=["alice"], result="crew")
        gp.queue_entered("chat-1", "carol")
        gp.queue_left("chat-1", "carol", reason="joined")
        gp.flush()
        self.assertEqual(self.rejected, [])
        self.assertEqual(gp.last_seq(sid), 15)
        w = gp.wait_persisted(sid)
        self.assertEqual(w["appliedSeq"], 15)
        rec = gp.recover(sid)
        self.assertEqual(rec["session"]["status"], "finished")
        self.assertEqual(rec["session"]["gameType"], "impostor")
        self.assertEqual(rec["session"]["eventCount"], 15)
        people = {p["playerId"]: p for p in rec["participants"]}
        self.assertEqual(people["alice"]["outcome"], "win")
        self.assertEqual(people["bob"]["outcome"], "loss")
        self.assertEqual(people["alice"]["team"], "1")
        self.assertEqual(rec["state"]["value"], {"round": 1, "alive": ["alice", "bob"]})
        types = [e["type"] for e in self.gp.replay(sid)]
        self.assertEqual(len(types), 15)
        self.assertEqual(
            set(types),
            {"session.created", "player.joined", "session.started", "move", "vote", "chat.message", "task.completed", "turn.result", "agent.log", "player.left", "player.outcome", "session.finished"},
        )

    def test_bad_events_are_rejected_by_field_and_the_rest_lands(self):
        sid = f"py-bad-{RUN}"
        self.gp.session_created(sid, game_type="hokm")
        self.gp.emit("vote", sid, {}, player="alice")  # no target
        self.gp.emit("player.outcome", sid, {"outcome": "maybe"}, player="alice")
        self.gp.player_joined(sid, "alice")
        self.gp.flush()
        self.assertEqual(sorted(r.field for r in self.rejected), ["data.outcome", "data.target"])
        self.gp.wait_persisted(sid)
        self.assertEqual(self.gp.recover(sid)["session"]["eventCount"], 2)

    def test_a_restarted_game_server_gets_its_state_back(self):
        sid = f"py-restart-{RUN}"
        state = {}
        self.gp.session_created(sid, game_type="4x")
        turns = [
            {"map": {"a1": "plains", "b2": "forest"}, "gold": 10, "note": "start"},
            {"gold": 12, "note": None, "units": {"u1": {"hp": 10}}},
            {"map": {"b2": None, "c3": "hills"}, "units": {"u1": {"hp": 7}, "u2": {"hp": 10}}},
            {"__proto__": {"odd": True}, "units": {"u2": None}},
        ]
        for i, patch in enumerate(turns, start=1):
            state = merge_patch(state, patch)
            self.gp.turn_result(sid, i, patch=patch)
        self.gp.flush()
        self.gp.wait_persisted(sid)
        # The process dies; a new one recovers: live state, then fold whatever came after it.
        fresh = Client(URL, KEY)
        try:
            rec = fresh.recover(sid)
            rebuilt = rec["state"]["value"] if rec["state"] else {}
            for e in rec["sinceState"]:
                if e["type"] == "turn.result":
                    rebuilt = merge_patch(rebuilt, e["data"].get("patch", {}))
            self.assertEqual(rebuilt, state)
            # The tail after the snapshot (or the whole history) gives the same state from the patches alone.
            from_tail = rec["snapshot"]["value"] if rec["snapshot"] else {}
            for e in rec["tail"]:
                if e["type"] == "turn.result":
                    self.assertEqual(set(e["data"]["patch"]), set(turns[e["data"]["turn"] - 1]))
                    from_tail = merge_patch(from_tail, e["data"]["patch"])
            self.assertEqual(from_tail, state, f"snapshot {rec['snapshot']} tail {[(e['seq'], e['type']) for e in rec['tail']]} state {rec['state']}")
        finally:
            fresh.close()

    def test_stats_and_leaderboard_read_back_what_was_sent(self):
        games = [("w", "l"), ("w", "w"), ("l", "w")]
        me, other = f"py-p1-{RUN}", f"py-p2-{RUN}"
        xp = 0
        for n, (a, b) in enumerate(games):
            sid = f"py-stats-{RUN}-{n}"
            self.gp.session_created(sid, game_type="hokm")
            self.gp.player_joined(sid, me, team=1)
            self.gp.player_joined(sid, other, team=2)
            self.gp.player_outcome(sid, me, {"w": "win", "l": "loss"}[a], xp=10 * (n + 1))
            self.gp.player_outcome(sid, other, {"w": "win", "l": "loss"}[b], xp=1)
            self.gp.session_finished(sid)
            xp += 10 * (n + 1)
        self.gp.flush()
        s = wait_until("the stats", lambda: (lambda x: x if x and x["all"] and x["all"]["games"] == 3 else None)(self.gp.player_stats(me)))
        self.assertEqual((s["all"]["wins"], s["all"]["losses"], s["all"]["xp"]), (2, 1, xp))
        self.assertEqual(s["games"]["hokm"]["games"], 3)
        board = self.gp.leaderboard("xp", around=me, limit=2)
        self.assertIn(me, [r["playerId"] for r in board["rows"]])
        self.assertIsNone(self.gp.player_stats(f"nobody-{RUN}"))

    def test_sessions_replay_queue_and_chat_stats(self):
        chat = f"chat-{RUN}"
        open_id, done_id = f"py-open-{RUN}", f"py-done-{RUN}"
        for sid in (open_id, done_id):
            self.gp.session_created(sid, game_type="impostor", tenant=chat)
            self.gp.player_joined(sid, "ann")
        self.gp.turn_result(done_id, 1, patch={"a": 1, "b": None})
        self.gp.session_finished(done_id, winners=["ann"])
        for p in ("q1", "q2", "q3"):
            self.gp.queue_entered(chat, p)
            self.gp.flush()
            time.sleep(0.01)
        self.gp.wait_persisted(open_id)
        self.gp.wait_persisted(done_id)
        active = [s["session"]["id"] for s in self.gp.active_sessions(tenant=chat, limit=1)]
        self.assertEqual(active, [open_id])
        self.assertEqual([e["seq"] for e in self.gp.replay(done_id)], [1, 2, 3, 4])
        self.assertEqual(list(self.gp.replay(done_id, from_seq=3))[0]["data"], {"turn": 1, "patch": {"a": 1, "b": None}})
        self.assertEqual(sorted(s["id"] for s in self.gp.recent_sessions(tenant=chat)), sorted([open_id, done_id]))
        stats = self.gp.tenant_stats(chat, days=3660)
        self.assertEqual((stats["total"], stats["completed"], stats["active"]), (2, 1, 1))
        wait_until("the queue", lambda: len(self.gp.queue_waiting(chat)) == 3)
        self.assertEqual([w["playerId"] for w in self.gp.queue_notify(chat, 2)], ["q1", "q2"])
        self.assertEqual([w["playerId"] for w in self.gp.queue_notify(chat, 2)], ["q3"])
        self.assertEqual(self.gp.queue_notify(chat, 2), [])
        with self.assertRaises(ApiError) as ctx:
            list(self.gp.replay(done_id, after="nonsense"))
        self.assertEqual(ctx.exception.status, 400)

    def test_best_scores_daily_by_game_chat_agents_and_results(self):
        chat, game = f"chat-x-{RUN}", f"g-{RUN}"
        sid, me = f"py-x-{RUN}", f"py-x1-{RUN}"
        self.gp.session_created(sid, game_type=game, tenant=chat)
        self.gp.player_joined(sid, me)
        self.gp.chat_message(sid, me, "hello", channel="lobby")
        self.gp.chat_message(sid, me, "gg")
        self.gp.agent_log(sid, "gpt-x", player=me, provider="openai", prompt_tokens=7, completion_tokens=3, latency_ms=20)
        self.gp.player_outcome(sid, me, "win", score=41.5)
        self.gp.session_finished(sid, winners=[me], scores={me: 41.5}, result="a clean sweep")
        self.gp.wait_persisted(sid)
        board = wait_until("the best-score board", lambda: (lambda b: b if b["rows"] else None)(self.gp.leaderboard("best_score", game=game)))
        self.assertEqual([(r["playerId"], r["value"]) for r in board["rows"]], [(me, 41.5)])
        today = self.gp.daily_stats(1, game=game)[0]
        self.assertEqual((today["created"], today["finished"], today["players"]), (1, 1, 1))
        self.assertEqual(self.gp.daily_stats(1, game=f"none-{RUN}")[0]["created"], 0)
        c = self.gp.tenant_chat(chat, days=1)
        self.assertEqual(c["messages"], 2)
        self.assertEqual(c["players"][0]["channels"], [{"channel": "lobby", "messages": 1}, {"channel": None, "messages": 1}])
        a = self.gp.session_agents(sid)["agents"]
        self.assertEqual([(x["playerId"], x["model"], x["calls"], x["promptTokens"], x["latencyMs"]["max"]) for x in a], [(me, "gpt-x", 1, 7, 20)])
        self.assertEqual(self.gp.player_agents(me)["agents"][0]["completionTokens"], 3)
        self.assertIsNone(self.gp.session_agents(f"none-{RUN}"))
        session = self.gp.recover(sid)["session"]
        self.assertEqual((session["result"], session["winners"], session["scores"]), ("a clean sweep", [me], {me: 41.5}))
        self.assertEqual(self.gp.recent_sessions(tenant=chat)[0]["result"], "a clean sweep")

    def test_accepted_events_are_reported_with_their_seq(self):
        sid = f"py-acc-{RUN}"
        batches = []
        gp = Client(URL, KEY, batch_size=3, linger_ms=1000, on_accepted=batches.append, on_rejected=self.rejected.append)
        try:
            ids = [gp.session_created(sid, game_type="impostor", tenant=f"chat-acc-{RUN}")]
            ids.append(gp.player_joined(sid, "ann", role="crewmate"))
            gp.emit("vote", sid, {}, player="ann")  # refused: reported as rejected, not accepted
            ids.append(gp.chat_message(sid, "ann", "hi", round=1))
            ids.append(gp.queue_entered(f"chat-acc-{RUN}", "zed"))
            ids.append(gp.turn_result(sid, 1, patch={"phase": "lobby"}))
            gp.flush()
        finally:
            gp.close()
        self.assertEqual([r.field for r in self.rejected], ["data.target"])
        # Once per request (three events each; the refused one is in neither list) ...
        self.assertEqual([len(b) for b in batches], [2, 3])
        accepted = [e for b in batches for e in b]
        # ... in the order sent, as sent, with the API's seq (none for the join queue's event).
        self.assertEqual([e["id"] for e in accepted], ids)
        self.assertEqual([e["seq"] for e in accepted], [1, 2, 3, None, 4])
        self.assertEqual(accepted[1]["type"], "player.joined")
        self.assertEqual((accepted[1]["player"], accepted[1]["data"]), ("ann", {"role": "crewmate"}))
        self.assertEqual(accepted[3]["data"], {"tenant": f"chat-acc-{RUN}"})

    def test_a_callback_that_raises_does_not_stop_the_sending(self):
        sid = f"py-cb-{RUN}"

        def broken(_events):
            raise RuntimeError("a bug in the game's callback")

        gp = Client(URL, KEY, batch_size=1, linger_ms=1, on_accepted=broken)
        try:
            with self.assertLogs("game_persist", logging.ERROR) as logs:
                gp.session_created(sid, game_type="hokm")
                gp.player_joined(sid, "ann")
                gp.flush()
            self.assertEqual(gp.last_seq(sid), 2)
            self.assertEqual(gp.wait_persisted(sid)["appliedSeq"], 2)
        finally:
            gp.close()
        self.assertEqual([str(r.exc_info[1]) for r in logs.records], ["a bug in the game's callback"] * 2)

    def test_wait_for_what_was_issued(self):
        # What a restarted process does: it does not know what it sent, the server's counter does.
        sid = f"py-issued-{RUN}"
        self.gp.session_created(sid, game_type="hokm")
        self.gp.player_joined(sid, "ann")
        self.gp.flush()
        with Client(URL, KEY) as fresh:
            self.assertEqual(fresh.last_seq(sid), 0)
            self.assertEqual(fresh.wait_persisted(sid, "issued", timeout_ms=10_000)["appliedSeq"], 2)
            # A session nothing was issued for: nothing to wait for.
            self.assertEqual(fresh.wait_persisted(f"never-{RUN}", "issued")["appliedSeq"], 0)

    def test_errors_are_typed(self):
        bad = Client(URL, "gpk_0000000000000000_" + "A" * 43)
        try:
            with self.assertRaises(ApiError) as ctx:
                bad.leaderboard()
            self.assertEqual((ctx.exception.status, ctx.exception.code), (401, "unauthorized"))
        finally:
            bad.close()
        self.assertIsNone(self.gp.recover(f"none-{RUN}"))
        with self.assertRaises(ApiError) as ctx:
            self.gp.wait_persisted(f"none-{RUN}", 1, timeout_ms=50)
        self.assertEqual(ctx.exception.code, "timeout")


@unittest.skipUnless(URL, "GP_TEST_API_URL not set: run through test/integration/api/python-client.test.ts")
class RateLimitedTest(unittest.TestCase):
    """A key over its rate limit (GP_TEST_LIMITED_KEY: 1 request a minute) against the real API: its 429
    names a Retry-After; the client waits it out, capped at max_retry_after, then gives up typed."""

    def test_a_rate_limited_key_waits_as_retry_after_says_then_gives_up_typed(self):
        self.assertTrue(LIMITED_KEY, "GP_TEST_LIMITED_KEY not set")
        with Client(URL, LIMITED_KEY, max_retries=0) as gp:
            for _ in range(2):  # whatever this minute's window held before: now it is used up
                try:
                    gp.leaderboard()
                except ApiError as e:
                    self.assertEqual(e.status, 429)
        with Client(URL, LIMITED_KEY, max_retries=2, max_retry_after=0.4, batch_size=1, linger_ms=1) as gp:
            started = time.monotonic()
            with self.assertRaises(ApiError) as ctx:
                gp.leaderboard()
            waited = time.monotonic() - started
            self.assertEqual((ctx.exception.status, ctx.exception.code), (429, "rate_limited"))
            # The API named the rest of the minute whose one request was used moments ago ...
            self.assertGreaterEqual(ctx.exception.retry_after, 30)
            # ... and the client waited it twice, each time capped at max_retry_after.
            self.assertGreaterEqual(waited, 0.8)
            self.assertLess(waited, 10)
            # The batch sender the same way: PublishError once its retries are spent.
            gp.session_created(f"py-limited-{RUN}", game_type="hokm")
            with self.assertRaises(PublishError) as pub:
                gp.flush(timeout=30)
            self.assertEqual(pub.exception.cause.status, 429)
            self.assertEqual(gp.stats["retries"], 2)

if __name__ == "__main__":
    unittest.main()

