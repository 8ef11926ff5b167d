"""Fuzz of the whole tree with bad or unusual inputs: how many crash, how many give a silently wrong result.

    python benchmarks/fuzz_inputs.py [--only processor,model,families,config,evaluation,metric,builder,training,space] [-v]

Every case is one input and what a correct tree does with it:
- REFUSE: a clear error, i.e. a `ValueError` / `TypeError` / `OSError` / `KeyError` / `RuntimeError` (or
  the Space's `InputError`, `gr.Error`) raised by a `raise` statement of the project's own code (the innermost frame in this repository, not in a
  library) with a message; a library's error counts only where the case names the message that
  makes it clear (`clear=`, e.g. transformers' "number of <image> tokens" check). Any other
  exception is a CRASH; returning a result is SILENTLY WRONG (a bad input accepted).
- ACCEPT: returns, and the case's check of the result holds (finite, right values); an exception is a
  CRASH, a failed check SILENTLY WRONG.
- EITHER: a clear refusal or a result that passes the check.

Prints one line per failure (with -v every case) and, last, `cases=N crashes=C silent_wrong=S`.
Everything is built offline from tiny configs in a temporary folder; CPU, about two minutes.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import re
import sys
import tempfile
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]
PROMPT = "USER: <image>\nHow far is the chair? ASSISTANT:"
# Counted as clear only when raised by a `raise` in the project (see `raised_by_project`).
CLEAR_ERRORS = (ValueError, TypeError, OSError, KeyError, RuntimeError)


@dataclass
class Case:
    area: str
    name: str
    run: Callable
    expect: str = "refuse"  # "refuse", "accept" or "either"
    check: Callable | None = None  # result -> True when right (accept / either)
    clear: str | None = None  # a library error whose message matches this regex is a clear refusal too


def raised_by_project(error: BaseException) -> bool:
    """Whether `error` comes from a `raise` statement in this repository (not from a library, and not a
    builtin failing on a project line, such as `range(0, n, 0)`)."""
    frames = traceback.extract_tb(error.__traceback__)
    if not frames:
        return False
    path = Path(frames[-1].filename).resolve()
    # This script's own frames do not count: an error there is a bug of the case, not a refusal.
    in_project = REPO in path.parents and ".venv" not in path.parts and path != Path(__file__).resolve()
    return in_project and "raise" in (frames[-1].line or "")


def is_clear(error: BaseException, clear: str | None = None) -> bool:
    if clear is not None and re.search(clear, str(error)):
        return True
    if type(error).__name__ in ("Error", "InputError") or isinstance(error, CLEAR_ERRORS):
        return raised_by_project(error) and len(str(error)) >= 15
    return False


def judge(case: Case) -> tuple[str, str]:
    """("ok" | "crash" | "silent", detail)."""
    try:
        result = case.run()
    except BaseException as error:  # noqa: BLE001 - every exception is classified
        if isinstance(error, KeyboardInterrupt):
            raise
        detail = f"{type(error).__name__}: {str(error)[:160]}"
        if case.expect in ("refuse", "either") and is_clear(error, case.clear):
            return "ok", detail
        where = traceback.extract_tb(error.__traceback__)[-1]
        return "crash", f"{detail} (at {Path(where.filename).name}:{where.lineno})"
    if case.expect == "refuse":
        return "silent", f"accepted: {str(result)[:160]}"
    try:
        good = case.check is None or bool(case.check(result))
    except Exception as error:  # noqa: BLE001
        return "silent", f"check failed: {type(error).__name__}: {error}"
    return ("ok", "accepted") if good else ("silent", f"wrong result: {str(result)[:160]}")


# --- shared tiny things ------------------------------------------------------------------------------


class World:
    """Tiny models, processors, data and files, built once."""

    def __init__(self, root: Path):
        from modeling_sdvlm.tiny import build_tiny_model, build_tiny_processor
        from sdvlm.testing import tiny_depth_estimator, write_tiny_checkpoint, write_tiny_msmu

        self.root = root
        texts = ["How far is the chair? 1 2 3 m"]
        self.inverse = build_tiny_processor(texts=texts, image_size=32, patch_size=8)
        self.inverse_model = build_tiny_model(self.inverse)
        self.metric = build_tiny_processor(texts=texts, image_size=32, patch_size=8)
        self.metric_model = build_tiny_model(self.metric, depth_convention="metric")
        self.estimator = tiny_depth_estimator()
        self.data = write_tiny_msmu(root / "msmu", num_train_frames=4, num_test_frames=2)
        self.ckpt = write_tiny_checkpoint(root / "ckpt", self.data)
        self.image = Image.new("RGB", (40, 24), (90, 30, 120))

    def inputs(self, processor=None, depth=None, **kwargs):
        processor = processor or self.inverse
        depth = np.full((24, 40), 2.0, np.float32) if depth is None else depth
        return processor(images=[self.image], text=[PROMPT], depth=[depth], return_tensors="pt", **kwargs)

    def file(self, name: str, data: bytes) -> str:
        path = self.root / "files" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return str(path)


def png_bytes(array: np.ndarray, **save) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, "PNG", **save)
    return buffer.getvalue()


def png_bomb(width: int, height: int) -> bytes:
    """A 16-bit grey PNG whose header claims `width` x `height` but holds one compressed row of zeros."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 16, 0, 0, 0, 0)
    rows = zlib.compress(b"\x00" * (1 + 2 * width))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")


