"""MSMU-Bench item types: the eight names the metric scores, and the other naming of the authors' scripts.

The authors' `evaluation/evaluate_final.py` exists in two versions: one calls the position type
`position` and the existence type `zero`, the other `grounding` and `existence`. Both are accepted;
items are reported under the first naming.

>>> canonical_category("grounding"), canonical_category("existence"), canonical_category("count")
('position', 'zero', 'count')
"""

from __future__ import annotations

QUANTITATIVE_CATEGORIES = ("scale_estimation", "absolute_distance", "count", "position", "refer_obj_estimation")
QUALITATIVE_CATEGORIES = ("relative_position", "scale_compare", "zero")
MSMU_CATEGORIES = QUANTITATIVE_CATEGORIES + QUALITATIVE_CATEGORIES
CATEGORY_ALIASES = {"grounding": "position", "existence": "zero"}


def canonical_category(category: str | None) -> str | None:
    """The metric's name for an item type: aliases mapped, anything else returned as given."""
    return CATEGORY_ALIASES.get(category, category) if category else category


__all__ = ["CATEGORY_ALIASES", "MSMU_CATEGORIES", "QUALITATIVE_CATEGORIES", "QUANTITATIVE_CATEGORIES", "canonical_category"]
