"""MSMU-Bench accuracy: answer parsing and scoring, importable without `evaluate`.

`evaluate.load("metrics/msmu_accuracy")` loads the same scoring as an evaluate module
(`msmu_accuracy.py`); this package init stays light so the dataset builder can import the
parser without pulling in evaluate.

>>> from metrics.msmu_accuracy import parse_answer
>>> parse_answer("The height of the table is 0.75 m.").values
[0.75]
"""

from .judge import TransformersJudge
from .parsing import ParsedAnswer, make_parser, parse_answer
from .scoring import RULES, compute_msmu_accuracy

__all__ = ["RULES", "ParsedAnswer", "TransformersJudge", "compute_msmu_accuracy", "make_parser", "parse_answer"]