def npy_bytes(array) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=True)
    return buffer.getvalue()


def finite_depth(out, shape=(1, 32, 32)) -> bool:
    depth = out["depth_values"]
    return tuple(depth.shape) == shape and bool(torch.isfinite(depth).all()) and bool((depth >= 0).all())


def finite_logits(out) -> bool:
    return bool(torch.isfinite(out.logits).all())


# --- the cases ---------------------------------------------------------------------------------------


def processor_cases(w: World) -> list[Case]:
    H, W = 24, 40
    depth = lambda value, dtype=np.float32: np.full((H, W), value, dtype)  # noqa: E731
    call = lambda d, **k: (lambda: w.inputs(depth=d, **k))  # noqa: E731
    rng = np.random.default_rng(0)
    sparse = np.where(rng.random((H, W)) < 0.05, 2.5, 0.0).astype(np.float32)
    single = np.zeros((H, W), np.float32)
    single[3, 7] = 1.7
    cases = [
        Case("processor", "depth PIL mode L (8-bit)", call(Image.fromarray(depth(96, np.uint8)))),
        Case("processor", "depth PIL RGB", call(Image.new("RGB", (W, H)))),
        Case("processor", "depth PIL mode 1", call(Image.new("1", (W, H), 1))),
        Case("processor", "depth PIL mode P", call(Image.new("P", (W, H), 3))),
        Case("processor", "depth PIL mode F meters", call(Image.fromarray(depth(2.0))), "accept", finite_depth),
        Case("processor", "depth PIL I;16 mm", call(Image.fromarray(depth(2000, np.uint16))), "accept",
             lambda out: finite_depth(out) and abs(float(out["depth_values"].max()) - 0.5) < 1e-3),
        Case("processor", "depth bool array", call(depth(True, bool))),
        Case("processor", "depth complex array", call(depth(2.0, np.complex64))),
        Case("processor", "depth object array", call(np.full((H, W), "2", object))),
        Case("processor", "depth python list", call(depth(2.0).tolist())),
        Case("processor", "depth string", call("2.0")),
        Case("processor", "depth (H, W, 1)", call(depth(2.0)[..., None])),
        Case("processor", "depth (1, H, W)", call(depth(2.0)[None])),
        Case("processor", "depth 0-d", call(np.float32(2.0))),
        Case("processor", "depth (0, 0)", call(np.zeros((0, 0), np.float32))),
        Case("processor", "depth transposed (W, H)", call(np.full((W, H), 2.0, np.float32))),
        Case("processor", "depth negative", call(depth(-1.0))),
        Case("processor", "depth all NaN", call(depth(np.nan))),
        Case("processor", "depth all zero", call(depth(0.0))),
        Case("processor", "depth all +inf", call(depth(np.inf))),
        Case("processor", "depth 3e38 m", call(depth(3e38))),
        Case("processor", "depth 1e5 m", call(depth(1e5))),
        Case("processor", "depth 1e-6 m", call(depth(1e-6))),
        Case("processor", "depth float64 1e300", call(depth(1e300, np.float64))),
        Case("processor", "depth int64 2**40 mm", call(depth(2**40, np.int64))),
        Case("processor", "depth uint16 65535 mm (65.5 m)", call(depth(65535, np.uint16)), "accept", finite_depth),
        Case("processor", "depth float16 with inf", call(np.where(np.eye(H, W) > 0, np.inf, 2.0).astype(np.float16)),
             "accept", finite_depth),
        Case("processor", "depth bfloat16 tensor", call(torch.full((H, W), 2.0, dtype=torch.bfloat16)), "accept",
             lambda out: finite_depth(out) and abs(float(out["depth_values"].max()) - 0.5) < 1e-2),
        Case("processor", "depth 5% valid pixels", call(sparse), "accept", finite_depth),
        Case("processor", "depth one valid pixel", call(single), "accept", finite_depth),
        Case("processor", "depth list holding None", lambda: w.inverse(images=[w.image], text=[PROMPT], depth=[None])),
        Case("processor", "depth torch int16 mm", call(torch.full((H, W), 2000, dtype=torch.int16)), "accept",
             lambda out: abs(float(out["depth_values"].max()) - 0.5) < 1e-3),
        Case("processor", "depth PIL mode I (32-bit mm)", call(Image.fromarray(depth(2000, np.int32))), "accept",
             lambda out: abs(float(out["depth_values"].max()) - 0.5) < 1e-3),
        Case("processor", "depth non-contiguous view", call(np.full((W, H), 2.0, np.float32).T), "accept", finite_depth),
        Case("processor", "depth_kind None", call(depth(2.0), depth_kind=None)),
        Case("processor", "text only", lambda: w.inverse(text=["How far?"], return_tensors="pt"), "accept",
             lambda out: "depth_values" not in out and "pixel_values" not in out),
        Case("processor", "nested image list with depth",
             lambda: w.inverse(images=[[w.image]], text=[PROMPT], depth=[depth(2.0)], return_tensors="pt"), "accept",
             finite_depth),
        Case("processor", "two depth maps for one image",
             lambda: w.inverse(images=[w.image], text=[PROMPT], depth=[depth(2.0), depth(2.0)])),
        Case("processor", "depth without images", lambda: w.inverse(text=[PROMPT], depth=[depth(2.0)]),
             clear="<image> tokens in the text but no images"),
        Case("processor", "depth_kind 'relative'", call(depth(2.0), depth_kind="relative")),
        Case("processor", "depth_kind list of wrong length", call(depth(2.0), depth_kind=["metric", "metric"])),
        Case("processor", "inverse depth for a metric model", lambda: w.inputs(w.metric, depth(2.0), depth_kind="inverse")),
        Case("processor", "inverse depth 1e13", call(depth(1e13), depth_kind="inverse")),
        Case("processor", "image numpy (H, W) grey",
             lambda: w.inverse(images=[np.zeros((H, W), np.uint8)], text=[PROMPT], depth=[depth(2.0)],
                               return_tensors="pt"), "accept", finite_depth),
        Case("processor", "image numpy (H, W, 4) RGBA",
             lambda: w.inverse(images=[np.zeros((H, W, 4), np.uint8)], text=[PROMPT], return_tensors="pt"), "accept",
             lambda out: out["pixel_values"].shape == (1, 3, 32, 32)),
        Case("processor", "image numpy (H, W, 2)", lambda: w.inverse(images=[np.zeros((H, W, 2), np.uint8)], text=[PROMPT])),
        Case("processor", "image numpy (0, 0, 3)", lambda: w.inverse(images=[np.zeros((0, 0, 3), np.uint8)], text=[PROMPT])),
        Case("processor", "image of strings", lambda: w.inverse(images=[np.full((H, W, 3), "a")], text=[PROMPT])),
        Case("processor", "image 1x5000 with depth",
             lambda: w.inverse(images=[Image.new("RGB", (5000, 1))], text=[PROMPT],
                               depth=[np.full((1, 5000), 3.0, np.float32)], return_tensors="pt"), "accept", finite_depth),
        Case("processor", "image float with NaN pixels",
             lambda: w.inverse(images=[np.full((H, W, 3), np.nan, np.float32)], text=[PROMPT], return_tensors="pt")),
        Case("processor", "prompt without <image>", lambda: w.inverse(images=[w.image], text=["How far?"]),
             clear="number of <image> tokens in the prompts should be the same as the number of images"),
        Case("processor", "two <image> for one image", lambda: w.inverse(images=[w.image], text=[PROMPT + "<image>"]),
             clear="number of <image> tokens in the prompts should be the same as the number of images"),
        Case("processor", "estimate offline (missing estimator folder)",
             lambda: estimating(w, str(w.root / "no-estimator"))(images=[w.image], text=[PROMPT])),
        Case("processor", "estimate with a relative estimator for a metric model",
             lambda: estimating(w, convention="metric", model=w.estimator)(images=[w.image], text=[PROMPT])),
        Case("processor", "estimate with a relative estimator for an inverse model",
             lambda: estimating(w, model=w.estimator)(images=[w.image], text=[PROMPT], return_tensors="pt"),
             "accept", lambda out: tuple(out["depth_values"].shape) == (1, 32, 32)),
    ]
    return cases


