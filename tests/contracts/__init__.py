"""Vendor API contracts and the helpers that check HTTP exchanges against them."""
