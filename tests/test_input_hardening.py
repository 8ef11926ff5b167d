"""Issue 15, the model/processor/training part: every bad input a clear error naming it, nothing silently
wrong (8-bit depth, integer or implausible depth_values, bfloat16 depth, grey/RGBA numpy images, offline
estimators, right padding), and a training set checked before the first step so one bad row never stops a run."""

import io
import json
import logging

import numpy as np
import pytest
import torch
from datasets import DatasetDict, load_dataset
from datasets import Image as ImageFeature
from PIL import Image

from modeling_sdvlm.depth_inputs import DepthEstimatorUnavailable
from modeling_sdvlm.tiny import build_tiny_model, build_tiny_processor
from sdvlm.dataset_checks import validate_training_dataset
from sdvlm.testing import write_tiny_checkpoint, write_tiny_msmu

PROMPT = "USER: <image>\nHow far is the chair? ASSISTANT:"


@pytest.fixture(scope="module")
def pair():
    processor = build_tiny_processor(texts=["How far is the chair? 1 2 3 m"], image_size=32, patch_size=8)
    return processor, build_tiny_model(processor)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("hardening")
    data = write_tiny_msmu(root / "msmu", num_train_frames=4, num_test_frames=3)
    return data, write_tiny_checkpoint(root / "model", data)


def call(processor, depth, image=None, **kwargs):
    image = image if image is not None else Image.new("RGB", (40, 24), (90, 30, 120))
    return processor(images=[image], text=[PROMPT], depth=[depth], return_tensors="pt", **kwargs)


def test_8bit_pil_depth_is_refused_with_a_hint(pair):
    grey = Image.fromarray(np.full((24, 40), 96, np.uint8))  # would read as 0.096 m
    with pytest.raises(ValueError, match="depth map 0 is a PIL image of mode 'L'.*16-bit PNG in millimetres"):
        call(pair[0], grey)


def test_integer_depth_values_are_refused_by_the_model(pair):
    processor, model = pair
    inputs = call(processor, np.full((24, 40), 2.0, np.float32))
    inputs["depth_values"] = torch.full_like(inputs["depth_values"], 2000).to(torch.int32)
    with pytest.raises(ValueError, match="depth_values has dtype torch.int32; the model takes float depth"):
        model(**inputs)
    assert "float" in type(model.model).get_image_features.__doc__ and "Integer tensors" in (
        type(model.model).get_image_features.__doc__)


@pytest.mark.parametrize("family", ["qwen2_5_vl", "llava_onevision"])
def test_other_families_refuse_integer_depth_values_and_convert_meters(family):
    processor = build_tiny_processor(texts=["How far is the chair?"], family=family)
    model = build_tiny_model(processor)
    messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "How far is the chair?"}]}]
    prompt = processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    inputs = processor(images=[Image.new("RGB", (40, 24))], text=[prompt], depth=[np.full((24, 40), 2.0, np.float32)],
                       return_tensors="pt")
    assert processor.depth_convention == model.config.depth_convention == "inverse"
    assert float(inputs["depth_values"].max()) == pytest.approx(0.5)  # 2 m -> 1 / 2
    depth_values = inputs["depth_values"]
    inputs["depth_values"] = (depth_values * 1000).to(torch.int32)
    with pytest.raises(ValueError, match="torch.int32"):
        model(**inputs)
    inputs["depth_values"] = torch.where(depth_values > 0, 1e38, 0.0)  # would swamp the min-max scale
    with pytest.raises(ValueError, match=r"depth_values reach 1e\+38, above the plausible"):
        model(**inputs)


def test_implausible_depth_is_bounded_not_nan(pair):
    processor, model = pair
    with pytest.raises(ValueError, match=r"depth map 0 has metric depth from .* to 3e\+38 m, outside the plausible"):
        call(processor, np.full((24, 40), 3e38, np.float32))
    with pytest.raises(ValueError, match="beyond float32's range"):
        call(processor, np.full((24, 40), 1e39, np.float64))
    inputs = call(processor, np.full((24, 40), 2.0, np.float32))
    inputs["depth_values"] = torch.where(inputs["depth_values"] > 0, 1e38, 0.0)
    with pytest.raises(ValueError, match=r"depth_values reach 1e\+38, above the plausible"):
        model(**inputs)
    with torch.no_grad():
        assert torch.isfinite(model(**call(processor, np.full((24, 40), 9000.0, np.float32))).logits).all()


def test_bfloat16_and_float16_torch_depth(pair):
    processor, _ = pair
    depth = torch.linspace(0.5, 6.0, 24 * 40).reshape(24, 40)
    reference = call(processor, depth)["depth_values"]
    for dtype in (torch.bfloat16, torch.float16):
        out = call(processor, depth.to(dtype))["depth_values"]
        torch.testing.assert_close(out, call(processor, depth.to(dtype).float())["depth_values"], rtol=0, atol=0)
        torch.testing.assert_close(out, reference, rtol=0.02, atol=0)


