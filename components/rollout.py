"""`EnterpriseRollout`: the root component of a stack, one child component per declared area."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components.devbox import DevBoxEnvironment, DevBoxEnvironmentArgs
from components.docker_org import DockerOrganization, DockerOrganizationArgs
from components.intune import IntuneDeployment, IntuneDeploymentArgs
from components.jamf import JamfDeployment, JamfDeploymentArgs
from components.spec import RolloutSpec

TYPE_TOKEN = "docker-desktop-rollout:index:EnterpriseRollout"


@dataclass(frozen=True)
class EnterpriseRolloutArgs:
    spec: RolloutSpec


class EnterpriseRollout(pulumi.ComponentResource):
    """Everything one environment declares. Areas the spec leaves out are simply absent."""

    docker: DockerOrganization | None
    intune: IntuneDeployment | None
    jamf: JamfDeployment | None
    devbox: DevBoxEnvironment | None

    def __init__(self, name: str, args: EnterpriseRolloutArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE_TOKEN, name, None, opts)
        spec = args.spec
        child = pulumi.ResourceOptions(parent=self)
        self.docker = None
        self.intune = None
        self.jamf = None
        self.devbox = None
        if spec.docker is not None:
            self.docker = DockerOrganization(
                f"{name}-docker",
                DockerOrganizationArgs(org=spec.docker, azure=spec.azure, endpoints=spec.endpoints),
                child,
            )
        if spec.intune is not None and spec.docker is not None:
            self.intune = IntuneDeployment(
                f"{name}-intune",
                IntuneDeploymentArgs(intune=spec.intune, docker=spec.docker, groups=spec.groups),
                child,
            )
        if spec.jamf is not None and spec.docker is not None:
            self.jamf = JamfDeployment(f"{name}-jamf", JamfDeploymentArgs(jamf=spec.jamf, docker=spec.docker), child)
        if spec.devbox is not None:
            self.devbox = DevBoxEnvironment(
                f"{name}-devbox",
                DevBoxEnvironmentArgs(devbox=spec.devbox, azure=spec.azure, groups=spec.groups),
                child,
            )
        self.register_outputs(
            {"areas": [area for area in ("docker", "intune", "jamf", "devbox") if getattr(self, area)]}
        )
