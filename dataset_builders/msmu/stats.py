"""Build statistics: questions per category and split, objects per category, value ranges.

>>> stats = BuildStats()
>>> stats.add_rows("train", [{"category": "count", "answer_value": [2.0], "scene_id": "s", "frame_id": "0",
...     "objects": [{"id": 1, "category": "chair"}]}])
>>> stats.qa["count"]["train"], stats.objects["chair"], stats.ranges["count"]
(1, 1, [2.0, 2.0])
"""

from collections import defaultdict

from .templates import CATEGORY_NAMES


class BuildStats:
    def __init__(self):
        self.qa = defaultdict(lambda: defaultdict(int))  # category -> split -> questions
        self.objects = defaultdict(int)  # object category -> distinct (scene, object) seen
        self.ranges = {}  # category -> [min, max] of answer values
        self.frames = defaultdict(set)  # split -> {(scene_id, frame_id)}
        self.scenes = defaultdict(set)  # split -> {scene_id}
        self.skipped = []  # (scene_id, reason)
        self.unparsed = 0  # released answers of quantitative categories the parser could not read
        self._seen_objects = set()

    def add_rows(self, split: str, rows: list[dict]) -> None:
        for row in rows:
            category = row["category"] if isinstance(row["category"], str) else "unknown"
            self.qa[category][split] += 1
            self.frames[split].add((row["scene_id"], row["frame_id"]))
            self.scenes[split].add(row["scene_id"])
            for value in row["answer_value"]:
                low, high = self.ranges.get(category, [value, value])
                self.ranges[category] = [min(low, value), max(high, value)]
            for obj in row.get("objects") or ():
                key = (row["scene_id"], obj["id"])
                if key not in self._seen_objects:
                    self._seen_objects.add(key)
                    self.objects[obj["category"]] += 1

    def splits(self) -> list[str]:
        return sorted(self.scenes, key=lambda s: (s != "train", s))

    def markdown(self) -> str:
        """Tables for the card and the terminal."""
        splits = self.splits()
        lines = ["| category | " + " | ".join(splits) + " | value range |", "|---" * (len(splits) + 2) + "|"]
        for category in list(CATEGORY_NAMES) + sorted(set(self.qa) - set(CATEGORY_NAMES)):
            if category not in self.qa:
                continue
            counts = " | ".join(str(self.qa[category].get(s, 0)) for s in splits)
            low_high = self.ranges.get(category)
            span = f"{low_high[0]:g} .. {low_high[1]:g}" if low_high else "(qualitative)"
            lines.append(f"| {category} | {counts} | {span} |")
        totals = " | ".join(str(sum(self.qa[c].get(s, 0) for c in self.qa)) for s in splits)
        lines.append(f"| **total** | {totals} | |")
        scenes = ", ".join(f"{s}: {len(self.scenes[s])} scenes / {len(self.frames[s])} frames" for s in splits)
        out = ["Questions per category and split:", "", *lines, "", scenes]
        if self.objects:
            out += ["", "Objects per category (distinct objects seen in some frame):", ""]
            out += ["| object category | objects |", "|---|---|"]
            out += [f"| {c} | {n} |" for c, n in sorted(self.objects.items(), key=lambda kv: (-kv[1], kv[0]))]
        if self.skipped:
            out += ["", f"Skipped scenes ({len(self.skipped)}):", *[f"- {s}: {why}" for s, why in self.skipped]]
        if self.unparsed:
            out += ["", f"Quantitative answers the parser could not read (answer_value left empty): {self.unparsed}"]
        return "\n".join(out)


__all__ = ["BuildStats"]
