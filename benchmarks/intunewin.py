"""Benchmark `.intunewin` packing against the openssl CLI doing the bare encryption, in the same run.

    .venv/bin/python -m benchmarks.intunewin [--size-mib 512] [--runs 3]

Ours: `build_package` on an incompressible installer (zip the folder, AES-256-CBC, HMAC-SHA256,
SHA-256 of the plaintext, CRC-32s, the outer zip and Detection.xml), run in a child process so
its peak RSS can be read from `wait4`. Reference: `openssl enc -aes-256-cbc` of the same file,
then `openssl dgst -sha256 -mac HMAC` over the ciphertext. Targets: ratio <= 1.2, RSS < 100 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SETUP_NAME = "Docker Desktop Installer.exe"
_WRITE_CHUNK = 8 << 20


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mib", type=int, default=512, help="installer size (default 512)")
    parser.add_argument("--runs", type=int, default=3, help="repetitions of each pipeline (default 3)")
    parser.add_argument("--child-pack", nargs=2, metavar=("SETUP", "OUT_DIR"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child_pack:
        return _child_pack(Path(args.child_pack[0]), Path(args.child_pack[1]))

    with tempfile.TemporaryDirectory(prefix="intunewin-bench-") as work_dir:
        work = Path(work_dir)
        setup = work / "setup" / SETUP_NAME
        setup.parent.mkdir()
        _write_random(setup, args.size_mib << 20)
        ours: list[float] = []
        ours_wall: list[float] = []
        reference: list[float] = []
        peak_rss = 0
        for run in range(args.runs):
            # Alternate the order so that neither pipeline always meets a page cache the other left dirty.
            steps = ["ours", "openssl"] if run % 2 == 0 else ["openssl", "ours"]
            for step in steps:
                if step == "ours":
                    seconds, wall, rss = _run_ours(setup, work / "out")
                    ours.append(seconds)
                    ours_wall.append(wall)
                    peak_rss = max(peak_rss, rss)
                else:
                    reference.append(_run_openssl(setup, work / "openssl.bin"))
        ours_median, reference_median = statistics.median(ours), statistics.median(reference)
        print(f"installer: {args.size_mib} MiB of random bytes, {args.runs} runs each")
        print(
            f"ours    build_package: median {ours_median:.2f} s "
            f"({args.size_mib / ours_median:.0f} MiB/s; child process wall time {statistics.median(ours_wall):.2f} s)"
            f"  runs {', '.join(f'{s:.2f}' for s in ours)}"
        )
        print(
            f"openssl enc + dgst:    median {reference_median:.2f} s "
            f"({args.size_mib / reference_median:.0f} MiB/s)  runs {', '.join(f'{s:.2f}' for s in reference)}"
        )
        print(f"ratio ours/openssl: {ours_median / reference_median:.2f}  (target <= 1.2)")
        print(f"peak RSS of the packing process: {peak_rss / 2**20:.1f} MiB  (target < 100 MB)")
    return 0


def _write_random(path: Path, size: int) -> None:
    with path.open("wb") as file:
        for offset in range(0, size, _WRITE_CHUNK):
            file.write(os.urandom(min(_WRITE_CHUNK, size - offset)))


def _run_ours(setup: Path, out_dir: Path) -> tuple[float, float, int]:
    """Pack in a child process; return (seconds inside build_package, child wall seconds, peak RSS bytes)."""
    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.intunewin", "--child-pack", str(setup), str(out_dir)],
        stdout=subprocess.PIPE,
    )
    assert child.stdout is not None
    output = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    if child.returncode != 0:
        raise RuntimeError(f"packing child failed with exit code {child.returncode}")
    for package in out_dir.iterdir():
        package.unlink()
    return json.loads(output)["seconds"], wall, usage.ru_maxrss * 1024  # Linux reports KiB


def _child_pack(setup: Path, out_dir: Path) -> int:
    from components.intunewin import build_package

    started = time.perf_counter()
    build_package(setup, out_dir)
    print(json.dumps({"seconds": time.perf_counter() - started}))
    return 0


def _run_openssl(source: Path, target: Path) -> float:
    key, iv, mac_key = secrets.token_hex(32), secrets.token_hex(16), secrets.token_hex(32)
    started = time.perf_counter()
    subprocess.run(
        ["openssl", "enc", "-aes-256-cbc", "-K", key, "-iv", iv, "-in", str(source), "-out", str(target)],
        check=True,
    )
    subprocess.run(
        ["openssl", "dgst", "-sha256", "-mac", "HMAC", "-macopt", f"hexkey:{mac_key}", str(target)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    elapsed = time.perf_counter() - started
    target.unlink()
    return elapsed


if __name__ == "__main__":
    sys.exit(main())
