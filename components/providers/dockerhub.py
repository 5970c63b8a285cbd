"""Docker Hub settings shared by every Docker Hub provider: endpoint and org-owner credentials.

The providers (`org_access_token`, `org_settings`, `domain_verification`) reach Docker Hub through
`build_dockerhub_client(settings)` with `DOCKER_HUB_SETTINGS`: the endpoint (stack config
`endpoints.dockerHub`, env `DOCKER_HUB_URL`, default the real service), an org owner's username
(`dockerHubUsername` / `DOCKER_HUB_USERNAME`) and their PAT or password (`dockerHubToken` /
`DOCKER_HUB_TOKEN`, a secret). An owner's PAT, not an OAT: OATs cannot manage OATs or Image Access
Management (research §1.3).
"""

from __future__ import annotations

from components.clients.dockerhub import DockerHubClient
from components.providers._settings import Setting, Settings

DOCKER_HUB_URL = Setting("endpoints.dockerHub", env="DOCKER_HUB_URL", default="https://hub.docker.com")
DOCKER_HUB_USERNAME = Setting("dockerHubUsername", env="DOCKER_HUB_USERNAME")
DOCKER_HUB_TOKEN = Setting("dockerHubToken", env="DOCKER_HUB_TOKEN", secret=True)
DOCKER_HUB_SETTINGS: tuple[Setting, ...] = (DOCKER_HUB_URL, DOCKER_HUB_USERNAME, DOCKER_HUB_TOKEN)


def build_dockerhub_client(settings: Settings) -> DockerHubClient:
    """The client for resolved `DOCKER_HUB_SETTINGS`."""
    return DockerHubClient(
        settings[DOCKER_HUB_URL.key], settings[DOCKER_HUB_USERNAME.key], settings[DOCKER_HUB_TOKEN.key]
    )
