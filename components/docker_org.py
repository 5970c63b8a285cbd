"""The Docker organization: access tokens (values into Key Vault), verified domains, org settings.

```text
Organization <name>
├── OrgAccessToken  <name>-token-<label>            one per access token
├── keyvault.Secret <name>-token-<label>-vault      its value, when keyVaultSecret is set
├── VerifiedDomain  <name>-domain-<domain>          one per domain
│   ├── dns.RecordSet       <...>-txt               the TXT record, when dnsZone is set
│   └── DomainVerification  <...>-check             DNS (and audit-log) check, after the record
└── OrgSettings     <name>-settings                 when settings is set
```

Token values reach consumers through Key Vault only: the vault secret's value is a secret Output
wired to the token, so a rotation (the token is replaced) updates the vault secret in the same run,
and nothing registered here as an output carries a token value.

The TXT record set is Azure's whole set at that name. Creating one where a set already exists fails
(azure-native checks before it creates), so an existing apex set holding SPF or other vendors'
values is never overwritten; once imported, the stack owns every value in it, so the spec's
`keepTxtValues` lists the values to keep beside Docker's. The record set is
kept on delete (`retain_on_delete`): a stale `docker-verification=` value is harmless, while deleting
a shared apex TXT set would take SPF with it.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC

import pulumi
import pulumi_azure_native.dns as dns
import pulumi_azure_native.keyvault as keyvault

from components.clients.dockerhub import parse_timestamp
from components.providers.domain_verification import DomainVerification, DomainVerificationArgs, txt_fqdn
from components.providers.org_access_token import OrgAccessToken, OrgAccessTokenArgs
from components.providers.org_settings import OrgSettings, OrgSettingsArgs
from components.spec import AccessTokenSpec, AzureSpec, DockerOrgSpec, DomainSpec, EndpointsSpec, KeyVaultRef

TYPE_TOKEN = "docker-desktop-rollout:docker:Organization"
DOMAIN_TYPE_TOKEN = "docker-desktop-rollout:docker:VerifiedDomain"
TXT_TTL_SECONDS = 3600
MANAGED_BY = "docker-desktop-rollout"


@dataclass(frozen=True)
class DockerOrganizationArgs:
    org: DockerOrgSpec
    azure: AzureSpec | None
    endpoints: EndpointsSpec


def label_slug(label: str) -> str:
    """A resource-name part for a token label: the label itself when it is already a lowercase slug,
    else a slug plus a short hash of the label, so that two labels never share a resource name.

    Stable per label: renaming a resource would replace (rotate) its token.
    """
    slug = re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")
    if slug == label:
        return slug
    return f"{slug or 'token'}-{hashlib.sha256(label.encode()).hexdigest()[:6]}"


def zone_relative_name(fqdn: str, zone: str) -> str:
    """The record set name inside `zone` for `fqdn` (`@` for the zone apex)."""
    return "@" if fqdn == zone else fqdn.removesuffix("." + zone)


def epoch_seconds(timestamp: str | None) -> int | None:
    """An RFC 3339 timestamp as unix seconds (Key Vault's `exp`); a zone-less one is UTC."""
    moment = parse_timestamp(timestamp)
    return None if moment is None else int(moment.timestamp())


def _token_args(org: str, token: AccessTokenSpec) -> OrgAccessTokenArgs:
    expires_at = None
    if token.expires_at is not None:
        aware = token.expires_at if token.expires_at.tzinfo else token.expires_at.replace(tzinfo=UTC)
        expires_at = aware.isoformat()
    return OrgAccessTokenArgs(
        org=org,
        label=token.label,
        description=token.description,
        resources=[resource.model_dump(mode="json") for resource in token.resources],
        expires_at=expires_at,
        expires_in_days=token.expires_in_days,
        rotate_before_days=token.rotate_before_days,
    )


@dataclass(frozen=True)
class VerifiedDomainArgs:
    domain: DomainSpec
    org: str
    endpoints: EndpointsSpec


class VerifiedDomain(pulumi.ComponentResource):
    """One domain: its TXT record in Azure DNS (when the zone is given) and the verification check."""

    record_set: dns.RecordSet | None
    verification: DomainVerification
    status: pulumi.Output[str]
    """`verified`, `mismatch` or `pending` (see `components.providers.domain_verification`)."""

    def __init__(self, name: str, args: VerifiedDomainArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(DOMAIN_TYPE_TOKEN, name, None, opts)
        domain = args.domain
        self.record_set = None
        if domain.dns_zone is not None:
            zone = domain.dns_zone
            self.record_set = dns.RecordSet(
                f"{name}-txt",
                resource_group_name=zone.resource_group,
                zone_name=zone.zone_name,
                relative_record_set_name=zone_relative_name(txt_fqdn(domain.name, domain.record_name), zone.zone_name),
                record_type="TXT",
                ttl=TXT_TTL_SECONDS,
                txt_records=[
                    dns.TxtRecordArgs(value=[value]) for value in (domain.verification_value, *domain.keep_txt_values)
                ],
                metadata={"managed_by": MANAGED_BY, "purpose": "docker_domain_verification"},
                opts=pulumi.ResourceOptions(parent=self, retain_on_delete=True),
            )
        self.verification = DomainVerification(
            f"{name}-check",
            DomainVerificationArgs(
                domain=domain.name,
                expected_value=domain.verification_value,
                record_name=domain.record_name,
                nameservers=list(args.endpoints.dns_nameservers),
                port=args.endpoints.dns_port,
                org=args.org,
            ),
            pulumi.ResourceOptions(parent=self, depends_on=[self.record_set] if self.record_set else None),
        )
        self.status = self.verification.status
        self.register_outputs(
            {
                "status": self.verification.status,
                "verify_event_at": self.verification.verify_event_at,
                "record_set_id": self.record_set.id if self.record_set else None,
            }
        )


class DockerOrganization(pulumi.ComponentResource):
    """Everything the spec declares about the Docker organization (see the module docstring)."""

    tokens: dict[str, OrgAccessToken]
    """By token label."""
    vault_secrets: dict[str, keyvault.Secret]
    """By token label, for the tokens with a `keyVaultSecret`."""
    domains: dict[str, VerifiedDomain]
    """By domain name."""
    settings: OrgSettings | None

    def __init__(self, name: str, args: DockerOrganizationArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE_TOKEN, name, None, opts)
        org = args.org
        child = pulumi.ResourceOptions(parent=self)
        self.tokens = {}
        self.vault_secrets = {}
        vault = args.azure.key_vault if args.azure else None
        for token in org.access_tokens:
            resource_name = f"{name}-token-{label_slug(token.label)}"
            created = self.tokens[token.label] = OrgAccessToken(resource_name, _token_args(org.org, token), child)
            # The spec guarantees a vault whenever a token names a vault secret.
            if token.key_vault_secret is not None and vault is not None:
                self.vault_secrets[token.label] = self._vault_secret(
                    f"{resource_name}-vault", org.org, token.label, token.key_vault_secret, created, vault
                )
        self.domains = {
            domain.name: VerifiedDomain(
                f"{name}-domain-{domain.name}",
                VerifiedDomainArgs(domain=domain, org=org.org, endpoints=args.endpoints),
                child,
            )
            for domain in org.domains
        }
        self.settings = None
        if org.settings is not None:
            spec = org.settings
            self.settings = OrgSettings(
                f"{name}-settings",
                OrgSettingsArgs(
                    org=org.org,
                    image_access=spec.image_access.model_dump(mode="json") if spec.image_access else None,
                    registry_access=spec.registry_access.model_dump(mode="json") if spec.registry_access else None,
                ),
                child,
            )
        self.register_outputs(
            {
                "tokens": {
                    label: {
                        "token_id": token.token_id,
                        "expires_at": token.expires_at,
                        "vault_secret_id": self.vault_secrets[label].id if label in self.vault_secrets else None,
                    }
                    for label, token in self.tokens.items()
                },
                "domains": {domain: verified.status for domain, verified in self.domains.items()},
            }
        )

    def _vault_secret(
        self, resource_name: str, org: str, label: str, secret_name: str, token: OrgAccessToken, vault: KeyVaultRef
    ) -> keyvault.Secret:
        """The token's value as a Key Vault secret, expiring with the token."""
        return keyvault.Secret(
            resource_name,
            resource_group_name=vault.resource_group,
            vault_name=vault.name,
            secret_name=secret_name,
            properties=keyvault.SecretPropertiesArgs(
                value=pulumi.Output.secret(token.token),
                content_type=f"Docker organization access token {label}; docker login --username {org}",
                attributes=keyvault.SecretAttributesArgs(enabled=True, expires=token.expires_at.apply(epoch_seconds)),
            ),
            tags={"managed-by": MANAGED_BY, "docker-org": org, "docker-token-label": label},
            opts=pulumi.ResourceOptions(parent=self),
        )
