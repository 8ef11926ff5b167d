"""MSMU-Bench accuracy: a deterministic, judge-free `evaluate` metric for free-text spatial answers.

Load it with `evaluate.load("metrics/msmu_accuracy")` (offline, from this folder) or, on the Hub,
from its Space. The scoring itself lives in `scoring.py` and is importable without evaluate.
"""

from __future__ import annotations

import datasets
import evaluate

# evaluate copies into its module cache only the sibling modules this file imports directly,
# so every sibling that the scoring needs is imported here, even where only one name is used.
from .answer_text import clean_answer
from .categories import CATEGORY_ALIASES, MSMU_CATEGORIES
from .judge import JUDGE_PROMPT, TransformersJudge
from .number_words import words_to_digits
from .parsing import RANGE_POLICIES, parse_answer
from .qualitative import match_qualitative
from .scoring import DEFAULT_THRESHOLDS, RULES, compute_msmu_accuracy
from .selection import read_question
from .units import UNIT_TO_METERS

_CITATION = """\
@article{sdvlm2025,
  title   = {SD-VLM: Spatial Measuring and Understanding with Depth-Encoded Vision-Language Models},
  journal = {arXiv preprint arXiv:2509.17664},
  note    = {NeurIPS 2025},
  year    = {2025}
}
"""

_DESCRIPTION = f"""\
MSMU-Bench accuracy scores free-text answers to spatial questions (sizes, distances, counts,
positions, comparisons, existence) the way the SD-VLM paper does, without an LLM judge.
Quantitative answers are parsed into meters by a deterministic parser (units: {", ".join(UNIT_TO_METERS)};
number words: "two and a half" -> {words_to_digits("two and a half")}), and succeed when
delta = max(pred/gt, gt/pred) (the mean over elements for L x W x H answers) is below 1.25.
Numbers that are no quantity are set aside first (indices and tags, pixels, percentages, list
markers: "Region [0] is 2 m" reads as {clean_answer("region [0] is 2 m")[0]!r}), and with the question
the asked dimension picks among several values ("How tall is it?" asks the
{read_question("How tall is it?").dimension}).
Qualitative answers (yes/no, which one, left/right, in front/behind, bigger/smaller) are normalised
and matched against the reference. The MSMU-Bench score is the mean of the per-category success rates.

>>> parse_answer("Roughly 5 feet 3 inches tall.").values
[1.6002]
>>> match_qualitative("Yes, it is.", "yes").success
True
"""

