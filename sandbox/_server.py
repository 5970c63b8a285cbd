"""The HTTP framework every stand-in builds on: a real server on 127.0.0.1, routes, a request log,
fault injection, rate-limit headers and eventual consistency.

```python
server = SandboxServer(host="127.0.0.1", port=0, *, rate_limit=None, consistency_delay=0.0,
                       clock=time.time)
server.route(method, path_regex, handler)      # handler(SandboxRequest) -> SandboxResponse
server.start() -> server; server.stop()        # or `with server: ...`
server.url                                     # "http://127.0.0.1:PORT" (after start)
server.requests_log -> list[LoggedRequest]     # a snapshot, oldest first: method, path, query,
                                               # headers, body, status (None = dropped), timestamp,
                                               # request_id, fault (the FaultKind that hit it)
server.count(method, path_regex) -> int        # method None = any; re.search on the path
server.reset_log()
server.faults                                  # FaultInjector, see sandbox.faults
server.consistency                             # EventualConsistency: written(key) / visible(key)
server.consistency_delay                       # seconds a written object stays hidden (settable)
server.lock                                    # RLock: handlers run under it, control methods take it
```

Routes are `re.fullmatch`ed against the URL-decoded path; named groups become
`request.path_params`. No matching path answers 404, a path without the method answers 405, both
as JSON. A handler may `raise HttpError(SandboxResponse.json(...))` to answer early. Every
response carries `X-Request-Id`, and `X-RateLimit-Limit/Remaining/Reset` when `rate_limit` is set;
past the limit the server answers 429 with `Retry-After` (seconds) until the window resets.

Subclasses customise the error bodies of their service by overriding `fault_body(status)`.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qs, unquote

from sandbox.faults import Fault, FaultInjector, FaultKind

Clock = Callable[[], float]

REQUEST_ID_HEADER = "X-Request-Id"


@dataclass(frozen=True)
class SandboxRequest:
    """One request as a handler sees it. Header names are lower-cased."""

    method: str
    path: str
    query: Mapping[str, list[str]]
    headers: Mapping[str, str]
    body: bytes
    path_params: Mapping[str, str] = field(default_factory=dict)

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def query_value(self, name: str) -> str | None:
        """The last value of a query parameter, or None when absent."""
        values = self.query.get(name)
        return values[-1] if values else None

    def json(self) -> Any:
        """The body parsed as JSON; `ValueError` when it is not JSON."""
        return json.loads(self.body.decode("utf-8"))


@dataclass
class SandboxResponse:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, payload: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Self:
        merged = {"Content-Type": "application/json", **(headers or {})}
        return cls(status, json.dumps(payload).encode("utf-8"), merged)

    @classmethod
    def empty(cls, status: int = 204) -> Self:
        return cls(status)


class HttpError(Exception):
    """Raised by a handler (or a helper it calls) to answer with `response` straight away."""

    def __init__(self, response: SandboxResponse) -> None:
        super().__init__(f"HTTP {response.status}")
        self.response = response


@dataclass(frozen=True)
class LoggedRequest:
    """A served request. `status` is None when the connection was dropped without a response."""

    method: str
    path: str
    query: Mapping[str, list[str]]
    headers: Mapping[str, str]
    body: bytes
    status: int | None
    timestamp: float
    request_id: str
    fault: FaultKind | None = None

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))


@dataclass(frozen=True)
class RateLimit:
    """At most `limit` requests per fixed window of `window` seconds."""

    limit: int
    window: float = 60.0


class _RateCounter:
    def __init__(self, config: RateLimit, clock: Clock) -> None:
        self._config = config
        self._clock = clock
        self._lock = threading.Lock()
        self._window_start = clock()
        self._used = 0

    def hit(self) -> tuple[dict[str, str], float | None]:
        """Count one request: its rate-limit headers, and the seconds to wait when over the limit."""
        with self._lock:
            now = self._clock()
            if now >= self._window_start + self._config.window:
                self._window_start, self._used = now, 0
            reset = self._window_start + self._config.window
            over = self._used >= self._config.limit
            if not over:
                self._used += 1
            headers = {
                "X-RateLimit-Limit": str(self._config.limit),
                "X-RateLimit-Remaining": str(self._config.limit - self._used),
                "X-RateLimit-Reset": str(int(reset)),
            }
            return headers, (reset - now if over else None)


class EventualConsistency:
    """Hides a freshly written object from reads for `delay` seconds, like a lagging read replica.

    A stand-in calls `written(key)` when it stores an object and checks `visible(key)` in its read
    routes. `settle()` makes everything visible at once, for tests that are not about the lag.
    """

    def __init__(self, delay: float, clock: Clock) -> None:
        self.delay = delay
        self._clock = clock
        self._lock = threading.Lock()
        self._visible_at: dict[Hashable, float] = {}

    def written(self, key: Hashable) -> None:
        if self.delay > 0:
            with self._lock:
                self._visible_at[key] = self._clock() + self.delay

    def visible(self, key: Hashable) -> bool:
        with self._lock:
            at = self._visible_at.get(key)
            if at is None:
                return True
            if self._clock() >= at:
                del self._visible_at[key]
                return True
            return False

    def settle(self) -> None:
        with self._lock:
            self._visible_at.clear()


@dataclass(frozen=True)
class _Route:
    method: str
    pattern: re.Pattern[str]
    handler: Callable[[SandboxRequest], SandboxResponse]


class SandboxServer:
    """A threaded HTTP server on a local port; stand-ins subclass it and register routes."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        rate_limit: RateLimit | None = None,
        consistency_delay: float = 0.0,
        clock: Clock = time.time,
    ) -> None:
        self.host = host
        self._requested_port = port
        self.clock = clock
        self.lock = threading.RLock()
        self.faults = FaultInjector()
        self.consistency = EventualConsistency(consistency_delay, clock)
        self._rate = _RateCounter(rate_limit, clock) if rate_limit else None
        self._routes: list[_Route] = []
        self._log: list[LoggedRequest] = []
        self._log_lock = threading.Lock()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    # -- configuration -------------------------------------------------------------------------

    def route(self, method: str, pattern: str, handler: Callable[[SandboxRequest], SandboxResponse]) -> None:
        self._routes.append(_Route(method.upper(), re.compile(pattern), handler))

    @property
    def consistency_delay(self) -> float:
        return self.consistency.delay

    @consistency_delay.setter
    def consistency_delay(self, seconds: float) -> None:
        self.consistency.delay = seconds

    def fault_body(self, status: int) -> Any:
        """The JSON body of an injected or rate-limit error; stand-ins return their service's shape."""
        return {"message": HTTPStatus(status).phrase}

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> Self:
        if self._httpd is not None:
            raise RuntimeError("server already started")
        self._httpd = _HTTPServer((self.host, self._requested_port), self)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"{type(self).__name__}:{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is None:
            return
        self._stopping.set()  # wakes handlers waiting in a delay fault
        self._httpd.shutdown()
        self._httpd.close_connections()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("server not started")
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    # -- request log ---------------------------------------------------------------------------

    @property
    def requests_log(self) -> list[LoggedRequest]:
        with self._log_lock:
            return list(self._log)

    def count(self, method: str | None, path_regex: str) -> int:
        pattern = re.compile(path_regex)
        return sum(
            1
            for entry in self.requests_log
            if (method is None or entry.method == method.upper()) and pattern.search(entry.path)
        )

    def reset_log(self) -> None:
        with self._log_lock:
            self._log.clear()

    # -- serving (called on connection threads) ------------------------------------------------

    def _serve(self, request: SandboxRequest) -> SandboxResponse:
        """Apply the rate limit, then route; always returns a response."""
        extra: dict[str, str] = {}
        if self._rate is not None:
            extra, wait = self._rate.hit()
            if wait is not None:
                extra["Retry-After"] = str(max(1, int(wait + 0.999)))
                response = SandboxResponse.json(self.fault_body(429), 429)
                response.headers.update(extra)
                return response
        response = self._route(request)
        for name, value in extra.items():
            response.headers.setdefault(name, value)
        return response

    def _route(self, request: SandboxRequest) -> SandboxResponse:
        allowed: list[str] = []
        for route in self._routes:
            match = route.pattern.fullmatch(request.path)
            if match is None:
                continue
            if route.method != request.method:
                allowed.append(route.method)
                continue
            routed = SandboxRequest(
                request.method, request.path, request.query, request.headers, request.body, match.groupdict()
            )
            try:
                with self.lock:
                    return route.handler(routed)
            except HttpError as exc:
                return exc.response
            except Exception:
                traceback.print_exc()
                return SandboxResponse.json(self.fault_body(500), 500)
        if allowed:
            response = SandboxResponse.json(self.fault_body(405), 405)
            response.headers["Allow"] = ", ".join(sorted(set(allowed)))
            return response
        return SandboxResponse.json(self.fault_body(404), 404)

    def _fault_response(self, fault: Fault) -> SandboxResponse:
        status = fault.status_code or 500
        body = self.fault_body(status) if fault.body is None else fault.body
        if isinstance(body, bytes):
            response = SandboxResponse(status, body, {"Content-Type": "application/json"})
        else:
            response = SandboxResponse.json(body, status)
        response.headers.update(fault.headers)
        if self._rate is not None:
            rate_headers, _ = self._rate.hit()
            for name, value in rate_headers.items():
                response.headers.setdefault(name, value)
        return response

    def _record(self, request: SandboxRequest, status: int | None, request_id: str, fault: Fault | None) -> None:
        entry = LoggedRequest(
            method=request.method,
            path=request.path,
            query=request.query,
            headers=request.headers,
            body=request.body,
            status=status,
            timestamp=self.clock(),
            request_id=request_id,
            fault=fault.kind if fault else None,
        )
        with self._log_lock:
            self._log.append(entry)

    def _wait(self, seconds: float) -> None:
        self._stopping.wait(seconds)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], sandbox: SandboxServer) -> None:
        self.sandbox = sandbox
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Quiet for peers that went away (a client timeout, a stop()); loud for anything else."""
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)

    def close_connections(self) -> None:
        """Cut idle keep-alive connections so no handler thread outlives `stop()`."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):  # already closed by the peer
                connection.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as real services; drops then hit reused connections
    timeout = 30
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms delayed-ACK stall
    server: _HTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        """Silenced: the sandbox keeps its own structured log."""

    def _dispatch(self) -> None:
        sandbox = self.server.sandbox
        raw_path, _, query_string = self.path.partition("?")
        path = unquote(raw_path)
        method = self.command.upper()
        headers = {name.lower(): value for name, value in self.headers.items()}
        query = parse_qs(query_string, keep_blank_values=True)
        request_id = uuid.uuid4().hex
        fault = sandbox.faults.take(method, path)

        if fault is not None and fault.kind is FaultKind.DROP_BEFORE:
            sandbox._record(SandboxRequest(method, path, query, headers, b""), None, request_id, fault)
            self.close_connection = True
            return

        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        request = SandboxRequest(method, path, query, headers, body)

        if fault is not None and fault.kind is FaultKind.STATUS:
            response = sandbox._fault_response(fault)
        else:
            response = sandbox._serve(request)

        if fault is not None and fault.kind is FaultKind.DROP_AFTER:
            sandbox._record(request, None, request_id, fault)
            self.close_connection = True
            return
        if fault is not None and fault.kind is FaultKind.DELAY:
            sandbox._wait(fault.seconds)

        response.headers.setdefault(REQUEST_ID_HEADER, request_id)
        sandbox._record(request, response.status, request_id, fault)
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if response.body and method != "HEAD":
            self.wfile.write(response.body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _dispatch
