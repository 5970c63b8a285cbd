"""Drive the real dynamic-provider plugin (`python -u -m pulumi.dynamic`) over gRPC, as the engine does.

The engine is not installable here, so this module plays its part faithfully:

- the plugin runs in its own interpreter with cwd = repo root and `PULUMI_PROJECT` set, so providers
  are unpickled by reference from our importable modules, exactly as under `pulumi up`;
- `__provider` is produced by the same call `pulumi.dynamic.Resource` makes
  (`_serialize(True, serialize_provider, provider)`); the engine strips the `Output.secret` wrapper
  before it reaches the plugin (which answers Configure with acceptSecrets=False), so the plain string
  goes on the wire;
- properties are encoded with `rpc.serialize_properties` (None dropped, numbers become floats) and
  decoded with unknowns kept, the way the plugin itself decodes them in Check and Diff;
- Configure receives the full stack config: namespaced keys, string values, structured values as
  JSON text, secrets wrapped in the secret signature.

```python
with Plugin() as plugin:
    plugin.configure({"endpoints": {"dockerHub": url}, "dockerHubToken": "t"}, secret_keys={"dockerHubToken"})
    checked = plugin.check(provider, {"name": "a"})
    created = plugin.create(provider, checked.inputs)        # CreateResponse(id, outs)
    plugin.diff(provider, created.id, created.outs, checked.inputs)
    plugin.read(provider, created.id, created.outs); plugin.update(...); plugin.delete(...)
    plugin.log                                               # everything the plugin printed so far
```

Responses are small frozen dataclasses of decoded Python values with `__provider` removed. A failed
RPC raises `PluginError`, whose `message` is the provider's exception line ("SettingError: ...").
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Self

import grpc
from google.protobuf import struct_pb2
from pulumi.dynamic import ResourceProvider
from pulumi.dynamic.dynamic import serialize_provider
from pulumi.runtime import rpc
from pulumi.runtime._serialization import _serialize
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc

from components.providers._base import PROVIDER_KEY
from components.providers._settings import PROJECT

REPO_ROOT = Path(__file__).resolve().parents[2]
UNKNOWN = rpc.UNKNOWN
"""Put this in inputs to play a value the engine does not know yet (preview)."""

DEFAULT_URN = f"urn:pulumi:harness::{PROJECT}::pulumi-python:dynamic:Resource::harness"
RPC_TIMEOUT = 60.0

ConfigValue = str | Mapping[str, Any] | list[Any]

_SERIALIZE_LOCK = threading.Lock()
"""`serialize_provider` swaps `pickle.Pickler` globally while it runs: serialise one at a time."""


class PluginError(Exception):
    """An RPC failed. `message` is the provider's exception line; `details` the full traceback."""

    def __init__(self, method: str, code: grpc.StatusCode, details: str) -> None:
        self.method = method
        self.code = code
        self.details = details
        self.message = _exception_line(details)
        super().__init__(f"{method} failed ({code.name}): {self.message}")


def _exception_line(details: str) -> str:
    """The final exception ("Type: message", possibly multi-line) of a formatted traceback."""
    lines = details.rstrip("\n").splitlines()
    frames = [i for i, line in enumerate(lines) if line.startswith("  File ")]
    if not frames:
        return details.strip()
    rest = lines[frames[-1] + 1 :]
    while rest and rest[0].startswith("    "):
        rest = rest[1:]  # the frame's source line and its ^^^ markers
    return "\n".join(rest).strip()


def serialize(provider: ResourceProvider) -> str:
    """The `__provider` string for `provider`, made as `pulumi.dynamic.Resource` makes it."""
    with _SERIALIZE_LOCK:
        serialized: str = _serialize(True, serialize_provider, provider)[0]
    return serialized


def encode(props: Mapping[str, Any]) -> struct_pb2.Struct:
    """Properties to the wire, with the SDK's own serializer."""
    # A private loop, not asyncio.run(): asyncio.run() leaves the thread without an event loop, which
    # breaks Pulumi mock-runtime tests that run later in the same process.
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(rpc.serialize_properties(dict(props), {}))
    finally:
        loop.close()


def _with_provider(props: Mapping[str, Any], serialized: str) -> struct_pb2.Struct:
    """Properties plus the pickled provider, as every resource RPC carries them."""
    return encode({**props, PROVIDER_KEY: serialized})