_KWARGS_DESCRIPTION = f"""
Args:
    predictions (`list` of `str`): model answers in free text.
    references (`list` of `str`): ground-truth answers ("0.8 m x 0.63 m x 0.55 m", "1.2 meters", "3", "yes").
    categories (`list` of `str`, optional): MSMU `type` of each item ({", ".join(MSMU_CATEGORIES)}; the other
        naming of the authors' scripts, {", ".join(CATEGORY_ALIASES)}, is accepted). Missing or unknown
        categories are scored as quantitative when the reference holds a number, else qualitative.
    rule (`str`, default "msmu"): one of {sorted(RULES)}. "msmu" is the authors' rule (position by mean
        absolute difference <= 0.1 m); "msmu_delta" scores position by delta like the other types.
    thresholds (`tuple` of `float`, default {DEFAULT_THRESHOLDS}): delta thresholds reported as
        `delta_<t>`; the first is the msmu success threshold.
    default_unit (`str` or None, default "m"): unit for numbers written without one (None: unparseable).
    range_policy (`str`, default "midpoint"): one of {RANGE_POLICIES}.
    judge (callable, optional): `judge(prediction, category[, question=...]) -> str`, asked only for
        ambiguous or unreadable predictions; its reply is parsed as an answer, never executed.
        `TransformersJudge(model_id_or_path)` is a ready one: a local text-generation model given a
        fixed prompt ({len(JUDGE_PROMPT)} characters), its JSON reply read with `json`, replies cached.
    return_per_item (`bool`, default False): add `items`, one dict per input.
    questions (`list` of `str`, optional): the question of each item; sharpens qualitative matching
        (a yes/no answer stating the opposite relation reads as no; which-one answers must name one
        of the question's two objects).
Returns:
    msmu_score (`float`): mean of the per-category success rates (the authors' MSMU-Bench score), 0..1.
    msmu_score_over_8 (`float`): the eight types' rates summed and divided by 8, as the authors' script
        does (equal to msmu_score when all eight types are present).
    success_rate (`float`): success over all items.
    per_category (`dict`): category -> rate, count, parse_failures (+ length_mismatches for
        quantitative categories, exact_match for `count`).
    delta_1.25, delta_1.5625, delta_1.953125 (`float`): share of quantitative items under each threshold.
    abs_rel (`float`): mean |p - g| / g over parsed quantitative items.
    mra (`float`): mean relative accuracy, the share of thresholds 0.50..0.95 with relative error <= 1 - threshold (unparsed items score 0).
    parse_failures (`int`): predictions that could not be read (each counted as a failure).
    num_ranges (`int`): predictions given as a range and collapsed by `range_policy`.
    num_unitless (`int`): length predictions without a unit (read in `default_unit`).
    ambiguous_share (`float`): share of items whose value was ambiguous (several plausible values
        chosen between by a weak rule, or a value without a unit).
    judge_calls (`int`): items sent to the judge.
    items (`list` of `dict`, with return_per_item): success, pred_m, ref_m, delta, reason (of the
        outcome), span (the text the value was read from), span_reason (why that span), ambiguous.
Examples:
    >>> import evaluate
    >>> metric = evaluate.load("metrics/msmu_accuracy")  # doctest: +SKIP
    >>> metric = MsmuAccuracy()  # the same module, already imported in this file
    >>> results = metric.compute(
    ...     predictions=["It is about 1.5 meters away.", "Roughly 5 feet 3 inches tall.", "Yes."],
    ...     references=["150 cm", "1.6 m", "yes"],
    ...     categories=["absolute_distance", "scale_estimation", "zero"],
    ... )
    >>> results["msmu_score"], results["parse_failures"], round(results["abs_rel"], 4)
    (1.0, 0, 0.0001)
    >>> results = metric.compute(
    ...     predictions=["0.8 x 0.6 x 1.2 m", "I am not sure."],
    ...     references=["0.8 m x 0.63 m x 0.55 m", "The wooden table is taller."],
    ...     categories=["scale_estimation", "scale_compare"],
    ...     return_per_item=True,
    ... )
    >>> [(item["success"], item["reason"]) for item in results["items"]]
    [(False, 'fails rule msmu: delta 1.411'), (False, 'no object or relation in the answer')]
"""


# The docstrings become the class docstring, so their examples run as doctests (pytest --doctest-modules).
@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class MsmuAccuracy(evaluate.Metric):
    """MSMU-Bench accuracy (see the module docstrings above and the metric card)."""

    def _info(self) -> evaluate.MetricInfo:
        return evaluate.MetricInfo(
            module_type="metric",
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features(
                {
                    "predictions": datasets.Value("string"),
                    "references": datasets.Value("string"),
                    "categories": datasets.Value("string"),
                }
            ),
            reference_urls=["https://arxiv.org/abs/2509.17664"],
            codebase_urls=["https://github.com/cpystan/SD-VLM"],
        )

    def compute(self, *, predictions=None, references=None, categories=None, **kwargs):
        """Score predictions against references; see the inputs description below."""
        # categories are optional: an empty string means "infer" (evaluate's string feature
        # rejects None), so a call without them is not refused.
        if categories is None and predictions is not None:
            categories = [""] * len(predictions)
        elif categories is not None:
            categories = ["" if category is None else category for category in categories]
        if predictions is not None:
            # A missing answer scores as unreadable, as in `compute_msmu_accuracy`; evaluate's string
            # feature would refuse None.
            predictions = ["" if prediction is None else prediction for prediction in predictions]
        return super().compute(predictions=predictions, references=references, categories=categories, **kwargs)

    def _compute(self, predictions, references, categories, **kwargs) -> dict:
        return compute_msmu_accuracy(predictions, references, categories, **kwargs)


__all__ = ["MsmuAccuracy", "TransformersJudge", "parse_answer"]