def estimating(w: World, estimator: str = "depth-anything/Depth-Anything-V2-Large-hf", convention="inverse",
               model=None):
    from modeling_sdvlm.tiny import build_tiny_processor

    processor = build_tiny_processor(texts=["How far"], image_size=32, patch_size=8, estimate_missing_depth=True,
                                     depth_estimator=estimator, depth_convention=convention)
    if model is not None:
        processor.set_depth_estimator(*model)
    return processor


def model_cases(w: World) -> list[Case]:
    def with_depth(change, model=None, convention_processor=None):
        def run():
            inputs = dict(w.inputs(convention_processor))
            inputs["depth_values"] = change(inputs["depth_values"])
            with torch.no_grad():
                return (model or w.inverse_model)(**inputs)
        return run

    def generate(padding_side):
        def run():
            images = [w.image, w.image]
            prompts = [PROMPT, "USER: <image>\nHow far is the chair? 1 2 3 ASSISTANT:"]
            inputs = w.inverse(images=images, text=prompts, depth=[np.full((24, 40), 2.0, np.float32)] * 2,
                               padding=True, padding_side=padding_side, return_tensors="pt")
            return w.inverse_model.generate(**inputs, max_new_tokens=2, do_sample=False)
        return run

    def few_image_tokens():
        inputs = dict(w.inputs())
        first = int((inputs["input_ids"][0] == w.inverse.image_token_id).nonzero()[0, 0])
        keep = torch.ones(inputs["input_ids"].shape[1], dtype=torch.bool)
        keep[first] = False  # one image token less than the image has features
        inputs["input_ids"], inputs["attention_mask"] = inputs["input_ids"][:, keep], inputs["attention_mask"][:, keep]
        return w.inverse_model(**inputs)

    return [
        Case("model", "depth_values int32 (mm)", with_depth(lambda d: (d * 1000).to(torch.int32))),
        Case("model", "depth_values int64", with_depth(lambda d: d.to(torch.int64))),
        Case("model", "depth_values bool", with_depth(lambda d: d > 0)),
        Case("model", "depth_values 1e38", with_depth(lambda d: torch.where(d > 0, 1e38, 0.0))),
        Case("model", "depth_values all NaN", with_depth(lambda d: torch.full_like(d, math.nan))),
        Case("model", "depth_values negative", with_depth(lambda d: -d)),
        Case("model", "depth_values 2-D", with_depth(lambda d: d[0])),
        Case("model", "depth_values two maps for one image", with_depth(lambda d: torch.cat([d, d]))),
        Case("model", "depth_values wrong spatial size", with_depth(lambda d: d[:, :16, :16])),
        Case("model", "use_depth=False model given depth", lambda: no_depth_model_ignores_depth(w), "accept", bool),
        Case("model", "depth_values bfloat16", with_depth(lambda d: d.to(torch.bfloat16)), "accept", finite_logits),
        Case("model", "depth_values float64", with_depth(lambda d: d.double()), "accept", finite_logits),
        Case("model", "metric model, 9000 m", lambda: w.metric_model(**w.inputs(w.metric, np.full((24, 40), 9000.0, np.float32))),
             "accept", finite_logits),
        Case("model", "depth_values without pixel_values",
             lambda: w.inverse_model(input_ids=w.inputs()["input_ids"], depth_values=w.inputs()["depth_values"])),
        Case("model", "generate right-padded", generate("right")),
        Case("model", "generate left-padded", generate("left"), "accept", lambda out: out.shape[0] == 2),
        Case("model", "fewer image tokens than features", few_image_tokens),
    ]


