"""The Docker organization: access tokens (values into Key Vault), verified domains, org settings."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components.spec import AzureSpec, DockerOrgSpec, EndpointsSpec


@dataclass(frozen=True)
class DockerOrganizationArgs:
    org: DockerOrgSpec
    azure: AzureSpec | None
    endpoints: EndpointsSpec


class DockerOrganization(pulumi.ComponentResource):
    def __init__(self, name: str, args: DockerOrganizationArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("docker-desktop-rollout:docker:Organization", name, None, opts)
        self.args = args
        self.register_outputs({})
