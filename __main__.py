"""Pulumi entry point: `pulumi preview` / `pulumi up` run this with the selected stack's config."""

from components.program import run

run()
