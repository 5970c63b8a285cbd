"""Fault injection for sandbox servers: scripted failures that a test arms before driving a client.

A `Fault` says *what* goes wrong and *which* requests it hits; the server's `FaultInjector`
(`server.faults`) hands each incoming request the first armed fault that matches it and counts that
fault down. A fault matches when its `method` (case-insensitive, `None` = any) equals the request
method and its `path` regex (`re.search` on the URL path without query string, `None` = any path)
matches. After `times` matches the fault is used up and removed.

```python
Fault.status(status, *, times=1, headers=None, body=None, method=None, path=None)
    answer `status` instead of running the handler: nothing is applied
Fault.drop_before(*, times=1, method=None, path=None)
    close the socket before reading the body: nothing is applied, no response
Fault.drop_after(*, times=1, method=None, path=None)
    run the handler (state changes), then close the socket without answering: the "lost response"
Fault.delay(seconds, *, times=1, method=None, path=None)
    run the handler, then wait `seconds` before answering: the change is applied even if the
    client gives up first, as with a slow real service

server.faults.add(fault) -> Fault        arm (returns the fault, for `remaining`)
server.faults.remaining(fault) -> int    matches left (0 once used up or cleared)
server.faults.clear() -> None            disarm everything
```

A `status` fault's `body` is sent as given (bytes) or as JSON (any other value); when it is `None`
the server supplies its service's usual error body for that status (`SandboxServer.fault_body`).
"""

from __future__ import annotations

import enum
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


class FaultKind(enum.Enum):
    STATUS = "status"
    DROP_BEFORE = "drop_before"
    DROP_AFTER = "drop_after"
    DELAY = "delay"


@dataclass(frozen=True)
class Fault:
    """One scripted failure. Build it with the class methods, arm it with `server.faults.add`."""

    kind: FaultKind
    times: int = 1
    method: str | None = None
    path: str | None = None
    status_code: int | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    body: Any = None
    seconds: float = 0.0

    def __post_init__(self) -> None:
        if self.times < 1:
            raise ValueError(f"times must be >= 1, got {self.times}")
        if self.path is not None:
            re.compile(self.path)  # a bad pattern fails when armed, not on the server thread

    @classmethod
    def status(
        cls,
        status: int,
        *,
        times: int = 1,
        headers: Mapping[str, str] | None = None,
        body: Any = None,
        method: str | None = None,
        path: str | None = None,
    ) -> Fault:
        return cls(
            FaultKind.STATUS,
            times=times,
            method=method,
            path=path,
            status_code=status,
            headers=dict(headers or {}),
            body=body,
        )

    @classmethod
    def drop_before(cls, *, times: int = 1, method: str | None = None, path: str | None = None) -> Fault:
        return cls(FaultKind.DROP_BEFORE, times=times, method=method, path=path)

    @classmethod
    def drop_after(cls, *, times: int = 1, method: str | None = None, path: str | None = None) -> Fault:
        return cls(FaultKind.DROP_AFTER, times=times, method=method, path=path)

    @classmethod
    def delay(cls, seconds: float, *, times: int = 1, method: str | None = None, path: str | None = None) -> Fault:
        if seconds < 0:
            raise ValueError(f"seconds must be >= 0, got {seconds}")
        return cls(FaultKind.DELAY, times=times, method=method, path=path, seconds=seconds)

    def matches(self, method: str, path: str) -> bool:
        if self.method is not None and self.method.upper() != method.upper():
            return False
        return self.path is None or re.search(self.path, path) is not None


@dataclass
class _Armed:
    fault: Fault
    remaining: int


class FaultInjector:
    """The armed faults of one server; safe to use from the test thread while requests are served."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._armed: list[_Armed] = []  # in arming order: the first match wins

    def add(self, fault: Fault) -> Fault:
        with self._lock:
            self._armed.append(_Armed(fault, fault.times))
        return fault

    def clear(self) -> None:
        with self._lock:
            self._armed.clear()

    def remaining(self, fault: Fault) -> int:
        with self._lock:
            return sum(armed.remaining for armed in self._armed if armed.fault is fault)

    def take(self, method: str, path: str) -> Fault | None:
        """Consume one use of the first armed fault matching this request, if any."""
        with self._lock:
            for armed in self._armed:
                if armed.fault.matches(method, path):
                    armed.remaining -= 1
                    if armed.remaining == 0:
                        self._armed.remove(armed)
                    return armed.fault
        return None