def family_cases(w: World) -> list[Case]:
    """The other families' processors and models share the depth inputs: the same refusals."""
    from modeling_sdvlm.tiny import build_tiny_model, build_tiny_processor

    cases = []
    messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "How far is the chair?"}]}]
    for family in ("qwen2_5_vl", "llava_onevision"):
        processor = build_tiny_processor(texts=["How far is the chair?"], family=family)
        model = build_tiny_model(processor)
        metric_processor = build_tiny_processor(texts=["How far is the chair?"], family=family)
        build_tiny_model(metric_processor, depth_convention="metric")
        prompt = processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)

        def inputs(depth, p=processor, prompt=prompt, **kwargs):
            return p(images=[w.image], text=[prompt], depth=[depth], return_tensors="pt", **kwargs)

        def forward(change, m=model, inputs=inputs):
            batch = dict(inputs(np.full((24, 40), 2.0, np.float32)))
            batch["depth_values"] = change(batch["depth_values"])
            with torch.no_grad():
                return m(**batch)

        cases += [
            Case(family, "depth PIL mode L", lambda inputs=inputs: inputs(Image.fromarray(np.full((24, 40), 9, np.uint8)))),
            Case(family, "depth 3e38 m", lambda inputs=inputs: inputs(np.full((24, 40), 3e38, np.float32))),
            Case(family, "inverse depth for a metric model",
                 lambda inputs=inputs, mp=metric_processor: inputs(np.ones((24, 40), np.float32), p=mp, depth_kind="inverse")),
            Case(family, "meters become 1/d", lambda inputs=inputs: inputs(np.full((24, 40), 2.0, np.float32)), "accept",
                 lambda out: abs(float(out["depth_values"].max()) - 0.5) < 1e-4),
            Case(family, "depth_values int32", lambda forward=forward: forward(lambda d: (d * 1000).to(torch.int32))),
            Case(family, "depth_values 1e38", lambda forward=forward: forward(lambda d: torch.where(d > 0, 1e38, 0.0)),
                 "either", finite_logits),
            Case(family, "depth_values bfloat16", lambda forward=forward: forward(lambda d: d.to(torch.bfloat16)),
                 "accept", finite_logits),
        ]
    return cases


def no_depth_model_ignores_depth(w: World) -> bool:
    from modeling_sdvlm.tiny import build_tiny_model, build_tiny_processor

    processor = build_tiny_processor(texts=["How far is the chair? 1 2 3 m"], image_size=32, patch_size=8)
    model = build_tiny_model(processor, use_depth=False)
    inputs = w.inputs(processor)
    with torch.no_grad():
        with_depth = model(**inputs).logits
        without = model(**{k: v for k, v in inputs.items() if k != "depth_values"}).logits
    return bool(torch.equal(with_depth, without))