def decode(struct: struct_pb2.Struct) -> dict[str, Any]:
    """Properties from the wire (unknowns kept), without `__provider`."""
    props: dict[str, Any] = rpc.deserialize_properties(struct, keep_unknowns=True)
    return {k: v for k, v in props.items() if k != PROVIDER_KEY}


@dataclass(frozen=True)
class CheckResponse:
    inputs: dict[str, Any]
    failures: list[tuple[str, str]]
    """(property, reason) pairs, in the provider's order."""


@dataclass(frozen=True)
class DiffResponse:
    changes: bool | None
    """True: DIFF_SOME, False: DIFF_NONE, None: DIFF_UNKNOWN (the engine then diffs by itself)."""
    replaces: list[str]
    delete_before_replace: bool


@dataclass(frozen=True)
class CreateResponse:
    id: str
    outs: dict[str, Any]


@dataclass(frozen=True)
class ReadResponse:
    id: str
    """Empty when the provider reported the object gone."""
    outs: dict[str, Any]
    inputs: dict[str, Any] | None


@dataclass(frozen=True)
class UpdateResponse:
    outs: dict[str, Any]


_DIFF_CHANGES = {
    provider_pb2.DiffResponse.DIFF_SOME: True,
    provider_pb2.DiffResponse.DIFF_NONE: False,
    provider_pb2.DiffResponse.DIFF_UNKNOWN: None,
}


