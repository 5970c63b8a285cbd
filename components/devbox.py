"""Microsoft Dev Box with the Docker Desktop marketplace image.

Dev centers, definitions, networks, projects, pools, schedules and role assignments arrive with the
Dev Box issue; this component fixes the place they hang from.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi

from components.spec import AzureSpec, DevBoxSpec, GroupSpec


@dataclass(frozen=True)
class DevBoxEnvironmentArgs:
    devbox: DevBoxSpec
    azure: AzureSpec | None
    groups: Mapping[str, GroupSpec]


class DevBoxEnvironment(pulumi.ComponentResource):
    def __init__(self, name: str, args: DevBoxEnvironmentArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("docker-desktop-rollout:devbox:Environment", name, None, opts)
        self.args = args
        self.register_outputs({})
