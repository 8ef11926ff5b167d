"""What a checkpoint was trained on, and whether a question falls outside it.

Read from the checkpoint folder: `sdvlm_training.json` (written by `sdvlm-train`: the categories and
question kinds of the training rows, the depth kind, the data folder, steps) and the model card
`README.md` (its front matter's datasets and `model-index` held-out scores). A question is checked
by looking its phrasing up in the MSMU builder's templates (`dataset_builders.msmu.question_lookup`),
against the categories the checkpoint saw; nothing is guessed from words.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

DEPTH_KINDS = {  # sdvlm-train's `depth_kind` values, as a visitor reads them
    "metric": "ground-truth metric depth (meters, larger = farther)",
    "none": "no depth",
}


@dataclass
class CheckpointInfo:
    """The training record of one checkpoint; fields are None where the folder does not say."""

    path: str
    name: str | None = None
    use_depth: bool | None = None
    depth_kind: str | None = None
    depth_normalization: str | None = None
    categories: dict[str, int] | None = None  # {category: training rows}
    question_kinds: dict[str, int] | None = None  # {kind: training rows}, where the data recorded kinds
    dataset: str | None = None
    card_datasets: list[str] = field(default_factory=list)
    num_rows: int | None = None
    global_step: int | None = None
    scores: dict[str, float] = field(default_factory=dict)  # model-index: {metric: value}
    scores_on: str | None = None  # "dataset split" of those scores

    @property
    def label(self) -> str:
        return f"`{self.path}`" + (f" ({self.name})" if self.name and self.name != Path(self.path).name else "")


def read_checkpoint_info(path: str | Path, config=None) -> CheckpointInfo:
    """The record of a checkpoint folder; `config` (the loaded model config) fills what the files lack."""
    info = CheckpointInfo(path=str(path))
    if config is not None:
        info.use_depth = bool(getattr(config, "use_depth", True))
        info.depth_normalization = getattr(config, "depth_normalization", None)
    folder = Path(path)
    record = _read_json(folder / "sdvlm_training.json")
    if record:
        info.use_depth = record.get("use_depth", info.use_depth)
        info.depth_kind = record.get("depth_kind")
        info.dataset = record.get("dataset")
        info.num_rows = record.get("num_rows")
        info.global_step = record.get("global_step")
        contents = record.get("trained_on") or {}
        if contents.get("categories"):
            info.categories = dict(contents["categories"])
        elif record.get("categories"):  # older records: the requested categories, no counts
            info.categories = {name: 0 for name in record["categories"]}
        if contents.get("question_kinds"):
            info.question_kinds = dict(contents["question_kinds"])
    _read_card(folder / "README.md", info)
    return info


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _read_card(path: Path, info: CheckpointInfo) -> None:
    if not path.is_file():
        return
    try:
        from huggingface_hub import ModelCard

        data = ModelCard.load(path).data
    except Exception:  # a card that is not valid front matter tells us nothing; the page still comes up
        return
    info.name = data.model_name or info.name
    info.card_datasets = list(data.datasets or [])
    for result in data.eval_results or []:
        info.scores[result.metric_type] = float(result.metric_value)
        info.scores_on = f"{result.dataset_name} {result.dataset_split}"


def describe_depth(info: CheckpointInfo) -> str:
    if info.use_depth is False:
        return "off: a model trained without depth (it is given none)"
    kind = info.depth_kind
    if kind is None:
        text = "a depth kind that is not recorded"
    elif kind.startswith("estimated:"):
        text = f"relative inverse depth estimated by `{kind.split(':', 1)[1]}` (larger = nearer)"
    else:
        text = DEPTH_KINDS.get(kind, f"`{kind}`")
    normalization = {"none": "encoded as given", "minmax": "min-max normalised per image"}.get(info.depth_normalization or "")
    return f"on, trained with {text}" + (f", {normalization}" if normalization else "")


def info_markdown(info: CheckpointInfo, role: str) -> str:
    """A short Markdown block: what `info`'s checkpoint was trained on and how it scored."""
    lines = [f"**{role}**: {info.label}"]
    if info.categories:
        counts = ", ".join(f"{name} ({rows:,})" if rows else name for name, rows in info.categories.items())
        lines.append(f"- Trained on {len(info.categories)} categories: {counts}")
    else:
        lines.append("- Trained on: not recorded (no `sdvlm_training.json` categories); questions cannot be checked")
    if info.question_kinds:
        lines.append(f"- {len(info.question_kinds)} question kinds: " + ", ".join(info.question_kinds))
    lines.append(f"- Depth: {describe_depth(info)}")
    data = info.dataset or ", ".join(info.card_datasets) or "not recorded"
    rows = f", {info.num_rows:,} QA rows" if info.num_rows else ""
    steps = f", {info.global_step:,} steps" if info.global_step else ""
    lines.append(f"- Data: `{data}`{rows}{steps}")
    if "msmu_score" in info.scores:
        per = ", ".join(f"{key.split('/', 1)[1]} {100 * value:.0f}" for key, value in info.scores.items()
                        if key.startswith("success/"))
        lines.append(f"- Held-out MSMU score ({info.scores_on}, model card): **{100 * info.scores['msmu_score']:.1f}**"
                     + (f" (per category: {per})" if per else ""))
    return "\n".join(lines)


def question_warning(info: CheckpointInfo, question: str) -> str | None:
    """A warning when `question` is not a phrasing of the builder's, or of a category or kind the
    checkpoint was not trained on; None when it is inside what the checkpoint saw."""
    try:
        from dataset_builders.msmu.question_lookup import lookup_question
    except ImportError:
        return None  # without the project the builder's templates are not at hand: nothing to look up
    question = (question or "").strip()
    if not question:
        return None
    found = lookup_question(question)
    if found is None:
        return ("This question is not one of the MSMU builder's phrasings, so this checkpoint has never seen "
                "it asked this way: its answer may be about something else. Pick an example question, or "
                "phrase it like one.")
    if info.categories is not None and found.category not in info.categories:
        return (f"This is a **{found.category}** question ({found.kind}), but this checkpoint was trained only on "
                f"{', '.join(info.categories)}: its answer is not a measurement it learned.")
    if found.kind and info.question_kinds is not None and found.kind not in info.question_kinds:
        return (f"This is a **{found.kind}** question, but this checkpoint was trained only on the kinds "
                f"{', '.join(info.question_kinds)}.")
    return None


__all__ = ["CheckpointInfo", "read_checkpoint_info", "describe_depth", "info_markdown", "question_warning"]