class Plugin:
    """One running plugin process and a gRPC channel to it. Use as a context manager."""

    def __init__(self, *, env: Mapping[str, str] | None = None) -> None:
        """Start the plugin in the repo root; `env` is added to this process's environment."""
        self._process = subprocess.Popen(
            [sys.executable, "-u", "-m", "pulumi.dynamic"],
            cwd=REPO_ROOT,
            env={**os.environ, "PULUMI_PROJECT": PROJECT, **(env or {})},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self._log: list[str] = []
        self._log_lock = threading.Lock()
        self._channel: grpc.Channel | None = None
        assert self._process.stdout is not None and self._process.stderr is not None
        first = self._process.stdout.readline().decode(errors="replace")
        self._drains = [
            threading.Thread(target=self._drain, args=(stream,), daemon=True)
            for stream in (self._process.stdout, self._process.stderr)
        ]
        for thread in self._drains:
            thread.start()
        if not first.strip().isdigit():
            self.close()
            raise RuntimeError(f"the plugin did not print its port (got {first!r}):\n{self.log}")
        self._channel = grpc.insecure_channel(f"127.0.0.1:{int(first)}")
        grpc.channel_ready_future(self._channel).result(timeout=RPC_TIMEOUT)
        self._stub = provider_pb2_grpc.ResourceProviderStub(self._channel)

    # -- process ---------------------------------------------------------------------------------

    def _drain(self, stream: IO[bytes]) -> None:
        for line in stream:
            with self._log_lock:
                self._log.append(line.decode(errors="replace"))

    @property
    def log(self) -> str:
        """What the plugin wrote to stdout and stderr so far; complete once `close()` returned."""
        with self._log_lock:
            return "".join(self._log)

    def close(self) -> None:
        """Close the channel, terminate the plugin and wait until its output is fully drained."""
        if self._channel is not None:
            self._channel.close()
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        for thread in self._drains:
            thread.join()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- RPCs --------------------------------------------------------------------------------------

    def _call(self, method: str, request: Any) -> Any:
        try:
            return getattr(self._stub, method)(request, timeout=RPC_TIMEOUT)
        except grpc.RpcError as error:
            raise PluginError(method, error.code(), error.details() or "") from None

    def configure(self, config: Mapping[str, ConfigValue], secret_keys: Collection[str] = ()) -> None:
        """Send stack config as the engine does. Keys without a namespace get the project's;
        `secret_keys` (either form) are sent wrapped as secrets."""
        args: dict[str, Any] = {}
        for key, value in config.items():
            full = key if ":" in key else f"{PROJECT}:{key}"
            text = value if isinstance(value, str) else json.dumps(value)
            secret = key in secret_keys or full in secret_keys
            args[full] = rpc.wrap_rpc_secret(text) if secret else text
        self._call("Configure", provider_pb2.ConfigureRequest(args=encode(args), acceptSecrets=True))

    def check(
        self,
        provider: ResourceProvider,
        news: Mapping[str, Any],
        olds: Mapping[str, Any] | None = None,
        *,
        urn: str = DEFAULT_URN,
    ) -> CheckResponse:
        """Check `news` (program inputs) against `olds` (the previous inputs; none on create)."""
        serialized = serialize(provider)
        response = self._call(
            "Check",
            provider_pb2.CheckRequest(
                urn=urn,
                olds=_with_provider(olds, serialized) if olds is not None else encode({}),
                news=_with_provider(news, serialized),
            ),
        )
        return CheckResponse(decode(response.inputs), [(f.property, f.reason) for f in response.failures])

    def diff(
        self,
        provider: ResourceProvider,
        id_: str,
        olds: Mapping[str, Any],
        news: Mapping[str, Any],
        *,
        urn: str = DEFAULT_URN,
    ) -> DiffResponse:
        """Diff old outputs (state) against new checked inputs."""
        serialized = serialize(provider)
        response = self._call(
            "Diff",
            provider_pb2.DiffRequest(
                id=id_,
                urn=urn,
                olds=_with_provider(olds, serialized),
                news=_with_provider(news, serialized),
            ),
        )
        return DiffResponse(_DIFF_CHANGES[response.changes], list(response.replaces), response.deleteBeforeReplace)

    def create(
        self, provider: ResourceProvider, inputs: Mapping[str, Any], *, urn: str = DEFAULT_URN
    ) -> CreateResponse:
        properties = _with_provider(inputs, serialize(provider))
        response = self._call("Create", provider_pb2.CreateRequest(urn=urn, properties=properties))
        return CreateResponse(response.id, decode(response.properties))

    def read(
        self,
        provider: ResourceProvider,
        id_: str,
        outs: Mapping[str, Any],
        inputs: Mapping[str, Any] | None = None,
        *,
        urn: str = DEFAULT_URN,
    ) -> ReadResponse:
        """Refresh: the engine sends the prior outputs and, when it has them, the prior inputs."""
        serialized = serialize(provider)
        request = provider_pb2.ReadRequest(id=id_, urn=urn, properties=_with_provider(outs, serialized))
        if inputs is not None:
            request.inputs.CopyFrom(_with_provider(inputs, serialized))
        response = self._call("Read", request)
        read_inputs = decode(response.inputs) if response.HasField("inputs") else None
        return ReadResponse(response.id, decode(response.properties), read_inputs)

    def update(
        self,
        provider: ResourceProvider,
        id_: str,
        olds: Mapping[str, Any],
        news: Mapping[str, Any],
        *,
        urn: str = DEFAULT_URN,
    ) -> UpdateResponse:
        """Update from old outputs (state) to new checked inputs."""
        serialized = serialize(provider)
        response = self._call(
            "Update",
            provider_pb2.UpdateRequest(
                id=id_,
                urn=urn,
                olds=_with_provider(olds, serialized),
                news=_with_provider(news, serialized),
            ),
        )
        return UpdateResponse(decode(response.properties))

    def delete(self, provider: ResourceProvider, id_: str, outs: Mapping[str, Any], *, urn: str = DEFAULT_URN) -> None:
        properties = _with_provider(outs, serialize(provider))
        self._call("Delete", provider_pb2.DeleteRequest(id=id_, urn=urn, properties=properties))


# -- scenarios ------------------------------------------------------------------------------------------


def _expect(condition: bool, message: str) -> None:
    """An assertion that survives `python -O` and says which step of the scenario broke."""
    if not condition:
        raise AssertionError(message)


@dataclass(frozen=True)
class Lifecycle:
    """Every step's response, for assertions beyond the invariants `run_lifecycle` checks."""

    checked: CheckResponse
    created: CreateResponse
    read: ReadResponse
    unchanged: DiffResponse
    update_checked: CheckResponse
    update_diff: DiffResponse
    updated: UpdateResponse
    reread: ReadResponse
    gone: ReadResponse


def run_lifecycle(
    plugin: Plugin,
    provider: ResourceProvider,
    inputs: Mapping[str, Any],
    updated_inputs: Mapping[str, Any],
    *,
    read_gone: Callable[[str], bool],
) -> Lifecycle:
    """create -> read -> no-op diff -> update -> read -> no-op diff -> delete -> read-gone -> delete again.

    Invariants checked on the way: inputs pass check; outs carry every input; a read right after a
    write reports exactly those outs (no phantom drift); unchanged inputs diff to DIFF_NONE; the update
    is in place (no replace) and returns full outs (computed outputs survive); after delete the
    provider reports the object gone (empty id, no outs) and `read_gone(id)` - the service's own view,
    not the provider's - agrees; deleting a gone object succeeds.
    """
    checked = plugin.check(provider, inputs)
    _expect(checked.failures == [], f"check rejected the inputs: {checked.failures}")
    created = plugin.create(provider, checked.inputs)
    _expect(created.id != "", "create returned an empty id")
    _expect_carries(created.outs, checked.inputs, "create")

    read = plugin.read(provider, created.id, created.outs, checked.inputs)
    _expect(read.id == created.id, f"read after create returned id {read.id!r}, not {created.id!r}")
    _expect(read.outs == created.outs, f"read after create drifted: {read.outs} != {created.outs}")
    unchanged = plugin.diff(provider, created.id, read.outs, checked.inputs)
    _expect(unchanged.changes is False, f"diff of unchanged inputs reported {unchanged}")

    update_checked = plugin.check(provider, updated_inputs, checked.inputs)
    _expect(update_checked.failures == [], f"check rejected the updated inputs: {update_checked.failures}")
    update_diff = plugin.diff(provider, created.id, read.outs, update_checked.inputs)
    _expect(update_diff.changes is True, f"diff of the updated inputs reported {update_diff}")
    _expect(
        update_diff.replaces == [],
        f"updated_inputs change replace fields {update_diff.replaces}: the lifecycle covers in-place update",
    )
    updated = plugin.update(provider, created.id, read.outs, update_checked.inputs)
    _expect_carries(updated.outs, update_checked.inputs, "update")
    computed = set(read.outs) - set(checked.inputs)
    _expect(
        computed <= set(updated.outs),
        f"update dropped computed outputs {sorted(computed - set(updated.outs))}: it must return full outs",
    )

    reread = plugin.read(provider, created.id, updated.outs, update_checked.inputs)
    _expect(reread.id == created.id, f"read after update returned id {reread.id!r}")
    _expect(reread.outs == updated.outs, f"read after update drifted: {reread.outs} != {updated.outs}")
    settled = plugin.diff(provider, created.id, reread.outs, update_checked.inputs)
    _expect(settled.changes is False, f"diff after update reported {settled}")

    plugin.delete(provider, created.id, reread.outs)
    gone = plugin.read(provider, created.id, reread.outs, update_checked.inputs)
    _expect(gone.id == "" and gone.outs == {}, f"read after delete did not report the object gone: {gone}")
    _expect(read_gone(created.id), f"the service still has {created.id!r} after delete")
    plugin.delete(provider, created.id, reread.outs)  # must not raise: deleting a gone object succeeds

    return Lifecycle(checked, created, read, unchanged, update_checked, update_diff, updated, reread, gone)


def _expect_carries(outs: Mapping[str, Any], inputs: Mapping[str, Any], step: str) -> None:
    wrong = sorted(k for k, v in inputs.items() if outs.get(k) != v)
    _expect(not wrong, f"{step} outs do not carry the inputs {wrong}: {outs}")


@dataclass(frozen=True)
class Preview:
    check: CheckResponse
    diff: DiffResponse | None
    """None for a create preview (no prior state)."""


def preview(
    plugin: Plugin,
    provider: ResourceProvider,
    inputs: Mapping[str, Any],
    *,
    id_: str | None = None,
    old_inputs: Mapping[str, Any] | None = None,
    old_outs: Mapping[str, Any] | None = None,
) -> Preview:
    """What `pulumi preview` asks of a provider: Check, and for an existing object Diff.

    `inputs` must contain `UNKNOWN` somewhere (else this is not a preview of unknowns). Give `id_`,
    `old_inputs` and `old_outs` to preview an update of an existing object.
    """
    _expect(UNKNOWN in json.dumps(dict(inputs)), "preview inputs contain no UNKNOWN value")
    checked = plugin.check(provider, inputs, old_inputs)
    if id_ is None:
        return Preview(checked, None)
    if old_outs is None:
        raise ValueError("an update preview needs old_outs (the prior state)")
    return Preview(checked, plugin.diff(provider, id_, old_outs, checked.inputs))
