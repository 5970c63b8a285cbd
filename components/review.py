"""The artifacts a reviewer reads in `rollout render`: what the stack will put on devices and in clouds.

Pure functions of the spec (no Pulumi, no network): msiexec command lines, admin-settings.json,
allowedOrgs forms, token scopes and expiry, domain steps, pools and schedules.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from components import installers
from components.admin_settings import render_admin_settings
from components.spec import (
    AccessTokenSpec,
    DevBoxSpec,
    DockerOrgSpec,
    DomainSpec,
    IntuneSpec,
    JamfSpec,
    RolloutSpec,
    msi_options,
)


@dataclass(frozen=True)
class Artifact:
    area: str
    title: str
    language: str
    """Code-fence language for markdown: powershell, shell, json, text."""
    content: str


def review_artifacts(spec: RolloutSpec) -> list[Artifact]:
    artifacts: list[Artifact] = []
    if spec.docker is not None:
        artifacts += _docker_artifacts(spec.docker)
    if spec.intune is not None and spec.docker is not None:
        artifacts += _intune_artifacts(spec.intune, spec.docker)
    if spec.jamf is not None and spec.docker is not None:
        artifacts += _jamf_artifacts(spec.jamf, spec.docker)
    if spec.devbox is not None:
        artifacts += _devbox_artifacts(spec.devbox)
    return artifacts


def token_expiry_text(token: AccessTokenSpec) -> str:
    if token.expires_at is not None:
        expiry = f"expires {token.expires_at.isoformat()}"
    elif token.expires_in_days is not None:
        expiry = f"expires {token.expires_in_days} days after creation"
    else:
        return "never expires"
    if token.rotate_before_days is not None:
        expiry += (
            f"; replaced (create-before-delete) by the first `pulumi up` within {token.rotate_before_days} days"
            " of expiry"
        )
    return expiry


def _domain_steps(domain: DomainSpec, org: str) -> list[str]:
    """What the stack does for a domain, and what stays manual: Docker has no domain API."""
    name = domain.name if domain.record_name == "@" else f"{domain.record_name}.{domain.name}"
    record = f"TXT {name} = {domain.verification_value}"
    if domain.dns_zone is not None:
        zone = domain.dns_zone
        steps = [f"{record}: Azure DNS zone {zone.zone_name} ({zone.resource_group}), TTL 3600, managed by this stack"]
        if domain.keep_txt_values:
            steps.append(f"The same record set keeps: {'; '.join(domain.keep_txt_values)}")
    else:
        steps = [f"Manual: add {record} at your DNS host (no dnsZone: DNS is managed outside this stack)"]
    steps += [
        f"Checked when created or changed and on every `pulumi refresh` (or `pulumi up --refresh`): DNS status "
        f"verified, mismatch or pending, and the {org} audit log's domain verify event when Docker Hub "
        "credentials can read it",
        "Manual (Docker has no domain API): Admin Console > Domain management > Verify, once the TXT record "
        "resolves (DNS propagation can take up to 72 hours); if the organization belongs to a company, "
        "verify at company level",
    ]
    if domain.auto_provisioning:
        steps.append(
            "Manual: Admin Console > Domain management > Actions > Enable auto-provisioning, after verification "
            "(adds existing Docker users who sign in with a matching email; SSO JIT provisioning takes precedence)"
        )
    else:
        steps.append("Auto-provisioning: not requested (autoProvisioning: false)")
    steps.append(
        "Recurring: Admin Console > Domain management > Domain audit > Export Users, then "
        f"`rollout docker invite-uncaptured <export.csv> --org {org}` (dry run; --apply sends)"
    )
    return steps


def _docker_artifacts(docker: DockerOrgSpec) -> list[Artifact]:
    orgs = docker.sign_in_orgs
    registry = installers.allowed_orgs_registry_value(orgs)
    artifacts = [
        Artifact(
            "docker",
            "Sign-in enforcement (allowedOrgs)",
            "text",
            "\n".join(
                [
                    f"Windows registry: {registry.hive_key} -> {registry.value_name} ({registry.kind}) = "
                    + " | ".join(registry.values),
                    f"macOS profile (com.docker.config) allowedOrgs = {installers.allowed_orgs_profile_string(orgs)}",
                    f"registry.json = {installers.registry_json(orgs)}",
                ]
            ),
        )
    ]
    if docker.admin_settings is not None:
        artifacts.append(
            Artifact("docker", "admin-settings.json", "json", render_admin_settings(docker.admin_settings).rstrip("\n"))
        )
    if docker.access_tokens:
        lines = []
        for token in docker.access_tokens:
            scopes = "; ".join(f"{r.type} {r.path}: {', '.join(r.scopes)}" for r in token.resources)
            where = (
                f"value -> Key Vault secret {token.key_vault_secret}"
                if token.key_vault_secret
                else "value kept only in Pulumi state (set keyVaultSecret to hand it to CI)"
            )
            lines.append(f"{token.label}: {scopes} | {token_expiry_text(token)} | {where}")
        artifacts.append(Artifact("docker", "Organization access tokens", "text", "\n".join(lines)))
    for domain in docker.domains:
        artifacts.append(
            Artifact("docker", f"Verified domain {domain.name}", "text", "\n".join(_domain_steps(domain, docker.org)))
        )
    if docker.settings is not None:
        artifacts.append(
            Artifact(
                "docker",
                "Organization settings",
                "json",
                json.dumps(docker.settings.model_dump(mode="json", by_alias=True, exclude_none=True), indent=2),
            )
        )
    return artifacts


def _intune_artifacts(intune: IntuneSpec, docker: DockerOrgSpec) -> list[Artifact]:
    artifacts: list[Artifact] = []
    windows = intune.windows
    if windows is not None and windows.msi is not None:
        msi = windows.msi
        file_name = msi.file.replace("\\", "/").rsplit("/", 1)[-1]
        install = installers.msiexec_install(
            file_name, msi_options(msi, docker), display=msi.display, restart=msi.restart, log_path=msi.log_path
        )
        uninstall = installers.msiexec_uninstall(file_name, display=msi.display, log_path=msi.log_path)
        codes = ", ".join(f"{code} {kind}" for code, kind in installers.MSI_RETURN_CODES)
        artifacts.append(
            Artifact(
                "intune",
                "Windows Win32 app (MSI) command lines",
                "powershell",
                f"# install\n{install}\n# uninstall\n{uninstall}\n# return codes: {codes}",
            )
        )
    if windows is not None and windows.store is not None:
        artifacts.append(
            Artifact(
                "intune",
                "Windows Microsoft Store app",
                "text",
                f"winGet package {windows.store.package_identifier}, runs as {windows.store.run_as}; "
                "Intune checks for updates about every 8 hours",
            )
        )
    if windows is not None and windows.assignments:
        artifacts.append(
            Artifact(
                "intune",
                "Windows assignments",
                "text",
                "\n".join(f"{a.intent}: {'exclude ' if a.exclude else ''}{a.target}" for a in windows.assignments),
            )
        )
    if intune.macos is not None:
        pkg = intune.macos.pkg
        artifacts.append(
            Artifact(
                "intune",
                "macOS PKG app",
                "shell",
                f"# equivalent command\n{installers.pkg_install_command(pkg.file, sudo=True)}\n"
                f"# bundle {pkg.bundle_id} {pkg.version}, minimum macOS {pkg.minimum_os}",
            )
        )
    return artifacts


def _jamf_artifacts(jamf: JamfSpec, docker: DockerOrgSpec) -> list[Artifact]:
    lines = [
        f"package: {jamf.package.name} ({jamf.package.file}), priority {jamf.package.priority}",
        f"smart group: {jamf.smart_group.name}",
        f"policy: {jamf.policy.name}, {jamf.policy.frequency}, trigger {jamf.policy.trigger}"
        + (", in Self Service" if jamf.policy.self_service else ""),
        f"equivalent command: {installers.pkg_install_command(jamf.package.file, sudo=True)}",
    ]
    if jamf.configuration_profile is not None:
        profile = jamf.configuration_profile
        lines.append(
            f"configuration profile: {profile.name} ({profile.level}, {profile.distribution_method}), "
            f"com.docker.config allowedOrgs = {installers.allowed_orgs_profile_string(docker.sign_in_orgs)}"
        )
    return [Artifact("jamf", "Jamf Pro deployment", "text", "\n".join(lines))]


def _devbox_artifacts(devbox: DevBoxSpec) -> list[Artifact]:
    image = devbox.image
    lines = [
        f"marketplace image {image.publisher}:{image.offer}:{image.plan}"
        + (" (terms accepted as code)" if image.accept_terms else " (terms must already be accepted)")
    ]
    for center in devbox.dev_centers:
        definitions = {d.name: d for d in center.definitions}
        for project in center.projects:
            limit = "" if project.max_dev_boxes_per_user is None else f", max {project.max_dev_boxes_per_user} per user"
            lines.append(f"{center.name}/{project.name}{limit}")
            for pool in project.pools:
                definition = definitions[pool.definition]
                schedule = (
                    f"auto-stop {pool.schedule.time} {pool.schedule.time_zone}"
                    + ("" if pool.schedule.enabled else " (disabled)")
                    if pool.schedule
                    else "no auto-stop"
                )
                disconnect = (
                    f", stop {pool.stop_on_disconnect_minutes} min after disconnect"
                    if pool.stop_on_disconnect_minutes
                    else ""
                )
                lines.append(
                    f"  pool {pool.name}: {definition.sku} ({definition.os_storage_type}"
                    f"{', hibernate' if definition.hibernate else ''}) on {pool.network}; {schedule}{disconnect}"
                )
            for role in project.roles:
                lines.append(f"  role {role.role} -> group {role.group}")
    return [Artifact("devbox", "Dev Box pools and schedules", "text", "\n".join(lines))]
