"""`rollout validate` and `rollout render`: the offline review of a stack."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from components.spec import RolloutSpec, SpecError
from components.stack_config import StackConfig, StackFileError, load_stack


def register(subparsers: Any) -> None:
    validate = subparsers.add_parser("validate", help="validate a stack's configuration (no Pulumi, no network)")
    _stack_arguments(validate)
    validate.set_defaults(func=validate_command)

    render = subparsers.add_parser(
        "render", help="run the program under the mock runtime and print the review (no credentials, no CLI)"
    )
    _stack_arguments(render)
    render.add_argument("--format", choices=("md", "json"), default="md", help="output format (default md)")
    render.set_defaults(func=render_command)


def _stack_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--stack", "-s", required=True, help="stack name: reads stacks/Pulumi.<stack>.yaml")
    parser.add_argument("--project-dir", type=Path, default=Path.cwd(), help="directory holding Pulumi.yaml")
    parser.add_argument("--stacks-dir", type=Path, default=None, help="default: <project-dir>/stacks")


def _load(args: argparse.Namespace) -> tuple[StackConfig, RolloutSpec] | None:
    """The stack and its spec, or None after printing why not (to stderr)."""
    stacks_dir = args.stacks_dir or args.project_dir / "stacks"
    try:
        stack = load_stack(args.stack, stacks_dir)
        spec = RolloutSpec.from_config(stack.areas, credentials=stack.credentials, offline=True)
    except StackFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return None
    except SpecError as exc:
        print(f"stack {args.stack}: {len(exc.problems)} configuration error(s)", file=sys.stderr)
        for path, message in exc.problems:
            print(f"  {path}: {message}", file=sys.stderr)
        return None
    return stack, spec


def validate_command(args: argparse.Namespace) -> int:
    loaded = _load(args)
    if loaded is None:
        return 1
    _stack, spec = loaded
    areas = [area for area in ("docker", "intune", "jamf", "devbox") if getattr(spec, area) is not None]
    print(f"stack {args.stack}: valid ({', '.join(areas) or 'no areas declared'})")
    return 0


def render_command(args: argparse.Namespace) -> int:
    loaded = _load(args)
    if loaded is None:
        return 1
    stack, spec = loaded
    from components.render import render  # pulumi import only when rendering

    review = render(stack, spec, args.project_dir)
    sys.stdout.write(review.to_json() + "\n" if args.format == "json" else review.to_markdown())
    return 0
