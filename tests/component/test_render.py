"""`rollout render` runs the real program under mocks with the committed stack files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from components.cli.main import main
from tests.stacks import REPO_ROOT, base_areas, edit, write_stack

ROLLOUT = "docker-desktop-rollout:index:EnterpriseRollout"
DOCKER = "docker-desktop-rollout:docker:Organization::rollout-docker"


def render_json(stack: str, capsys: pytest.CaptureFixture[str], *extra: str) -> dict:
    assert main(["render", "--stack", stack, "--project-dir", str(REPO_ROOT), "--format", "json", *extra]) == 0
    return json.loads(capsys.readouterr().out)


def tree(review: dict) -> set[tuple[str, str, str | None]]:
    return {(r["type"], r["name"], r["parent"]) for r in review["resources"]}


def test_sandbox_tree(capsys: pytest.CaptureFixture[str]) -> None:
    review = render_json("sandbox", capsys)
    root = f"{ROLLOUT}::rollout"
    assert {
        (ROLLOUT, "rollout", None),
        ("docker-desktop-rollout:docker:Organization", "rollout-docker", root),
        ("docker-desktop-rollout:intune:Deployment", "rollout-intune", root),
        (
            "docker-desktop-rollout:intune:WindowsApp",
            "rollout-intune-windows",
            "docker-desktop-rollout:intune:Deployment::rollout-intune",
        ),
        ("pulumi-python:dynamic/dockerhub:OrgAccessToken", "rollout-docker-token-ci-pull", DOCKER),
        ("pulumi-python:dynamic/dockerhub:OrgAccessToken", "rollout-docker-token-audit-reader", DOCKER),
        ("docker-desktop-rollout:docker:VerifiedDomain", "rollout-docker-domain-sandbox.example.com", DOCKER),
        (
            "pulumi-python:dynamic/dockerhub:DomainVerification",
            "rollout-docker-domain-sandbox.example.com-check",
            "docker-desktop-rollout:docker:VerifiedDomain::rollout-docker-domain-sandbox.example.com",
        ),
        ("pulumi-python:dynamic/dockerhub:OrgSettings", "rollout-docker-settings", DOCKER),
    } <= tree(review)
    types = {r["type"] for r in review["resources"]}
    assert "docker-desktop-rollout:jamf:Deployment" not in types  # sandbox declares no Jamf
    assert "docker-desktop-rollout:devbox:Environment" not in types
    assert not {t for t in types if t.startswith("azure-native:")}, "the sandbox has no Azure stand-in"


def test_prod_tree_has_every_area(capsys: pytest.CaptureFixture[str]) -> None:
    review = render_json("prod", capsys)
    root = f"{ROLLOUT}::rollout"
    assert {
        ("docker-desktop-rollout:docker:Organization", "rollout-docker", root),
        ("docker-desktop-rollout:intune:Deployment", "rollout-intune", root),
        ("docker-desktop-rollout:jamf:Deployment", "rollout-jamf", root),
        ("docker-desktop-rollout:devbox:Environment", "rollout-devbox", root),
        ("pulumi-python:dynamic/dockerhub:OrgAccessToken", "rollout-docker-token-siem-audit", DOCKER),
        ("azure-native:keyvault:Secret", "rollout-docker-token-siem-audit-vault", DOCKER),
        ("docker-desktop-rollout:docker:VerifiedDomain", "rollout-docker-domain-acme.com", DOCKER),
        (
            "azure-native:dns:RecordSet",
            "rollout-docker-domain-acme.com-txt",
            "docker-desktop-rollout:docker:VerifiedDomain::rollout-docker-domain-acme.com",
        ),
        ("pulumi-python:dynamic/dockerhub:OrgSettings", "rollout-docker-settings", DOCKER),
    } <= tree(review)
    assert "docker-desktop-rollout:intune:MacApp" not in {r["type"] for r in review["resources"]}


def test_sandbox_markdown_shows_the_artifacts(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["render", "--stack", "sandbox", "--project-dir", str(REPO_ROOT)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# Rollout review: stack `sandbox`\n")
    assert (
        'msiexec /i "DockerDesktop.msi" /L*V "C:\\Windows\\Temp\\docker-desktop-msi.log" /qn /norestart '
        'ADMINSETTINGS="{""configurationFileVersion"":2,'
    ) in out
    assert 'ALLOWEDORG="acme-sandbox" ALWAYSRUNSERVICE=1 ENGINE="wsl" DISABLEANALYTICS=1' in out
    assert '"enhancedContainerIsolation": {\n    "value": true,\n    "locked": true\n  }' in out
    assert "ci-pull: TYPE_REPO acme-sandbox/base: scope-image-pull" in out
    assert "expires 90 days after creation" in out
    assert "Admin Console > Domain management > Verify" in out


def test_prod_lists_pools_and_schedules(capsys: pytest.CaptureFixture[str]) -> None:
    review = render_json("prod", capsys)
    devbox = next(a for a in review["artifacts"] if a["area"] == "devbox")
    assert "pool docker-standard: general_i_8c32gb256ssd_v2 (ssd_256gb, hibernate) on managed-weu;" in devbox["content"]
    assert "auto-stop 19:00 Europe/Berlin" in devbox["content"]


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_no_secret_ciphertext_or_value_is_printed(stack: str, capsys: pytest.CaptureFixture[str]) -> None:
    document = yaml.safe_load((REPO_ROOT / "stacks" / f"Pulumi.{stack}.yaml").read_text())
    secure = [v["secure"] for v in document["config"].values() if isinstance(v, dict) and "secure" in v]
    assert secure, "the example stacks carry secrets"
    assert main(["render", "--stack", stack, "--project-dir", str(REPO_ROOT)]) == 0
    out = capsys.readouterr().out
    for ciphertext in secure:
        assert ciphertext not in out


def test_invalid_stack_renders_nothing_and_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_stack(tmp_path, "bad", edit(base_areas(), "intune.windows.msi.engine", "podman"))
    code = main(["render", "--stack", "bad", "--project-dir", str(REPO_ROOT), "--stacks-dir", str(tmp_path)])
    captured = capsys.readouterr()
    assert code == 1
    assert captured.out == ""
    assert captured.err == (
        "stack bad: 1 configuration error(s)\n"
        "  intune.windows.msi.engine: must be one of wsl, hyperv, windows (got 'podman')\n"
    )


def test_missing_stack_names_the_known_stacks(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--stack", "staging", "--project-dir", str(REPO_ROOT)]) == 1
    err = capsys.readouterr().err
    assert "no stack file" in err and "Pulumi.staging.yaml" in err and "dev, prod, sandbox" in err


def test_the_render_command_leaves_stderr_empty() -> None:
    """The SDK leaves event loops behind; collected during interpreter shutdown they printed an
    ignored traceback on stderr in about one run in five. Several whole processes, stderr empty."""
    import subprocess
    import sys

    for _ in range(5):
        result = subprocess.run(
            [sys.executable, "-m", "components.cli.main", "render", "--stack", "prod"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        assert result.stdout.startswith("# Rollout review: stack `prod`")
        assert result.stderr == ""
