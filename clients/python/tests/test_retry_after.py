"""Retries honour Retry-After: a 429 or 503 answer's wait (seconds or an HTTP-date, capped at
``max_retry_after``) for the batch sender and for the reads, the backoff when it names none. Against a
real HTTP server on a loopback port that answers as a rate-limited or unavailable API does."""

import email.utils
import json
import time
import unittest
from datetime import datetime, timedelta, timezone

from game_persist import ApiError, Client, retry_after_seconds
from scripted_server import ScriptedServer, error

BOARD = {"rows": [], "by": "xp"}


class RetryAfterTest(unittest.TestCase):
    def test_a_batch_answered_429_is_retried_after_the_seconds_retry_after_names(self):
        with ScriptedServer([error(429, "rate_limited", {"Retry-After": "1"})]) as api:
            gp = Client(api.url, "k", batch_size=10, linger_ms=1)
            try:
                gp.session_created("s-1", game_type="hokm")
                gp.player_joined("s-1", "ann")
                gp.flush(timeout=20)
                self.assertEqual(gp.last_seq("s-1"), 2)
            finally:
                gp.close()
            self.assertEqual(len(api.requests), 2)
            first, second = api.requests
            self.assertEqual(first.headers["idempotency-key"], second.headers["idempotency-key"])
            self.assertEqual(first.body, second.body)
            # Not the backoff's 0.1-0.3 s: the second second the API asked for.
            self.assertGreaterEqual(api.gaps()[0], 1.0)
            self.assertEqual(gp.stats["retries"], 1)

    def test_a_read_answered_503_is_retried_after_the_http_date_retry_after_names(self):
        when = email.utils.formatdate(time.time() + 2, usegmt=True)  # 1-2 s ahead: a date has whole seconds
        with ScriptedServer([error(503, "unavailable", {"Retry-After": when})], default_get=BOARD) as api:
            with Client(api.url, "k") as gp:
                self.assertEqual(gp.leaderboard("xp"), BOARD)
            self.assertEqual([r.method for r in api.requests], ["GET", "GET"])
            self.assertGreaterEqual(api.gaps()[0], 1.0)

    def test_a_read_answered_429_without_retry_after_is_retried_after_the_backoff(self):
        with ScriptedServer([error(429, "rate_limited")], default_get=BOARD) as api:
            with Client(api.url, "k") as gp:
                self.assertEqual(gp.leaderboard("xp"), BOARD)
            self.assertEqual(len(api.requests), 2)

    def test_retry_after_is_capped_at_max_retry_after(self):
        long_wait = {"Retry-After": "3600"}
        script = [error(429, "rate_limited", long_wait), (200, {}, json.dumps(BOARD).encode()), error(503, "unavailable", long_wait)]
        with ScriptedServer(script) as api:
            with Client(api.url, "k", max_retry_after=0.3, batch_size=1, linger_ms=1) as gp:
                started = time.monotonic()
                self.assertEqual(gp.leaderboard("xp"), BOARD)
                gp.session_created("s-2", game_type="hokm")
                gp.flush(timeout=20)
                self.assertLess(time.monotonic() - started, 15)
            self.assertEqual([r.method for r in api.requests], ["GET", "GET", "POST", "POST"])
            self.assertGreaterEqual(api.gaps()[0], 0.3)
            self.assertGreaterEqual(api.gaps()[2], 0.3)

    def test_a_read_still_limited_after_max_retries_raises_a_typed_error_with_the_wait(self):
        script = [error(429, "rate_limited", {"Retry-After": "0"})] * 3
        with ScriptedServer(script, default_get=BOARD) as api:
            with Client(api.url, "k", max_retries=2) as gp:
                with self.assertRaises(ApiError) as ctx:
                    gp.player_stats("ann")
            self.assertEqual((ctx.exception.status, ctx.exception.code, ctx.exception.retry_after), (429, "rate_limited", 0.0))
            self.assertEqual(len(api.requests), 3)

    def test_a_read_answered_other_errors_is_not_retried(self):
        with ScriptedServer([error(500, "internal", {"Retry-After": "0"})], default_get=BOARD) as api:
            with Client(api.url, "k") as gp:
                with self.assertRaises(ApiError) as ctx:
                    gp.leaderboard("xp")
            self.assertEqual(ctx.exception.status, 500)
            self.assertEqual(len(api.requests), 1)

    def test_retry_after_parses_seconds_and_http_dates(self):
        now = datetime(2015, 10, 21, 7, 27, 30, tzinfo=timezone.utc)
        self.assertEqual(retry_after_seconds("120", now), 120.0)
        self.assertEqual(retry_after_seconds(" 7 ", now), 7.0)
        self.assertEqual(retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT", now), 30.0)
        self.assertEqual(retry_after_seconds("Wednesday, 21-Oct-15 07:28:00 GMT", now), 30.0)  # RFC 850, still valid
        self.assertEqual(retry_after_seconds("Wed, 21 Oct 2015 07:00:00 GMT", now), 0.0)  # passed: now
        self.assertEqual(retry_after_seconds(email.utils.format_datetime(now + timedelta(seconds=5), usegmt=True), now), 5.0)
        for bad in (None, "", "-1", "1.5", "soon", "٣", "Wed, 99 Foo 2015"):
            self.assertIsNone(retry_after_seconds(bad, now), bad)


if __name__ == "__main__":
    unittest.main()
