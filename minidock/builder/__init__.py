"""Dockerfile parsing and expansion, build context, cache and the builder."""
