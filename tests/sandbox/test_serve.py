"""`rollout sandbox serve` in a subprocess: endpoints come up, answer, and stop on SIGTERM."""

from __future__ import annotations

import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import dns.resolver
import pytest
import requests

from sandbox.serve import DEMO_DOMAIN, DEMO_ORG, DEMO_OWNER, DEMO_PAT, DEMO_TXT, find_azurite, run

REPO_ROOT = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT = 60.0


def read_until(lines: queue.Queue[str | None], marker: str) -> list[str]:
    seen: list[str] = []
    while True:
        line = lines.get(timeout=STARTUP_TIMEOUT)
        if line is None:
            raise AssertionError(f"the server exited before printing {marker!r}: {seen}")
        seen.append(line)
        if marker in line:
            return seen


def test_serve_prints_working_endpoints_and_stops_on_sigterm(http: requests.Session) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "components.cli.main", "sandbox", "serve", "--base-port", "0"],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert process.stdout is not None
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line.rstrip("\n"))
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    try:
        output = "\n".join(read_until(lines, "DOCKER_HUB_TOKEN"))
        hub_url = re.search(r"docker-hub\s+(http://127\.0\.0\.1:\d+)", output)
        dns_port = re.search(r"dns\s+udp://127\.0\.0\.1:(\d+)", output)
        assert hub_url and dns_port, output
        assert f"export DOCKER_HUB_USERNAME={DEMO_OWNER}" in output and DEMO_PAT in output

        token = http.post(f"{hub_url[1]}/v2/auth/token", json={"identifier": DEMO_OWNER, "secret": DEMO_PAT})
        auth = {"Authorization": f"Bearer {token.json()['access_token']}"}
        members = http.get(f"{hub_url[1]}/v2/orgs/{DEMO_ORG}/members", headers=auth).json()
        assert DEMO_OWNER in {member["username"] for member in members["results"]}

        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers, resolver.port, resolver.lifetime = ["127.0.0.1"], int(dns_port[1]), 5.0
        assert [b"".join(r.strings).decode() for r in resolver.resolve(DEMO_DOMAIN, "TXT")] == [DEMO_TXT]

        azurite = re.search(r"azurite-blob\s+(http://127\.0\.0\.1:\d+)/devstoreaccount1", output)
        if find_azurite(REPO_ROOT) is None:
            assert azurite is None and "azurite-blob not found" in output
        else:
            assert azurite, output
            listing = http.get(f"{azurite[1]}/devstoreaccount1?comp=list")
            assert listing.headers.get("Server", "").startswith("Azurite")

        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
        assert "rollout sandbox: stopped" in read_until(lines, "stopped")[-1]
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_serve_fails_cleanly_when_a_port_is_taken(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        taken = blocker.getsockname()[1]
        assert run("127.0.0.1", taken, azurite=False) == 1
    assert "cannot serve" in capsys.readouterr().err
