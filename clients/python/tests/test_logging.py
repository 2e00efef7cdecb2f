"""The client logs through ``logging.getLogger("game_persist")`` and prints nothing: a callback's error,
an undelivered batch and an answer it cannot read are logged, and the sender thread lives on. Against a
real HTTP server that answers as a failing API does."""

import contextlib
import io
import logging
import os
import subprocess
import sys
import unittest
from typing import List

from game_persist import Client, PublishError
from scripted_server import ScriptedServer, close_within, error


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: List[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def at(self, level: int) -> List[logging.LogRecord]:
        return [r for r in self.records if r.levelno == level]


class LoggingTest(unittest.TestCase):
    def setUp(self) -> None:
        self.log = Records()
        logger = logging.getLogger("game_persist")
        logger.addHandler(self.log)
        self.addCleanup(logger.removeHandler, self.log)
        self.stderr = io.StringIO()
        redirect = contextlib.redirect_stderr(self.stderr)
        redirect.__enter__()
        self.addCleanup(redirect.__exit__, None, None, None)

    def test_a_callback_that_raises_is_logged_with_its_traceback_not_printed(self):
        def broken(_events: object) -> None:
            raise RuntimeError("a bug in the game's callback")

        with ScriptedServer() as api:
            with Client(api.url, "k", batch_size=1, linger_ms=1, on_accepted=broken) as gp:
                gp.session_created("s", game_type="hokm")
                gp.player_joined("s", "ann")
                gp.flush(timeout=10)
                self.assertEqual(gp.last_seq("s"), 1)  # both batches sent: the sending went on
            self.assertEqual(len(api.requests), 2)
        self.assertEqual(self.stderr.getvalue(), "")
        errors = self.log.at(logging.ERROR)
        self.assertEqual(len(errors), 2)
        for r in errors:
            self.assertEqual(r.name, "game_persist")
            self.assertIsNotNone(r.exc_info)
            self.assertIsInstance(r.exc_info[1], RuntimeError)

    def test_an_on_error_that_raises_does_not_stop_the_sender(self):
        def broken(_err: PublishError) -> None:
            raise RuntimeError("a bug in on_error")

        with ScriptedServer([error(400, "bad_request")]) as api:
            gp = Client(api.url, "k", batch_size=1, linger_ms=1, on_error=broken)
            try:
                gp.session_created("s", game_type="hokm")
                with self.assertRaises(PublishError):
                    gp.flush(timeout=10)
                gp.player_joined("s", "ann")
                gp.flush(timeout=10)  # on main the sender thread died here: this timed out
            finally:
                close_within(gp)
            self.assertEqual(len(api.requests), 2)
        self.assertEqual(self.stderr.getvalue(), "")
        messages = [r.getMessage() for r in self.log.at(logging.ERROR)]
        self.assertEqual(len(messages), 2, messages)
        self.assertIn("400 bad_request", messages[0])  # the undelivered batch
        self.assertIsInstance(self.log.at(logging.ERROR)[1].exc_info[1], RuntimeError)  # the callback

    def test_an_answer_that_is_not_the_apis_fails_its_batch_and_the_sender_goes_on(self):
        with ScriptedServer([(200, {}, b"<html>a proxy's page</html>")]) as api:
            gp = Client(api.url, "k", batch_size=1, linger_ms=1)
            try:
                gp.session_created("s", game_type="hokm")
                with self.assertRaises(PublishError) as ctx:
                    gp.flush(timeout=10)
                self.assertIsInstance(ctx.exception.cause, ValueError)
                gp.player_joined("s", "ann")
                gp.flush(timeout=10)
            finally:
                close_within(gp)
            self.assertEqual(len(api.requests), 2)
        self.assertEqual(self.stderr.getvalue(), "")
        [failed] = self.log.at(logging.ERROR)
        self.assertIsNotNone(failed.exc_info)

    def test_retries_are_logged_as_warnings(self):
        with ScriptedServer([error(503, "unavailable", {"Retry-After": "0"})]) as api:
            with Client(api.url, "k", batch_size=1, linger_ms=1) as gp:
                gp.session_created("s", game_type="hokm")
                gp.flush(timeout=10)
            self.assertEqual(len(api.requests), 2)
        [warning] = self.log.at(logging.WARNING)
        self.assertIn("503 unavailable", warning.getMessage())
        self.assertEqual(self.stderr.getvalue(), "")

    def test_the_library_adds_only_a_null_handler(self):
        # A fresh interpreter: no logging configured by the application. An error the client logs then
        # goes nowhere (not to stderr through logging's last resort), and the root logger is untouched.
        code = (
            "import logging, game_persist\n"
            "assert logging.getLogger().handlers == [], logging.getLogger().handlers\n"
            "hs = logging.getLogger('game_persist').handlers\n"
            "assert [type(h) for h in hs] == [logging.NullHandler], hs\n"
            "logging.getLogger('game_persist').error('nobody configured logging')\n"
        )
        r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=dict(os.environ))
        self.assertEqual((r.returncode, r.stderr), (0, ""))


if __name__ == "__main__":
    unittest.main()
