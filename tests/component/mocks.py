"""Run the real Pulumi program under the SDK's mock runtime and capture what it registers."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pulumi
from pulumi.runtime import mocks

from components.spec import PROJECT


@dataclass
class Registration:
    type: str
    name: str
    inputs: dict[str, Any]
    custom: bool


@dataclass
class RecordingMocks(mocks.Mocks):
    registrations: list[Registration] = field(default_factory=list)

    def new_resource(self, args: mocks.MockResourceArgs) -> tuple[str | None, dict[Any, Any]]:
        inputs = {k: v for k, v in args.inputs.items() if k != "__provider"}
        self.registrations.append(Registration(args.typ, args.name, inputs, bool(args.custom)))
        return f"{args.name}-id", dict(inputs)

    def call(self, args: mocks.MockCallArgs) -> tuple[dict[Any, Any], list[tuple[str, str]] | None]:
        return {}, None


def run_program(
    areas: dict[str, Any], *, stack: str = "test", recording: RecordingMocks | None = None
) -> RecordingMocks:
    """Run `components.program.run()` (what `__main__.py` does) with `areas` as the stack config."""
    from components import program

    recording = recording if recording is not None else RecordingMocks()
    config = {f"{PROJECT}:{key}": json.dumps(value) for key, value in areas.items()}
    pulumi.runtime.set_all_config(config, [])
    mocks.set_mocks(recording, project=PROJECT, stack=stack, preview=False)
    mocks.test(program.run)()  # type: ignore[no-untyped-call]
    return recording
