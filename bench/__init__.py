"""Benchmarks (scripts, not tests): see docs/benchmarks.md."""

from __future__ import annotations