def test_numpy_grey_and_rgba_images(pair):
    processor, _ = pair
    rng = np.random.default_rng(0)
    grey = rng.integers(0, 255, (24, 40), dtype=np.uint8)
    rgba = rng.integers(0, 255, (24, 40, 4), dtype=np.uint8)
    depth = np.full((24, 40), 2.0, np.float32)
    for array, pil in ((grey, Image.fromarray(grey).convert("RGB")), (rgba, Image.fromarray(rgba).convert("RGB"))):
        out = call(processor, depth, image=array)
        torch.testing.assert_close(out["pixel_values"], call(processor, depth, image=pil)["pixel_values"])
    with pytest.raises(ValueError, match=r"image 0 has shape \(24, 40, 2\); expected"):
        call(processor, depth, image=rng.integers(0, 255, (24, 40, 2), dtype=np.uint8))
    with pytest.raises(ValueError, match="image 0 has non-finite"):
        call(processor, depth, image=np.full((24, 40, 3), np.nan, np.float32))
    with pytest.raises(ValueError, match="image 1 has dtype <U1"):
        processor(images=[grey, np.array([["a"]])], text=[PROMPT, PROMPT], padding=True)


def test_offline_estimator_names_itself_and_the_ways_out(pair, tmp_path):
    estimating = build_tiny_processor(texts=["How far"], image_size=32, patch_size=8, estimate_missing_depth=True,
                                      depth_estimator=str(tmp_path))  # a folder without a depth model
    with pytest.raises(DepthEstimatorUnavailable, match=rf"depth estimator '{tmp_path}' could not be loaded") as error:
        estimating(images=[Image.new("RGB", (8, 8))], text=[PROMPT])
    message = str(error.value)
    assert "depth=" in message and "local depth_estimator" in message and "estimate_missing_depth=False" in message


def test_offline_estimator_in_training_says_what_to_pass(tiny):
    from sdvlm.train import prepare_depth

    data, ckpt = tiny
    from modeling_sdvlm import SDVLMProcessor

    processor = SDVLMProcessor.from_pretrained(ckpt)
    processor.depth_estimator = str(data)  # a folder that holds no depth model
    rows = load_dataset(str(data))["train"]
    with pytest.raises(DepthEstimatorUnavailable, match="--depth_source dataset.*--use_depth false"):
        prepare_depth(rows, processor, True, "estimate", data / "cache", "inverse")


def test_batched_generation_equals_one_at_a_time(tiny):
    from sdvlm.evaluation import generate_answers, load_for_inference

    data, ckpt = tiny
    model, processor = load_for_inference(ckpt)
    test = load_dataset(str(data))["test"]
    # Varied prompt lengths, so the batch really is padded.
    assert len({len(question) for question in test["question"]}) > 1
    kwargs = dict(max_new_tokens=6, progress=False)
    batched = generate_answers(model, processor, test, batch_size=len(test), **kwargs)
    alone = generate_answers(model, processor, test, batch_size=1, **kwargs)
    assert batched == alone and any(batched)


def test_right_padded_generate_is_refused(pair):
    processor, model = pair
    images = [Image.new("RGB", (32, 32)), Image.new("RGB", (32, 32))]
    prompts = [PROMPT, "USER: <image>\nHow far is the chair? 1 2 3 ASSISTANT:"]
    left = processor(images=images, text=prompts, padding=True, return_tensors="pt")
    assert (left["attention_mask"][:, -1] == 1).all()  # batched text is left-padded by default
    right = processor(images=images, text=prompts, padding=True, padding_side="right", return_tensors="pt")
    with pytest.raises(ValueError, match="batch row 0 ends in padding.*padding_side='left'"):
        model.generate(**right, max_new_tokens=2)


# --- the training set is checked before training ---------------------------------------------------


