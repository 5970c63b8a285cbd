"""Jamf Pro: the Docker.pkg package, a smart group, a policy and the sign-in configuration profile.

The Jamf resources arrive with the Jamf issue; this component fixes the place they hang from.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components.spec import DockerOrgSpec, JamfSpec


@dataclass(frozen=True)
class JamfDeploymentArgs:
    jamf: JamfSpec
    docker: DockerOrgSpec


class JamfDeployment(pulumi.ComponentResource):
    def __init__(self, name: str, args: JamfDeploymentArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("docker-desktop-rollout:jamf:Deployment", name, None, opts)
        self.args = args
        self.register_outputs({})
