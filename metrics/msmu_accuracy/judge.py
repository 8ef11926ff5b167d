"""A ready `judge=` for `compute_msmu_accuracy`: a local transformers text-generation model.

The metric asks its judge only about ambiguous or unreadable answers. `TransformersJudge` sends
one fixed prompt (`JUDGE_PROMPT`) per distinct (answer, category, question), reads the first JSON
object of the reply with `json` (never `eval`), and turns it into a short answer the metric parses
like any prediction ("1.5 m", "yes", "the wooden table"). Replies are cached, so a model answering
the same text twice is asked once.

>>> parse_judge_reply('Sure. {"value": 1.5, "unit": "m"} done')
'1.5 m'
>>> parse_judge_reply('{"answer": "yes"}'), parse_judge_reply("__import__('os')") is None
('yes', True)
"""

from __future__ import annotations

import json
import math
from collections import OrderedDict

from .units import SPELLING_TO_UNIT

JUDGE_PROMPT = (
    "You read answers to spatial questions about an image and report what the answer states.\n"
    "For a measurement or a count reply with JSON only: {{\"value\": <number or null>, \"unit\": "
    "\"<m|cm|mm|km|in|ft|yd|mi, or null for a count>\"}}.\n"
    "For any other question reply with JSON only: {{\"answer\": \"<yes, no, or the object or direction the "
    "answer names>\"}}.\n"
    "If the answer states no value, use null.\n"
    "Question type: {category}\nQuestion: {question}\nAnswer: {prediction}\nJSON:"
)
_MAX_ANSWER_CHARS = 200
_DECODER = json.JSONDecoder()


def parse_judge_reply(reply: str) -> str | None:
    """The first JSON object of a judge's reply as a short answer; None when it holds none usable.

    `{"value": 1.5, "unit": "m"}` -> "1.5 m"; `{"value": 3, "unit": null}` -> "3";
    `{"answer": "yes"}` -> "yes". Anything else (no JSON, a non-number value, an unknown unit) is None.
    """
    start = reply.find("{")
    while start >= 0:
        try:
            data, _ = _DECODER.raw_decode(reply, start)
        except ValueError:
            start = reply.find("{", start + 1)
            continue
        return _reply_answer(data) if isinstance(data, dict) else None
    return None


def _reply_answer(data: dict) -> str | None:
    if "value" in data:
        value, unit = data["value"], data.get("unit")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            return None
        if unit is None:
            return f"{value:g}"
        if not isinstance(unit, str) or unit.strip().lower() not in SPELLING_TO_UNIT:
            return None
        return f"{value:g} {unit.strip().lower()}"
    answer = data.get("answer")
    if isinstance(answer, str) and answer.strip():
        return answer.strip()[:_MAX_ANSWER_CHARS]
    return None


class TransformersJudge:
    """`judge(prediction, category, question=None) -> str | None` backed by a local text-generation model.

    Args:
        model: a model id or a local path, loaded by `transformers.pipeline("text-generation")` on
            the first call (pass a local path offline).
        max_new_tokens: length of the reply; the JSON needs about 20 tokens.
        device: passed to the pipeline (None: its default).
        cache_size: distinct (answer, category, question) replies kept.
        generator: an already built text-generation pipeline (then `model` only names it).

    Attributes:
        calls: model calls made; cache_hits: questions answered from the cache.
    """

    def __init__(self, model: str, max_new_tokens: int = 48, device=None, cache_size: int = 4096, generator=None):
        if max_new_tokens < 1:
            raise ValueError(f"max_new_tokens must be >= 1, got {max_new_tokens}")
        if cache_size < 0:
            raise ValueError(f"cache_size must be >= 0, got {cache_size}")
        self.model = model
        self.max_new_tokens = max_new_tokens
        self.device = device
        self.cache_size = cache_size
        self._generator = generator
        self._cache: OrderedDict[tuple, str | None] = OrderedDict()
        self.calls = 0
        self.cache_hits = 0

    def _pipeline(self):
        if self._generator is None:
            from transformers import pipeline

            self._generator = pipeline("text-generation", model=self.model, device=self.device)
        return self._generator

    def prompt(self, prediction: str, category: str | None, question: str | None = None) -> str:
        return JUDGE_PROMPT.format(
            category=category or "unknown", question=question or "(not given)", prediction=prediction.strip()
        )

    def __call__(self, prediction: str, category: str | None, question: str | None = None) -> str | None:
        key = (prediction, category, question)
        if key in self._cache:
            self.cache_hits += 1
            self._cache.move_to_end(key)
            return self._cache[key]
        self.calls += 1
        outputs = self._pipeline()(
            self.prompt(prediction, category, question),
            max_new_tokens=self.max_new_tokens,
            do_sample=False,
            return_full_text=False,
        )
        text = outputs[0]["generated_text"] if outputs else ""
        reply = parse_judge_reply(text) if isinstance(text, str) else None
        if self.cache_size:
            self._cache[key] = reply
            if len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return reply


__all__ = ["JUDGE_PROMPT", "TransformersJudge", "parse_judge_reply"]
