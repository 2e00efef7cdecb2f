"""``emit`` on a full buffer waits at most ``block_timeout`` and then raises BufferFullError, so a game
loop never hangs on a slow or unreachable API. Against a real HTTP server that holds the requests."""

import threading
import time
import unittest
from typing import Any, Dict

from game_persist import BufferFullError, Client, GamePersistError
from scripted_server import ScriptedServer, close_within


def emit_in_thread(gp: Client, sid: str) -> Dict[str, Any]:
    """Emits from another thread, so that an emit that hangs fails the test instead of hanging it."""
    out: Dict[str, Any] = {}

    def run() -> None:
        started = time.monotonic()
        try:
            out["id"] = gp.player_joined(sid, "late")
        except BaseException as e:  # noqa: BLE001 - the test inspects it
            out["error"] = e
        out["seconds"] = time.monotonic() - started

    out["thread"] = t = threading.Thread(target=run, daemon=True)
    t.start()
    return out


class BufferFullTest(unittest.TestCase):
    def fill(self, api: ScriptedServer, **opts: Any) -> Client:
        """A client whose sender is stuck in a held request and whose buffer (2 events) is full."""
        gp = Client(api.url, "k", batch_size=1, linger_ms=0, max_buffered=2, timeout=60, **opts)
        api.hold()
        self.first = gp.session_created("s", game_type="hokm")
        api.wait_for_requests(1)  # the sender took it and waits for the answer
        self.buffered = [gp.player_joined("s", "a"), gp.player_joined("s", "b")]
        return gp

    def test_emit_on_a_full_buffer_raises_buffer_full_error_after_block_timeout(self):
        with ScriptedServer() as api:
            gp = self.fill(api, block_timeout=0.3)
            try:
                late = emit_in_thread(gp, "s")
                late["thread"].join(10)
                self.assertFalse(late["thread"].is_alive(), "emit still blocked on a full buffer after 10 s")
                err = late.get("error")
                self.assertIsInstance(err, BufferFullError)
                self.assertIsInstance(err, GamePersistError)
                self.assertGreaterEqual(late["seconds"], 0.3)
                self.assertEqual((err.event["type"], err.event["player"], err.max_buffered, err.block_timeout), ("player.joined", "late", 2, 0.3))
                self.assertEqual(gp.stats["buffer_full"], 1)
            finally:
                api.release()
                close_within(gp)
            # What was buffered is delivered; the refused event is not.
            sent = [e["id"] for r in api.requests for e in r.events()]
            self.assertEqual(sent, [self.first] + self.buffered)

    def test_block_timeout_zero_refuses_at_once_and_none_waits_for_room(self):
        with ScriptedServer() as api:
            gp = self.fill(api, block_timeout=0)
            try:
                with self.assertRaises(BufferFullError):
                    gp.player_joined("s", "late")
            finally:
                api.release()
                close_within(gp)
        with ScriptedServer() as api:
            gp = self.fill(api, block_timeout=None)
            try:
                late = emit_in_thread(gp, "s")
                late["thread"].join(0.5)
                self.assertTrue(late["thread"].is_alive(), "block_timeout=None waits for room")
                api.release()
                late["thread"].join(10)
                self.assertNotIn("error", late)
                gp.flush(timeout=10)
            finally:
                api.release()
                close_within(gp)
            self.assertEqual([e["id"] for r in api.requests for e in r.events()][-1], late["id"])


if __name__ == "__main__":
    unittest.main()
