"""Length units: every accepted spelling, its canonical symbol, and the factor to meters.

Factors are exact definitions (1 in = 0.0254 m, 1 ft = 0.3048 m, as the paper's judge was told).

>>> to_meters(5, "ft") + to_meters(3, "in")
1.6002
>>> canonical_unit("Metres")
'm'
"""

from __future__ import annotations

import re

UNIT_TO_METERS: dict[str, float] = {
    "km": 1000.0,
    "m": 1.0,
    "dm": 0.1,
    "cm": 0.01,
    "mm": 0.001,
    "mi": 1609.344,
    "yd": 0.9144,
    "ft": 0.3048,
    "in": 0.0254,
}

# Compound answers ("1 m 20 cm", "5 feet 3 inches") only join units of one system.
UNIT_SYSTEM: dict[str, str] = {
    "km": "metric", "m": "metric", "dm": "metric", "cm": "metric", "mm": "metric",
    "mi": "imperial", "yd": "imperial", "ft": "imperial", "in": "imperial",
}  # fmt: skip

_SPELLINGS: dict[str, tuple[str, ...]] = {
    "km": ("kilometers", "kilometer", "kilometres", "kilometre", "kms", "km"),
    "m": ("meters", "meter", "metres", "metre", "mtrs", "mtr", "m"),
    "dm": ("decimeters", "decimeter", "decimetres", "decimetre", "dm"),
    "cm": ("centimeters", "centimeter", "centimetres", "centimetre", "cms", "cm"),
    "mm": ("millimeters", "millimeter", "millimetres", "millimetre", "mm"),
    "mi": ("miles", "mile", "mi"),
    "yd": ("yards", "yard", "yds", "yd"),
    "ft": ("feet", "foot", "ft", "'"),
    "in": ("inches", "inch", "in", '"'),
}

SPELLING_TO_UNIT: dict[str, str] = {spelling: unit for unit, names in _SPELLINGS.items() for spelling in names}


def canonical_unit(name: str) -> str:
    """Canonical symbol for any accepted spelling (case-insensitive); ValueError for an unknown unit."""
    unit = SPELLING_TO_UNIT.get(name.strip().lower())
    if unit is None:
        raise ValueError(f"unknown length unit {name!r}; expected one of {sorted(SPELLING_TO_UNIT)}")
    return unit


def to_meters(value: float, unit: str) -> float:
    """`value` expressed in `unit` (any accepted spelling) converted to meters."""
    return value * UNIT_TO_METERS[canonical_unit(unit)]


def unit_pattern() -> str:
    """Regex alternation of every spelling, longest first so "meters" wins over "m"."""
    names = sorted(SPELLING_TO_UNIT, key=len, reverse=True)
    # "in" is a unit only where it cannot be the preposition ("3 in the room", "2 m in height").
    parts = []
    for name in names:
        if name == "in":
            parts.append(
                r"in(?!\s+(?:the|a|an|front|total|height|width|length|depth|diameter|size|each|all|this|that|its|their|my|your|our)\b)"
            )
        else:
            parts.append(re.escape(name))
    return "|".join(parts)


__all__ = ["SPELLING_TO_UNIT", "UNIT_SYSTEM", "UNIT_TO_METERS", "canonical_unit", "to_meters", "unit_pattern"]
