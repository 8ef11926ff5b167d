"""The judge hook: asked only about ambiguous or unreadable answers, replies parsed as JSON data,
cached; the transformers adapter runs a tiny random model built offline from a config."""

import pytest

from metrics.msmu_accuracy.judge import JUDGE_PROMPT, TransformersJudge, parse_judge_reply
from metrics.msmu_accuracy.scoring import compute_msmu_accuracy


@pytest.mark.parametrize(
    "reply, expected",
    [
        ('{"value": 1.5, "unit": "m"}', "1.5 m"),
        ('The answer: {"value": 30, "unit": "inches"} (approx.)', "30 inches"),
        ('{"value": 3, "unit": null}', "3"),
        ('{"answer": " yes "}', "yes"),
        ('{"answer": "the wooden table"}', "the wooden table"),
        ('{"value": null, "unit": null}', None),
        ('{"value": "1.5", "unit": "m"}', None),  # a string is no number
        ('{"value": true, "unit": "m"}', None),
        ('{"value": NaN, "unit": "m"}', None),
        ('{"value": Infinity, "unit": "m"}', None),
        ('{"value": 2, "unit": "parsecs"}', None),
        ('{"value": 2, "unit": ["m"]}', None),
        ("__import__('os').system('touch /tmp/pwned')", None),
        ("{not json} then {\"value\": 2, \"unit\": \"ft\"}", "2 ft"),
        ("[1, 2]", None),
        ("", None),
    ],
)
def test_judge_replies_are_parsed_as_json_data(reply, expected):
    assert parse_judge_reply(reply) == expected


class _Recorder:
    """A stand-in text-generation pipeline that records prompts and replies with fixed JSON."""

    def __init__(self, reply):
        self.prompts, self.reply = [], reply

    def __call__(self, prompt, **kwargs):
        assert kwargs == {"max_new_tokens": 48, "do_sample": False, "return_full_text": False}
        self.prompts.append(prompt)
        return [{"generated_text": self.reply}]


def test_only_ambiguous_items_reach_the_judge_and_replies_are_cached():
    generator = _Recorder('{"value": 1.8, "unit": "m"}')
    judge = TransformersJudge("recorder", generator=generator)
    predictions = [
        "Width: 0.9 m, Height: 1.8 m",  # several values and no question: ambiguous
        "Width: 0.9 m, Height: 1.8 m",  # the same answer again: from the cache
        "It is 1.8 m tall.",  # one value with a unit: not ambiguous
        "roughly an arm's length",  # unreadable
    ]
    result = compute_msmu_accuracy(
        predictions, ["1.8 m"] * 4, ["scale_estimation"] * 4, judge=judge, return_per_item=True
    )
    assert result["judge_calls"] == 3 and judge.calls == 2 and judge.cache_hits == 1
    assert [item.get("judged", False) for item in result["items"]] == [True, True, False, True]
    assert result["success_rate"] == 1.0
    assert generator.prompts[0] == JUDGE_PROMPT.format(
        category="scale_estimation", question="(not given)", prediction="Width: 0.9 m, Height: 1.8 m"
    )
    assert result["items"][0]["span_reason"].startswith("judge:")


def test_a_judge_reply_that_is_no_json_leaves_the_parser_reading():
    judge = TransformersJudge("recorder", generator=_Recorder("I think it is about 2 m"))
    items = compute_msmu_accuracy(["Width: 0.9 m, Height: 1.8 m"], ["1.8 m"], ["scale_estimation"], judge=judge,
                                  return_per_item=True)["items"]  # fmt: skip
    assert items[0]["pred_m"] == 0.9 and "judged" not in items[0] and items[0]["ambiguous"] is True


def test_judge_options_are_checked():
    with pytest.raises(ValueError, match="max_new_tokens must be >= 1"):
        TransformersJudge("m", max_new_tokens=0)
    with pytest.raises(ValueError, match="cache_size must be >= 0"):
        TransformersJudge("m", cache_size=-1)


def _tiny_causal_lm(folder):
    from transformers import LlamaConfig, LlamaForCausalLM

    from modeling_sdvlm.tiny import build_tiny_tokenizer

    tokenizer = build_tiny_tokenizer([JUDGE_PROMPT, '{"value": 1.5, "unit": "m"}', "Width: 0.9 m, Height: 1.8 m"])
    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2,
        num_key_value_heads=2, max_position_embeddings=512, bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
    )  # fmt: skip
    import torch

    torch.manual_seed(0)
    LlamaForCausalLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def test_transformers_judge_runs_a_local_text_generation_model(tmp_path):
    judge = TransformersJudge(str(_tiny_causal_lm(tmp_path / "judge")), max_new_tokens=8, device="cpu")
    predictions = ["Width: 0.9 m, Height: 1.8 m", "Width: 0.9 m, Height: 1.8 m", "It is 1.8 m tall."]
    result = compute_msmu_accuracy(predictions, ["1.8 m"] * 3, ["scale_estimation"] * 3, judge=judge,
                                   return_per_item=True)  # fmt: skip
    # The random model's reply is no JSON: nothing is judged, the parser's reading stands.
    assert judge.calls == 1 and judge.cache_hits == 1 and result["judge_calls"] == 2
    assert [item["pred_m"] for item in result["items"]] == [0.9, 0.9, 1.8]
    assert not any(item.get("judged") for item in result["items"])
