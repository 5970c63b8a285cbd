"""Where the real Docker Hub differs from its published OpenAPI spec: the one list of deviations.

`openapi_check` skips response validation for these routes and statuses only. Every reason cites
`../shared/research/dockerhub.md` (section numbers) so a reviewer can check the claim. Routes absent
from the spec (RAM) skip request validation too: there is nothing to validate them against.
"""

from __future__ import annotations

from collections.abc import Mapping

_NULL_LINKS = (
    "§4 'Pagination conventions': `next` is null on the last page and `previous` on the first "
    "('follow next until null'), but the spec types both as non-nullable strings"
)

# (method, path template as spelled in the spec, or as the service spells it when absent) -> reason
ROUTE_EXCEPTIONS: Mapping[tuple[str, str], str] = {
    ("GET", "/v2/orgs/{name}/access-tokens"): _NULL_LINKS,
    ("GET", "/v2/orgs/{org_name}/members"): (
        "§4 'Members': the service returns one object {count, next, previous, results}; the spec "
        "wrongly wraps it in an array. Also " + _NULL_LINKS
    ),
    ("POST", "/v2/invites/bulk"): (
        "§4 'Invites': the 202 body is {invitees: [{invitee, status, invite?}]}, as the spec's own "
        "`bulk_invite` example shows; the operation's schema nests `bulk_invite` (already "
        "{invitees: [...]}) under a second `invitees` key"
    ),
    ("GET", "/v2/orgs/{org_name}/settings/registry-access-management"): (
        "§4 'Registry Access Management': not in the spec; observed in the Terraform provider "
        "(internal/hubclient/client_organization.go)"
    ),
    ("PUT", "/v2/orgs/{org_name}/settings/registry-access-management"): (
        "§4 'Registry Access Management': not in the spec; observed in the Terraform provider "
        "(internal/hubclient/client_organization.go)"
    ),
}

# Statuses any route may answer although most operations do not declare them.
STATUS_EXCEPTIONS: Mapping[int, str] = {
    429: "§1.5: every route is rate limited (429 with Retry-After or X-Retry-After); "
    "the spec declares 429 only on the audit-log routes",
    500: "§5.3: the service has outages that clients retry; the spec declares 5xx on few routes",
    502: "§5.3: the service has outages that clients retry; the spec declares 5xx on few routes",
    503: "§5.3: the service has outages that clients retry; the spec declares 5xx on few routes",
    504: "§5.3: the service has outages that clients retry; the spec declares 5xx on few routes",
}