def damaged_split(data):
    """The tiny train split with row 1's image truncated, row 2's image null and row 3's depth missing."""
    rows = load_dataset(str(data))["train"].cast_column("image", ImageFeature(decode=False))
    rows = rows.cast_column("depth", ImageFeature(decode=False))

    def damage(row, index):
        if index == 1:
            row["image"] = {"bytes": row["image"]["bytes"][: len(row["image"]["bytes"]) // 2], "path": None}
        if index == 2:
            row["image"] = None
        if index == 3:
            row["depth"] = None
        return row

    rows = rows.map(damage, with_indices=True)
    return rows.cast_column("image", ImageFeature()).cast_column("depth", ImageFeature())


def test_bad_rows_are_named_by_row_and_scene_and_skipped(tiny, caplog):
    data, _ = tiny
    rows = damaged_split(data)
    scenes = rows["scene_id"]
    with caplog.at_level(logging.WARNING, logger="sdvlm.dataset_checks"):
        kept = validate_training_dataset(rows, needs_depth=True)
    assert len(kept) == len(rows) - 3
    assert f"row 1 (scene {scenes[1]}): image cannot be decoded" in caplog.text
    assert f"row 2 (scene {scenes[2]}): image is null" in caplog.text
    assert f"row 3 (scene {scenes[3]}): depth is null" in caplog.text
    with pytest.raises(ValueError, match="invalid rows.*row 1 .*row 2 .*row 3 "):
        validate_training_dataset(rows, needs_depth=True, invalid_rows="error")
    # Without depth the row with no depth is fine.
    assert len(validate_training_dataset(rows, needs_depth=False)) == len(rows) - 2


def test_missing_columns_and_bad_conversations(tiny):
    data, _ = tiny
    rows = load_dataset(str(data))["train"]
    for column in ("image", "conversations"):
        with pytest.raises(ValueError, match=f"the training dataset has no '{column}' column"):
            validate_training_dataset(rows.remove_columns(column), needs_depth=False)
    with pytest.raises(ValueError, match="no 'depth' column"):
        validate_training_dataset(rows.remove_columns("depth"), needs_depth=True)
    broken = rows.map(lambda row, i: {"conversations": row["conversations"][:1] if i == 0 else row["conversations"]},
                      with_indices=True)
    with pytest.raises(ValueError, match="row 0 .*does not end with an assistant"):
        validate_training_dataset(broken, needs_depth=False, invalid_rows="error")
    empty = rows.map(lambda row, i: {"conversations": [row["conversations"][0], {"from": "gpt", "value": " "}]
                                      if i == 0 else row["conversations"]}, with_indices=True)
    with pytest.raises(ValueError, match="row 0 .*turn 1 is an empty answer"):
        validate_training_dataset(empty, needs_depth=False, invalid_rows="error")


def test_training_runs_past_bad_rows(tiny, tmp_path, monkeypatch):
    import sdvlm.train as train_module

    data, ckpt = tiny
    monkeypatch.setattr(train_module, "load_msmu", lambda *args: DatasetDict({"train": damaged_split(data)}))
    script_args, training_args, model_args = train_module.parse_args(
        ["--dataset_name", str(data), "--model_name_or_path", str(ckpt), "--output_dir", str(tmp_path / "out"),
         "--per_device_train_batch_size", "4", "--max_steps", "1", "--use_peft", "false", "--save_strategy", "no",
         "--disable_tqdm", "true", "--report_to", "none"])[:3]
    out = train_module.train(script_args, training_args, model_args)
    record = json.loads((out / "sdvlm_training.json").read_text())
    assert record["num_rows"] == len(damaged_split(data)) - 3 and record["global_step"] == 1
    assert record["depth_convention"] == "inverse"


def test_corrupt_bytes_decode_check_is_real():
    """The check decodes pixels: a header-valid but truncated PNG is caught (PIL's open alone accepts it)."""
    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(buffer, "PNG")
    truncated = buffer.getvalue()[:400]
    Image.open(io.BytesIO(truncated))  # opens fine
    from sdvlm.dataset_checks import _decode

    with pytest.raises(ValueError, match="image cannot be decoded"):
        _decode({"bytes": truncated, "path": None}, "image")
    # Whatever a library set for the whole process (lmms-eval turns LOAD_TRUNCATED_IMAGES on at import).
    from PIL import ImageFile

    monkeypatched = ImageFile.LOAD_TRUNCATED_IMAGES
    ImageFile.LOAD_TRUNCATED_IMAGES = True
    try:
        with pytest.raises(ValueError, match="image cannot be decoded"):
            _decode({"bytes": truncated, "path": None}, "image")
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = monkeypatched


def test_evaluation_arguments_are_checked(tiny, tmp_path):
    from sdvlm.evaluation import EvalArguments, generate_answers, load_for_inference, main

    data, ckpt = tiny
    test = load_dataset(str(data))["test"]
    model, processor = load_for_inference(ckpt)
    with pytest.raises(ValueError, match="batch_size must be an integer >= 1, got 0"):
        generate_answers(model, processor, test, batch_size=0, progress=False)
    with pytest.raises(ValueError, match="max_new_tokens must be an integer >= 1, got -1"):
        EvalArguments(model_name_or_path=str(ckpt), dataset_name=str(data), max_new_tokens=-1)
    with pytest.raises(FileNotFoundError, match="no checkpoint folder at"):
        load_for_inference(tmp_path / "nothing")
    with pytest.raises(ValueError, match="has no split 'validation' \\(it has train, test\\)"):
        main(["--model_name_or_path", str(ckpt), "--dataset_name", str(data), "--split", "validation"])


def test_depth_kind_none_and_empty_depth_are_named(pair):
    with pytest.raises(ValueError, match="depth_kind of depth map 0 must be one of"):
        call(pair[0], np.full((24, 40), 2.0, np.float32), depth_kind=None)
    with pytest.raises(ValueError, match="depth map 0 is empty"):
        call(pair[0], np.zeros((0, 0), np.float32))
