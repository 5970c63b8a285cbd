"""Local stand-ins for the vendor APIs this project talks to, for tests and `rollout sandbox serve`.

Nothing here imports `components`: a stand-in that reused our client code would share its
misunderstandings. The framework lives in `sandbox._server` and `sandbox.faults`; each stand-in
(`sandbox.dockerhub`, `sandbox.dns`) is its own module.
"""

from sandbox._server import (
    Clock,
    EventualConsistency,
    HttpError,
    LoggedRequest,
    RateLimit,
    SandboxRequest,
    SandboxResponse,
    SandboxServer,
)
from sandbox.faults import Fault, FaultInjector, FaultKind

__all__ = [
    "Clock",
    "EventualConsistency",
    "Fault",
    "FaultInjector",
    "FaultKind",
    "HttpError",
    "LoggedRequest",
    "RateLimit",
    "SandboxRequest",
    "SandboxResponse",
    "SandboxServer",
]
