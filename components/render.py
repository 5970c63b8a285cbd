"""`rollout render`: run the Pulumi program under the SDK's mock runtime and print a review.

No credentials, no network, no Pulumi CLI: the real `__main__.py` runs with the stack file's
config against `pulumi.runtime.set_mocks`, a recording monitor captures every registered resource
(type, name, parent, inputs), and the spec's artifacts are rendered next to it.
"""

from __future__ import annotations

import asyncio
import atexit
import json
import runpy
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import mocks, rpc

from components.review import Artifact, review_artifacts
from components.secrets import SECRET_PLACEHOLDER
from components.spec import PROJECT, RolloutSpec
from components.stack_config import StackConfig

MAX_INPUT_CHARS = 160


@dataclass(frozen=True)
class RenderedResource:
    type: str
    name: str
    parent: str | None
    """`type::name` of the parent, None for the stack's top-level resources."""
    custom: bool
    inputs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Review:
    stack: str
    resources: list[RenderedResource]
    artifacts: list[Artifact]

    def to_json(self) -> str:
        return json.dumps(
            {
                "stack": self.stack,
                "resources": [asdict(r) for r in self.resources],
                "artifacts": [asdict(a) for a in self.artifacts],
            },
            indent=2,
        )

    def to_markdown(self) -> str:
        lines = [f"# Rollout review: stack `{self.stack}`", "", f"## Resources ({len(self.resources)})", ""]
        children: dict[str | None, list[RenderedResource]] = {}
        for resource in self.resources:
            children.setdefault(resource.parent, []).append(resource)

        def walk(parent: str | None, depth: int) -> None:
            for resource in children.get(parent, []):
                inputs = ", ".join(f"{k}={_short(v)}" for k, v in resource.inputs.items())
                lines.append(
                    f"{'  ' * depth}- `{resource.type}` **{resource.name}**" + (f": {inputs}" if inputs else "")
                )
                walk(f"{resource.type}::{resource.name}", depth + 1)

        walk(None, 0)
        lines += ["", "## Artifacts", ""]
        for artifact in self.artifacts:
            lines += [
                f"### {artifact.area}: {artifact.title}",
                "",
                f"```{artifact.language}",
                artifact.content,
                "```",
                "",
            ]
        return "\n".join(lines).rstrip("\n") + "\n"


class _RecordingMonitor(mocks.MockMonitor):
    """The SDK's mock monitor, remembering each registration's parent (MockResourceArgs lacks it)."""

    def __init__(self, mocks_: mocks.Mocks) -> None:
        super().__init__(mocks_)
        self.registrations: list[tuple[str, str, str, bool, str]] = []

    def RegisterResource(self, request: Any) -> Any:
        response = super().RegisterResource(request)  # type: ignore[no-untyped-call]
        if request.type != "pulumi:pulumi:Stack":
            self.registrations.append((response.urn, request.type, request.name, bool(request.custom), request.parent))
        return response


class _ReviewMocks(mocks.Mocks):
    """Outputs = inputs; ids are names. Invokes answer empty: nothing leaves the process."""

    def __init__(self) -> None:
        self.inputs: dict[tuple[str, str], dict[str, Any]] = {}

    def new_resource(self, args: mocks.MockResourceArgs) -> tuple[str | None, dict[Any, Any]]:
        inputs = {k: v for k, v in args.inputs.items() if k != "__provider"}
        self.inputs[(args.typ, args.name)] = inputs
        return f"{args.name}-id", dict(inputs)

    def call(self, args: mocks.MockCallArgs) -> tuple[dict[Any, Any], list[tuple[str, str]] | None]:
        return {}, None


def render(stack: StackConfig, spec: RolloutSpec, project_dir: Path) -> Review:
    """Run `project_dir/__main__.py` under mocks with the stack's config; return what it declared."""
    values, secret_keys = stack.pulumi_config()
    policy = _tracking_policy()
    review_mocks = _ReviewMocks()
    monitor = _RecordingMonitor(review_mocks)
    pulumi.runtime.set_all_config(values, secret_keys)
    mocks.set_mocks(review_mocks, project=PROJECT, stack=stack.stack, preview=True, monitor=monitor)
    program = str(project_dir / "__main__.py")
    run_to_completion = mocks.test(lambda: runpy.run_path(program, run_name="__main__"))  # type: ignore[no-untyped-call]
    run_to_completion()
    _release_sdk_threads(policy)

    by_urn = {urn: (typ, name) for urn, typ, name, _custom, _parent in monitor.registrations}
    resources = []
    for _urn, typ, name, custom, parent_urn in monitor.registrations:
        parent = by_urn.get(parent_urn)
        resources.append(
            RenderedResource(
                type=typ,
                name=name,
                parent=f"{parent[0]}::{parent[1]}" if parent else None,
                custom=custom,
                inputs=_display_inputs(review_mocks.inputs.get((typ, name), {})) if custom else {},
            )
        )
    return Review(stack=stack.stack, resources=resources, artifacts=review_artifacts(spec))


class _LoopTrackingPolicy(asyncio.DefaultEventLoopPolicy):
    """The default policy, remembering every loop it makes so render can close them all."""

    def __init__(self) -> None:
        super().__init__()
        self.loops: list[asyncio.AbstractEventLoop] = []

    def new_event_loop(self) -> asyncio.AbstractEventLoop:
        loop = super().new_event_loop()
        self.loops.append(loop)
        return loop


def _tracking_policy() -> _LoopTrackingPolicy:
    policy = asyncio.get_event_loop_policy()
    if not isinstance(policy, _LoopTrackingPolicy):
        policy = _LoopTrackingPolicy()
        asyncio.set_event_loop_policy(policy)
        atexit.register(_close_loops, policy)
    return policy


def _close_loops(policy: _LoopTrackingPolicy) -> None:
    """Close the SDK's event loops while the interpreter is whole.

    The SDK gives each executor thread that registers resources an event loop of its own, and one to
    the main thread, and closes none of them. Collected at interpreter shutdown (after their sockets),
    they print an ignored `ValueError: Invalid file descriptor` traceback on stderr.
    """
    for loop in policy.loops:
        if not loop.is_closed() and not loop.is_running():
            loop.close()
    policy.loops = [loop for loop in policy.loops if not loop.is_closed()]


def _release_sdk_threads(policy: _LoopTrackingPolicy) -> None:
    """Join the SDK's executor threads and close every loop it made; leave a fresh main-thread loop."""
    loop = asyncio.get_event_loop()
    loop.run_until_complete(loop.shutdown_default_executor())
    _close_loops(policy)
    asyncio.set_event_loop(policy.new_event_loop())


def _display_inputs(inputs: dict[str, Any]) -> dict[str, Any]:
    return {key: _mask(value) for key, value in sorted(inputs.items()) if value is not None}


def _mask(value: Any) -> Any:
    """Secrets become `[secret]`; integral floats (protobuf sends every number as a double) become ints."""
    if rpc.is_rpc_secret(value):
        return SECRET_PLACEHOLDER
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _mask(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask(v) for v in value]
    return value


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return text if len(text) <= MAX_INPUT_CHARS else text[: MAX_INPUT_CHARS - 1] + "…"
