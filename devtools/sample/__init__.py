"""Deterministic synthetic city: the four core extracts with planted cases and their ground truth.

    from devtools.sample import generate_city
    generate_city(Path("extracts/2026-11-01"), people=20_000, seed=7, as_of=date(2026, 11, 1))
"""
from .city import generate_city

__all__ = ["generate_city"]
