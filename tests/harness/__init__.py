"""Test harness: the real `python -m pulumi.dynamic` plugin driven over gRPC (`plugin`), and a small
provider only the harness tests use (`sample_provider`)."""
