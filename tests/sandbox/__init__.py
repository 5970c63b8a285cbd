"""Tests of the sandbox framework, the stand-ins and `rollout sandbox serve`."""