def evaluation_cases(w: World) -> list[Case]:
    from datasets import load_dataset

    from sdvlm.evaluation import generate_answers, load_for_inference, main

    test = load_dataset(str(w.data))["test"]
    args = ["--dataset_name", str(w.data), "--update_model_card", "false", "--output_dir", str(w.root / "eval")]
    return [
        Case("evaluation", "generate_answers batch_size=0",
             lambda: generate_answers(w.inverse_model, w.inverse, test, batch_size=0, progress=False)),
        Case("evaluation", "generate_answers max_new_tokens=0",
             lambda: generate_answers(w.inverse_model, w.inverse, test, max_new_tokens=0, progress=False), "either",
             lambda answers: len(answers) == len(test)),
        Case("evaluation", "load_for_inference on a missing folder", lambda: load_for_inference(w.root / "nothing")),
        Case("evaluation", "sdvlm-evaluate unknown split",
             lambda: main(["--model_name_or_path", str(w.ckpt), "--split", "validation", *args])),
        Case("evaluation", "sdvlm-evaluate unknown category",
             lambda: main(["--model_name_or_path", str(w.ckpt), "--categories", "teleportation", *args])),
        Case("evaluation", "sdvlm-evaluate --batch_size -1",
             lambda: main(["--model_name_or_path", str(w.ckpt), "--batch_size", "-1", *args])),
    ]


def config_cases(w: World) -> list[Case]:
    from modeling_sdvlm import SDVLMConfig

    bad = [("depth_convention", "disparity"), ("depth_convention", 1), ("depth_scale", float("nan")), ("depth_scale", 0),
           ("depth_scale", -1.0), ("depth_scale", "1"), ("depth_scale", True), ("depth_pe_base", 1.0),
           ("depth_normalization", "log"), ("depth_estimator", ""), ("use_depth", "yes")]
    # huggingface_hub's @strict type check names the field and the value: clear, though a library's error.
    cases = [Case("config", f"{name}={value!r}", lambda n=name, v=value: SDVLMConfig(**{n: v}),
                  clear=f"Validation error for field '{name}'") for name, value in bad]
    cases.append(Case("config", "from_pretrained override depth_convention='x'",
                      lambda: SDVLMConfig.from_pretrained(w.ckpt, depth_convention="x")))
    return cases


def metric_cases(w: World) -> list[Case]:
    from metrics.msmu_accuracy.scoring import compute_msmu_accuracy

    def score(predictions, references, categories, **kwargs):
        return lambda: compute_msmu_accuracy(predictions=predictions, references=references, categories=categories,
                                             **kwargs)

    def valid(result) -> bool:
        json.dumps(result, allow_nan=False)
        value = result.get("msmu_score")
        return value is None or 0.0 <= value <= 1.0

    def fails(result) -> bool:
        return valid(result) and result["msmu_score"] == 0.0

    dist = ["absolute_distance"]
    return [
        Case("metric", "'thousand ' * 300", score(["thousand " * 300], ["1 m"], dist), "either", fails),
        Case("metric", "'million million ' * 100", score(["million million " * 100], ["1 m"], dist), "either", fails),
        Case("metric", "'1e400 m'", score(["1e400 m"], ["1 m"], dist), "either", fails),
        Case("metric", "reference 'inf m'", score(["1 m"], ["inf m"], dist), "either", valid),
        Case("metric", "reference '-3 m'", score(["3 m"], ["-3 m"], dist), "either", valid),
        Case("metric", "reference '0 m', prediction '0 m'", score(["0 m"], ["0 m"], dist), "either", valid),
        Case("metric", "prediction 'nan m'", score(["nan m"], ["1 m"], dist), "either", fails),
        Case("metric", "prediction Arabic-Indic digits", score(["٣ m"], ["3 m"], dist), "either", valid),
        Case("metric", "prediction 1 MB of digits", score(["9" * 1_000_000 + " m"], ["1 m"], dist), "either", fails),
        Case("metric", "prediction a list", score([["1 m"]], ["1 m"], dist)),
        Case("metric", "prediction an int", score([3], ["3 m"], dist)),
        Case("metric", "lengths differ", score(["1 m", "2 m"], ["1 m"], dist)),
        # Documented: an unknown category is inferred from the reference (a number: quantitative).
        Case("metric", "unknown category", score(["1 m"], ["1 m"], ["teleportation"]), "either",
             lambda result: valid(result) and result["success_rate"] == 1.0),
        Case("metric", "unknown rule", score(["1 m"], ["1 m"], dist, rule="nope")),
        Case("metric", "empty inputs", score([], [], []), "either", valid),
        Case("metric", "reference ''", score(["1 m"], [""], dist), "either", valid),
        Case("metric", "count with '1e20'", score(["1e20"], ["3"], ["count"]), "either", fails),
        Case("metric", "scale 'x' list of 50 elements", score([" x ".join(["1 m"] * 50)], ["1 m x 1 m x 1 m"],
                                                            ["scale_estimation"]), "either", valid),
    ]


