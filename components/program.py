"""The Pulumi program: stack config -> `RolloutSpec` -> one `EnterpriseRollout`."""

from __future__ import annotations

from typing import Any

import pulumi

from components.rollout import EnterpriseRollout, EnterpriseRolloutArgs
from components.spec import CONFIG_AREAS, RolloutSpec, SpecError


def read_areas(config: pulumi.Config) -> dict[str, Any]:
    """The structured areas this stack sets (`pulumi.Config` cannot list keys, so ask for each)."""
    areas: dict[str, Any] = {}
    for area in CONFIG_AREAS:
        value = config.get_object(area)
        if value is not None:
            areas[area] = value
    return areas


def run() -> EnterpriseRollout:
    try:
        spec = RolloutSpec.from_config(read_areas(pulumi.Config()))
    except SpecError as exc:
        # RunError prints the message without a Python traceback: the problems are the story.
        raise pulumi.RunError(f"invalid stack configuration:\n{exc}") from None
    rollout = EnterpriseRollout("rollout", EnterpriseRolloutArgs(spec=spec))
    pulumi.export("areas", [area for area in ("docker", "intune", "jamf", "devbox") if getattr(spec, area)])
    return rollout
