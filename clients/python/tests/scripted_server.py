"""A small real HTTP server (http.server on a loopback port) that answers with a script: what an API
under load, rate limiting or failure answers, which a healthy game-persist API does not answer on demand.
The client talks to it over real sockets, exactly as to the API."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, List, Optional, Tuple

Answer = Tuple[int, Dict[str, str], bytes]


def error(status: int, code: str, headers: Optional[Dict[str, str]] = None) -> Answer:
    return status, dict(headers or {}), json.dumps({"error": {"code": code, "message": code}}).encode()


def accept_all(body: bytes) -> Answer:
    """What POST /v1/events answers when every event is accepted (seq = position + 1 in the session)."""
    events = json.loads(body)
    results = [{"index": i, "status": "accepted", "id": e["id"], "seq": i + 1} for i, e in enumerate(events)]
    return 200, {}, json.dumps({"accepted": len(events), "rejected": 0, "results": results}).encode()


class Request:
    def __init__(self, method: str, path: str, headers: Dict[str, str], body: bytes) -> None:
        self.method, self.path, self.headers, self.body = method, path, headers, body
        self.at = time.monotonic()

    def events(self) -> List[Dict[str, Any]]:
        return list(json.loads(self.body))


class ScriptedServer:
    """Answers each request with the next scripted answer (an Answer, or a function of the request body
    returning one); when the script is used up, POST /v1/events accepts everything and a GET answers
    ``default_get``. ``hold()`` makes requests wait until ``release()``. Records every request."""

    def __init__(self, script: Optional[List[Any]] = None, default_get: Any = None) -> None:
        self.script: List[Any] = list(script or [])
        self.default_get = default_get
        self.requests: List[Request] = []
        self.lock = threading.Lock()
        self.arrived = threading.Condition(self.lock)
        self.gate = threading.Event()
        self.gate.set()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # quiet: the test reads the record
                pass

            def _answer(self) -> None:
                n = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(n) if n else b""
                req = Request(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                with server.arrived:
                    server.requests.append(req)
                    step = server.script.pop(0) if server.script else None
                    server.arrived.notify_all()
                server.gate.wait(30)
                if step is None:
                    step = accept_all if self.command == "POST" else (200, {}, json.dumps(server.default_get).encode())
                status, headers, payload = step(body) if callable(step) else step
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(payload)))
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = _answer

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), name="scripted-server", daemon=True)

    def __enter__(self) -> "ScriptedServer":
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.gate.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    def hold(self) -> None:
        self.gate.clear()

    def release(self) -> None:
        self.gate.set()

    def wait_for_requests(self, n: int, timeout: float = 10.0) -> None:
        with self.arrived:
            if not self.arrived.wait_for(lambda: len(self.requests) >= n, timeout):
                raise AssertionError(f"the server got {len(self.requests)} request(s), not {n}, in {timeout} s")

    def gaps(self) -> List[float]:
        """Seconds between consecutive requests, as the server saw them arrive."""
        with self.lock:
            at = [r.at for r in self.requests]
        return [b - a for a, b in zip(at, at[1:])]



def close_within(client: Any, seconds: float = 10.0) -> None:
    """Closes a client from another thread and fails if that takes longer than ``seconds``: a client
    whose sender died would hang ``close()`` (it flushes), and a test must fail, not hang."""
    t = threading.Thread(target=client.close, daemon=True)
    t.start()
    t.join(seconds)
    if t.is_alive():
        raise AssertionError(f"close() still running after {seconds} s: is the sender thread alive?")