def builder_cases(w: World) -> list[Case]:
    from dataset_builders.msmu import build_msmu
    from dataset_builders.msmu.sources.rgbd import Box3D, RGBDFrame, RGBDSource

    out = w.root / "builds"
    small = dict(num_scenes=1, image_size=(64, 48), frames_per_scene=1, qa_per_frame=4, progress=False, verbose=False)

    def build(name, **options):
        return lambda: build_msmu(output_dir=out / name, **{**small, **options})

    def rgbd(frame_change=None, box_change=None, name="rgbd"):
        def run():
            depth = np.full((48, 64), 3.0, np.float32)
            frame = dict(frame_id="0", image=np.zeros((48, 64, 3), np.uint8), depth=depth,
                         intrinsics=np.array([50.0, 50.0, 32.0, 24.0]), pose=np.eye(4))
            box = dict(category="chair", center=np.array([0.0, 0.0, 2.0]), size=np.array([0.5, 0.5, 0.8]), frame_id="0")
            frame.update(frame_change or {})
            box.update(box_change or {})
            source = RGBDSource({"s0": ([RGBDFrame(**frame)], [Box3D(**box)])})
            return build_msmu(source, output_dir=out / name, qa_per_frame=4, progress=False, verbose=False)
        return run

    not_ours = out / "not-a-build"
    not_ours.mkdir(parents=True, exist_ok=True)
    (not_ours / "precious.txt").write_text("keep me")
    return [
        Case("builder", "num_scenes=0", build("n0", num_scenes=0)),
        Case("builder", "num_scenes=-1", build("nneg", num_scenes=-1)),
        Case("builder", "test_fraction=1.5", build("tf", test_fraction=1.5)),
        Case("builder", "image_size=(0, 0)", build("size0", image_size=(0, 0))),
        Case("builder", "qa_per_frame=-1", build("qa", qa_per_frame=-1)),
        Case("builder", "decimals=9", build("dec", decimals=9)),
        Case("builder", "unknown source", build("src", source="nope")),
        Case("builder", "overwrite a folder it did not write",
             lambda: build_msmu(output_dir=not_ours, overwrite=True, **small)),
        Case("builder", "output_dir is a file", lambda: build_msmu(output_dir=not_ours / "precious.txt", **small)),
        Case("builder", "rgbd NaN depth everywhere", rgbd({"depth": np.full((48, 64), np.nan, np.float32)}, name="r1")),
        Case("builder", "rgbd depth shape differs from image", rgbd({"depth": np.full((10, 10), 3.0, np.float32)}, name="r2")),
        Case("builder", "rgbd depth in millimetres", rgbd({"depth": np.full((48, 64), 3000.0, np.float32)}, name="r3")),
        Case("builder", "rgbd NaN box center", rgbd(box_change={"center": np.array([np.nan, 0.0, 2.0])}, name="r4")),
        Case("builder", "rgbd negative box size", rgbd(box_change={"size": np.array([-0.5, 0.5, 0.8])}, name="r5")),
        Case("builder", "rgbd non-rigid pose", rgbd({"pose": np.diag([2.0, 2.0, 2.0, 1.0])}, name="r6")),
        Case("builder", "rgbd zero focal length", rgbd({"intrinsics": np.array([0.0, 0.0, 32.0, 24.0])}, name="r7")),
    ]


