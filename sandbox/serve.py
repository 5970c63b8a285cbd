"""Run every stand-in at once, seeded with a demo organization, for `rollout sandbox serve`.

Ports are fixed offsets from a base so `stacks/Pulumi.sandbox.yaml` can name them: with the default
base 8701 the Docker Hub stand-in listens on 8701, the DNS stand-in on 8753 (UDP) and Azurite blob on
10000 (its usual port). Base 0 gives every service a free ephemeral port instead.

Azurite is Microsoft's storage emulator (npm `azurite@3`), run as a child process when
`azurite-blob` is on PATH or in `node_modules/.bin` (of the working directory or the project).
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import TextIO

from sandbox.dns import DnsSandbox
from sandbox.dockerhub import DockerHubSandbox

DEFAULT_BASE_PORT = 8701
DNS_PORT_OFFSET = 52  # 8753
AZURITE_PORT_OFFSET = 1299  # 10000

# The demo matches stacks/Pulumi.sandbox.yaml: its org, plan, domain and TXT verification value.
DEMO_ORG = "acme-sandbox"
DEMO_OWNER = "sandbox-admin"
DEMO_PAT = "dckr_pat_sandbox"
DEMO_DOMAIN = "sandbox.example.com"
DEMO_TXT = "docker-verification=0c2f3e1a-sandbox"

# Azurite's fixed development account; the key is public and documented by Microsoft.
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
AZURITE_START_TIMEOUT = 30.0


@dataclass(frozen=True)
class Endpoint:
    name: str
    url: str
    credentials: str


def demo_hub(host: str, port: int) -> DockerHubSandbox:
    """Docker Hub with `acme-sandbox` (business plan), its owner, three members, an invite and the
    audit event of the demo domain's verification."""
    hub = DockerHubSandbox({DEMO_OWNER: DEMO_PAT}, host=host, port=port)
    hub.add_org(DEMO_ORG, owners=[DEMO_OWNER], plan="business")
    hub.add_member(DEMO_ORG, "dev-alice", email=f"alice@{DEMO_DOMAIN}", full_name="Alice Developer")
    hub.add_member(DEMO_ORG, "dev-bob", email=f"bob@{DEMO_DOMAIN}", full_name="Bob Developer")
    hub.add_member(DEMO_ORG, "contractor-carol", email="carol@contractor.example", full_name="Carol Contractor")
    hub.set_verified_domains(DEMO_ORG, [DEMO_DOMAIN])
    hub.add_invite(DEMO_ORG, f"new-hire@{DEMO_DOMAIN}", inviter=DEMO_OWNER)
    # What the Admin Console's Verify leaves in the audit log; the stack's DomainVerification reports it.
    hub.record_event(
        DEMO_ORG,
        "org.domain.verify",
        actor=DEMO_OWNER,
        data={"domain": DEMO_DOMAIN},
        description=f"Single Sign-On domain verified: {DEMO_DOMAIN}",
    )
    return hub


def find_azurite(project_root: Path | None = None) -> Path | None:
    on_path = shutil.which("azurite-blob")
    if on_path:
        return Path(on_path)
    root = project_root or Path(__file__).resolve().parent.parent
    for directory in (Path.cwd(), root):
        candidate = directory / "node_modules" / ".bin" / "azurite-blob"
        if candidate.is_file():
            return candidate
    return None


def _free_port(host: str) -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def _azurite(executable: Path, host: str, port: int) -> Iterator[None]:
    process = subprocess.Popen(
        [
            str(executable),
            *("--blobHost", host, "--blobPort", str(port)),
            *("--inMemoryPersistence", "--disableTelemetry", "--skipApiVersionCheck", "--silent"),
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
    )
    try:
        _wait_until_listening(process, host, port)
        yield
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_listening(process: subprocess.Popen[bytes], host: str, port: int) -> None:
    """Return once `port` accepts connections; fail if the process exits or takes too long."""
    attempts = int(AZURITE_START_TIMEOUT / 0.1)
    for _ in range(attempts):
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
            return
        try:
            code = process.wait(timeout=0.1)  # the pause between attempts, ended early by an exit
        except subprocess.TimeoutExpired:
            continue
        raise RuntimeError(f"azurite-blob exited with status {code} before listening on {port}")
    raise RuntimeError(f"azurite-blob did not listen on {host}:{port} within {AZURITE_START_TIMEOUT:.0f} s")


@contextlib.contextmanager
def running_sandboxes(host: str, base_port: int, *, azurite: bool = True) -> Iterator[list[Endpoint]]:
    """Start every stand-in; yields their endpoints and stops them all on exit."""
    ephemeral = base_port == 0
    with contextlib.ExitStack() as stack:
        hub = stack.enter_context(demo_hub(host, base_port))
        dns = stack.enter_context(
            DnsSandbox({DEMO_DOMAIN: [DEMO_TXT]}, host=host, port=0 if ephemeral else base_port + DNS_PORT_OFFSET)
        )
        endpoints = [
            Endpoint("docker-hub", hub.url, f"org {DEMO_ORG} (business), owner {DEMO_OWNER}, PAT {DEMO_PAT}"),
            Endpoint("dns", dns.address, f'TXT {DEMO_DOMAIN} "{DEMO_TXT}"'),
        ]
        executable = find_azurite() if azurite else None
        if executable is not None:
            port = _free_port(host) if ephemeral else base_port + AZURITE_PORT_OFFSET
            stack.enter_context(_azurite(executable, host, port))
            endpoints.append(
                Endpoint(
                    "azurite-blob",
                    f"http://{host}:{port}/{AZURITE_ACCOUNT}",
                    f"account {AZURITE_ACCOUNT}, key {AZURITE_KEY} (Azurite's public development key)",
                )
            )
        else:
            reason = "disabled" if not azurite else "azurite-blob not found on PATH or in node_modules/.bin"
            endpoints.append(Endpoint("azurite-blob", "-", f"not started: {reason}"))
        yield endpoints


@contextlib.contextmanager
def _stop_on_signals(stop: threading.Event) -> Iterator[None]:
    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def run(host: str, base_port: int, *, azurite: bool = True, out: TextIO = sys.stdout) -> int:
    """Serve until SIGINT or SIGTERM (call from the main thread); returns the exit code."""
    stop = threading.Event()
    try:
        with _stop_on_signals(stop), running_sandboxes(host, base_port, azurite=azurite) as endpoints:
            _print_endpoints(endpoints, out)
            stop.wait()
    except (OSError, RuntimeError) as exc:  # a port in use, Azurite failing to start
        print(f"rollout sandbox: cannot serve: {exc}", file=sys.stderr)
        return 1
    print("rollout sandbox: stopped", file=out)
    out.flush()
    return 0


def _print_endpoints(endpoints: list[Endpoint], out: TextIO) -> None:
    width = max(len(endpoint.name) for endpoint in endpoints)
    print("rollout sandbox: stand-ins running, Ctrl-C to stop", file=out)
    print("endpoints:", file=out)
    for endpoint in endpoints:
        print(f"  {endpoint.name:<{width}}  {endpoint.url}", file=out)
    print("credentials:", file=out)
    for endpoint in endpoints:
        print(f"  {endpoint.name:<{width}}  {endpoint.credentials}", file=out)
    print("environment for `pulumi up -s sandbox`:", file=out)
    print(f"  export DOCKER_HUB_USERNAME={DEMO_OWNER}", file=out)
    print(f"  export DOCKER_HUB_TOKEN={DEMO_PAT}", file=out)
    out.flush()
