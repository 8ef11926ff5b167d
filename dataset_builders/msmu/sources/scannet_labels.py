"""Clean category names for ScanNet's free-form annotation labels, and colour words for names.

ScanNet's raw labels are typed by annotators ("kitchen cabinets", "office chair", "trash can",
"tv"); the official ``scannetv2-labels.combined.tsv`` is not redistributable here, so a small rule
set does the same job for question text: lower-case, synonyms, plural -> singular, and a known head
noun wins ("kitchen cabinet" -> "cabinet"). Structure (wall, floor, ceiling) and placeholder labels
are skipped: MSMU asks about objects.

>>> clean_category("Kitchen_Cabinets"), clean_category("office chair"), clean_category("garbagebin")
('cabinet', 'chair', 'trash can')
>>> clean_category("wall") is None, clean_category("otherprop") is None
(True, True)
>>> color_name((250, 248, 240)), color_name((20, 20, 25)), color_name((120, 80, 40))
('white', 'black', 'brown')
"""

import colorsys

SKIPPED = frozenset({
    "wall", "floor", "ceiling", "unknown", "object", "objects", "otherprop", "otherstructure",
    "otherfurniture", "remove", "misc", "stuff", "",
})

# Synonyms and the benchmark's joined class names -> the words a question should use. Identity
# entries keep a specific kind from being reduced to its head noun ("coffee table" stays).
SYNONYMS = {
    "garbagebin": "trash can", "garbage bin": "trash can", "trash bin": "trash can",
    "trashcan": "trash can", "wastebasket": "trash can", "recycling bin": "trash can",
    "showercurtrain": "shower curtain", "showercurtain": "shower curtain",
    "tv": "television", "couch": "sofa", "fridge": "refrigerator", "mini fridge": "refrigerator",
    "night stand": "nightstand", "bookshelves": "bookshelf", "book shelf": "bookshelf",
    "computer monitor": "monitor", "office chair": "chair",
    "coffee table": "coffee table", "end table": "end table", "kitchen counter": "counter",
}

# A multi-word label whose last word is one of these is that category ("kitchen cabinet").
HEAD_NOUNS = frozenset({
    "cabinet", "chair", "table", "desk", "sofa", "bed", "door", "window", "shelf", "bookshelf",
    "curtain", "counter", "sink", "toilet", "bathtub", "lamp", "pillow", "box", "bag", "monitor",
    "stool", "bench", "dresser", "refrigerator", "microwave", "picture", "mirror", "backpack",
})

# The 18 classes of ScanNet's 3D detection benchmark (as cleaned names): the classes that exports
# with benchmark boxes (such as mmdetection3d's) annotate, so the only safe existence negatives there.
BENCHMARK_CATEGORIES = (
    "cabinet", "bed", "chair", "sofa", "table", "door", "window", "bookshelf", "picture", "counter",
    "desk", "curtain", "refrigerator", "shower curtain", "toilet", "sink", "bathtub", "trash can",
)

_IRREGULAR_PLURALS = {"shelves": "shelf", "boxes": "box", "benches": "bench", "couches": "couch",
                      "dressers": "dresser", "glasses": "glass", "blinds": "blinds"}


def _singular(word: str) -> str:
    if word in _IRREGULAR_PLURALS:
        return _IRREGULAR_PLURALS[word]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def clean_category(raw: str) -> str | None:
    """The category a question names for a ScanNet label, or None for structure / placeholders."""
    label = " ".join(str(raw).lower().replace("_", " ").split())
    if label in SKIPPED:
        return None
    if label in SYNONYMS:
        return SYNONYMS[label]
    words = [_singular(w) for w in label.split()]
    label = " ".join(words)
    if label in SKIPPED:
        return None
    if label in SYNONYMS:
        return SYNONYMS[label]
    if len(words) > 1 and words[-1] in HEAD_NOUNS:
        return words[-1]
    return label


def color_name(rgb) -> str:
    """A basic colour word for an sRGB triple in 0..255 (e.g. an object's mean vertex colour)."""
    r, g, b = (min(max(float(c), 0.0), 255.0) / 255.0 for c in rgb)
    hue, lightness, saturation = colorsys.rgb_to_hls(r, g, b)
    value = max(r, g, b)
    chroma = value - min(r, g, b)
    if chroma < 0.12 or (value < 0.25 and chroma < 0.2):
        return "white" if lightness > 0.72 else "gray" if lightness > 0.3 else "black"
    degrees = hue * 360.0
    if degrees < 15 or degrees >= 340:
        return "red" if value > 0.55 else "brown"
    if degrees < 45:
        return "orange" if value > 0.7 and saturation > 0.6 else "brown"
    if degrees < 70:
        return "yellow" if value > 0.55 else "brown"
    if degrees < 165:
        return "green"
    if degrees < 255:
        return "blue"
    if degrees < 290:
        return "purple"
    return "pink"


__all__ = ["clean_category", "color_name", "BENCHMARK_CATEGORIES", "SKIPPED", "SYNONYMS", "HEAD_NOUNS"]