def training_cases(w: World) -> list[Case]:
    from datasets import Dataset, DatasetDict, load_dataset
    from datasets import Image as ImageFeature

    from sdvlm.collator import SDVLMDataCollator
    from sdvlm.dataset_checks import validate_training_dataset
    from sdvlm.train import prepare_depth

    rows = load_dataset(str(w.data))["train"]
    raw = rows.cast_column("image", ImageFeature(decode=False)).cast_column("depth", ImageFeature(decode=False))

    def damaged(column, value_of):
        def change(row, index):
            if index == 1:
                row[column] = value_of(row[column])
            return row
        return raw.map(change, with_indices=True).cast_column("image", ImageFeature()).cast_column("depth", ImageFeature())

    def skips_row_1(dataset):
        return lambda: validate_training_dataset(dataset, needs_depth=True)

    def one_row_less(result):
        return len(result) == len(rows) - 1

    png = lambda array: {"bytes": png_bytes(array), "path": None}  # noqa: E731
    conversations = lambda value: rows.map(  # noqa: E731
        lambda row, i: {"conversations": value if i == 1 else row["conversations"]}, with_indices=True)
    bad_conversations = [
        ("conversations empty", []),
        ("conversations one human turn", [{"from": "human", "value": "<image>\nHow far?"}]),
        ("conversations 'system' speaker", [{"from": "system", "value": "x"}, {"from": "gpt", "value": "1 m"}]),
        ("conversations empty answer", [{"from": "human", "value": "<image>\nHow far?"}, {"from": "gpt", "value": " "}]),
        ("conversations gpt first", [{"from": "gpt", "value": "1 m"}, {"from": "human", "value": "x"}]),
        ("conversations <image> in turn 3", [{"from": "human", "value": "x"}, {"from": "gpt", "value": "1 m"},
                                             {"from": "human", "value": "<image> y"}, {"from": "gpt", "value": "2 m"}]),
    ]

    def end_to_end():
        import sdvlm.train as train_module

        bad = damaged("image", lambda image: None)
        original = train_module.load_msmu
        train_module.load_msmu = lambda *args: DatasetDict({"train": bad})
        try:
            script_args, training_args, model_args = train_module.parse_args(
                ["--dataset_name", str(w.data), "--model_name_or_path", str(w.ckpt), "--output_dir",
                 str(w.root / "train"), "--per_device_train_batch_size", "2", "--max_steps", "1", "--use_peft", "false",
                 "--save_strategy", "no", "--disable_tqdm", "true", "--report_to", "none"])[:3]
            return json.loads((train_module.train(script_args, training_args, model_args) / "sdvlm_training.json").read_text())
        finally:
            train_module.load_msmu = original

    from sdvlm.depth_cache import DepthCache

    def collate(example, **kwargs):
        return lambda: SDVLMDataCollator(processor=w.inverse, **kwargs)([example])

    cache = DepthCache(w.root / "cache", estimate_fn=lambda images: [np.ones((3, 3), np.float32) for _ in images])
    short = DepthCache(w.root / "cache2", estimate_fn=lambda images: [])
    cases = [
        Case("training", "collator max_length cutting image tokens", collate(rows[0], max_length=5)),
        Case("training", "collator depth_key missing from the cache",
             collate({**{k: v for k, v in rows[0].items() if k != "depth"}, "depth_key": "ab" * 20}, depth_cache=cache)),
        Case("training", "depth cache: estimate of the wrong shape", lambda: cache.fill([w.image])),
        Case("training", "depth cache: estimator returns no map", lambda: short.fill([w.image])),
        Case("training", "truncated image", skips_row_1(damaged("image", lambda im: {"bytes": im["bytes"][:30], "path": None})),
             "accept", one_row_less),
        Case("training", "null image", skips_row_1(damaged("image", lambda im: None)), "accept", one_row_less),
        Case("training", "image bytes are text", skips_row_1(damaged("image", lambda im: {"bytes": b"hello", "path": None})),
             "accept", one_row_less),
        Case("training", "null depth", skips_row_1(damaged("depth", lambda d: None)), "accept", one_row_less),
        Case("training", "8-bit depth PNG", skips_row_1(damaged("depth", lambda d: png(np.full((32, 32), 9, np.uint8)))),
             "accept", one_row_less),
        Case("training", "all-zero depth", skips_row_1(damaged("depth", lambda d: png(np.zeros((32, 32), np.uint16)))),
             "accept", one_row_less),
        Case("training", "depth 10x10 for a 32x32 image",
             skips_row_1(damaged("depth", lambda d: png(np.full((10, 10), 2000, np.uint16)))), "accept", one_row_less),
        Case("training", "missing image column", lambda: validate_training_dataset(rows.remove_columns("image"), False)),
        Case("training", "missing conversations column",
             lambda: validate_training_dataset(rows.remove_columns("conversations"), False)),
        Case("training", "missing depth column where needed",
             lambda: validate_training_dataset(rows.remove_columns("depth"), True)),
        Case("training", "every row bad", lambda: validate_training_dataset(
            Dataset.from_dict({"image": [None, None], "conversations": [[], []]}), False)),
        Case("training", "--depth_source dataset without a depth column",
             lambda: prepare_depth(rows.remove_columns("depth"), w.inverse, True, "dataset", w.root / "c1")),
        Case("training", "estimate relative depth for a metric model",
             lambda: prepare_depth(rows, w.metric, True, "estimate", w.root / "c2", "metric")),
        Case("training", "collator row with neither depth nor depth_key",
             lambda: SDVLMDataCollator(processor=w.inverse)([{k: v for k, v in rows[0].items() if k != "depth"}])),
        Case("training", "run past a null image", end_to_end, "accept",
             lambda record: record["num_rows"] == len(rows) - 1 and record["global_step"] == 1),
    ]
    cases += [Case("training", name, lambda value=value: validate_training_dataset(conversations(value), False),
                   "accept", one_row_less) for name, value in bad_conversations]
    return cases


def space_cases(w: World) -> list[Case]:
    from sdvlm.space import load_space_module

    load_space_module()
    from space_inputs import check_question, load_depth, load_image
    from space_model import SpaceModel

    image_path = w.file("photo.png", png_bytes(np.zeros((24, 40, 3), np.uint8)))
    depth = lambda name, data: (lambda: load_depth(w.file(name, data), (40, 24)))  # noqa: E731
    header_bomb = b"\x93NUMPY\x01\x00v\x00{'descr': '<f4', 'fortran_order': False, 'shape': (100000, 100000), }"
    header_bomb += b" " * (127 - len(header_bomb)) + b"\n"
    space_metric = SpaceModel(w.metric_model, w.metric, max_new_tokens=2)
    space_config = load_space_module().SpaceConfig
    apps = []

    def app():
        """The Space's page handlers over the test suite's tiny assets (built on first use)."""
        if not apps:
            from test_space import build_space_assets, make_app

            apps.append(make_app(build_space_assets(w.root / "space"), num_examples=0))
        return apps[0]

    space_inverse = SpaceModel(w.inverse_model, w.inverse, max_new_tokens=2)
    return [
        Case("space", "image path missing", lambda: load_image(w.root / "nothing.png")),
        Case("space", "image is a text file", lambda: load_image(w.file("notes.png", b"just text"))),
        Case("space", "image zero bytes", lambda: load_image(w.file("empty.png", b""))),
        Case("space", "image truncated PNG",
             lambda: load_image(w.file("cut.png", png_bytes(np.random.default_rng(0).integers(0, 255, (64, 64, 3), np.uint8))[:300]))),
        Case("space", "image 5000x5000 over the pixel limit",
             lambda: load_image(w.file("big.png", png_bytes(np.zeros((5000, 5000), np.uint8))))),
        Case("space", "depth .txt", depth("d.txt", b"1 2 3")),
        Case("space", "depth .npy pickled object", depth("d1.npy", npy_bytes(np.array([{"a": 1}], dtype=object)))),
        Case("space", "depth .npy header (100000, 100000)", depth("d2.npy", header_bomb)),
        Case("space", "depth .npy 3-D", depth("d3.npy", npy_bytes(np.ones((24, 40, 3), np.float32)))),
        Case("space", "depth .npy strings", depth("d4.npy", npy_bytes(np.full((24, 40), "a")))),
        Case("space", "depth .npy float64 1e39", depth("d5.npy", npy_bytes(np.full((24, 40), 1e39)))),
        Case("space", "depth .npy negative", depth("d6.npy", npy_bytes(np.full((24, 40), -1.0, np.float32)))),
        Case("space", "depth .npy all zero", depth("d7.npy", npy_bytes(np.zeros((24, 40), np.float32)))),
        Case("space", "depth .npy wrong shape", depth("d8.npy", npy_bytes(np.ones((10, 10), np.float32)))),
        Case("space", "depth 8-bit PNG", depth("d9.png", png_bytes(np.full((24, 40), 9, np.uint8)))),
        Case("space", "depth RGB PNG", depth("d10.png", png_bytes(np.zeros((24, 40, 3), np.uint8)))),
        Case("space", "depth 16-bit PNG whose header claims 30000x30000",
             lambda: load_depth(w.file("d11.png", png_bomb(30000, 30000)), (40, 24))),
        Case("space", "depth 16-bit PNG 300x300 for a 40x24 image",
             lambda: load_depth(w.file("d13.png", png_bytes(np.full((300, 300), 2000, np.uint16))), (40, 24))),
        Case("space", "question None", lambda: check_question(None)),
        Case("space", "question 10k characters", lambda: check_question("x" * 10_000)),
        Case("space", "metric model asked to estimate with a relative estimator",
             lambda: space_metric.answer(load_image(image_path), "How far is the chair?")),
        Case("space", "npy 3e38 depth answered", lambda: space_inverse.answer(
            load_image(image_path), "How far is the chair?", load_depth(w.file("d12.npy", npy_bytes(
                np.full((24, 40), 3e38, np.float32))), (40, 24)))),
        Case("space", "inverse model, uploaded meters", lambda: space_inverse.answer(
            load_image(image_path), "How far is the chair?", np.full((24, 40), 2.0, np.float32)), "accept",
             lambda answer: isinstance(answer, str)),
        Case("space", "convention shown", lambda: space_metric.convention_note, "accept", lambda note: "metric" in note),
        Case("space", "load a missing checkpoint folder", lambda: SpaceModel.load(str(w.root / "no-model"))),
        Case("space", "SpaceConfig max_new_tokens=0", lambda: space_config(max_new_tokens=0)),
        Case("space", "page: ask without an image", lambda: app().ask(None, None, "How far?", "", "")),
        Case("space", "page: ask with an empty question", lambda: app().ask(image_path, None, "   ", "", "")),
        Case("space", "page: compare with a pickled .npy", lambda: app().compare(
            image_path, w.file("p.npy", npy_bytes(np.array([{"a": 1}], dtype=object))), "How far is the chair?")),
        Case("space", "page: answer with a 3e38 .npy", lambda: app().answer(
            image_path, w.file("big.npy", npy_bytes(np.full((24, 40), 3e38, np.float32))), "How far is the chair?")),
        Case("space", "page: answer with meters", lambda: app().answer(
            image_path, w.file("ok.npy", npy_bytes(np.full((24, 40), 2.0, np.float32))), "How far is the chair?"),
             "accept", lambda answer: isinstance(answer, str)),
    ]


AREAS = {"processor": processor_cases, "model": model_cases, "families": family_cases, "config": config_cases,
         "evaluation": evaluation_cases, "metric": metric_cases,
         "builder": builder_cases, "training": training_cases, "space": space_cases}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default=",".join(AREAS), help="comma-separated areas")
    parser.add_argument("-v", "--verbose", action="store_true", help="one line per case")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    import logging
    import warnings

    logging.disable(logging.WARNING)
    warnings.filterwarnings("ignore")
    counts = {"ok": 0, "crash": 0, "silent": 0}
    with tempfile.TemporaryDirectory() as root:
        world = World(Path(root))
        for area in args.only.split(","):
            for case in AREAS[area](world):
                verdict, detail = judge(case)
                counts[verdict] += 1
                if args.verbose or verdict != "ok":
                    print(f"{verdict.upper():6} {case.area:9} {case.name}: {detail}", flush=True)
    print(f"cases={sum(counts.values())} crashes={counts['crash']} silent_wrong={counts['silent']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
