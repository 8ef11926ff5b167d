"""The released source: the authors' parquet layout -> an MSMU folder, with the metric's parser."""

import base64
import io

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

from dataset_builders.msmu import build_msmu
from dataset_builders.msmu.sources.released import decode_image, split_conversation

RNG = np.random.default_rng(0)


def _png_b64(array):
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()


def _raw_b64(array):
    return base64.b64encode(Image.fromarray(array).tobytes()).decode()


def _image(width, height):
    return RNG.integers(0, 256, (height, width, 3), dtype=np.uint8)


def _turns(*pairs, image_first=True):
    out = []
    for i, (q, a) in enumerate(pairs):
        out.append({"from": "human", "value": (f"<image>\n{q}" if i == 0 and image_first else q)})
        out.append({"from": "gpt", "value": a})
    return out


def write_released(folder, test_rows, train_rows):
    """Parquet files in the authors' layout: image_base64, image_size, image_mode, conversations
    (+ type in test)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, rows in (("test", test_rows), ("train", train_rows)):
        columns = {
            "image_base64": [r["image_base64"] for r in rows],
            "image_size": [r["image_size"] for r in rows],
            "image_mode": [r["image_mode"] for r in rows],
            "conversations": [r["conversations"] for r in rows],
        }
        if name == "test":
            columns["type"] = [r["type"] for r in rows]
        pq.write_table(pa.table(columns), folder / f"{name}.parquet")
    return folder


@pytest.fixture()
def released(tmp_path):
    a, b, c = _image(40, 30), _image(24, 24), _image(16, 12)
    test_rows = [
        {"image_base64": _png_b64(a), "image_size": [40, 30], "image_mode": "RGB", "type": "scale_estimation",
         "conversations": _turns(("What is the size of the dark pillow?", "0.8 m x 0.63 m x 0.55 m"))},
        {"image_base64": _raw_b64(b), "image_size": [24, 24], "image_mode": "RGB", "type": "absolute_distance",
         "conversations": _turns(("How far is the chair from the table?", "It is about 150 cm."))},
        {"image_base64": _png_b64(c), "image_size": [16, 12], "image_mode": "RGB", "type": "scale_compare",
         "conversations": _turns(("Between the wooden table and the black chair, which one is taller?", "The black chair."))},
        {"image_base64": _png_b64(c), "image_size": [16, 12], "image_mode": "RGB", "type": "count",
         "conversations": _turns(("What's the total number of chairs?", "3"))},
    ]  # fmt: skip
    train_rows = [
        {"image_base64": _raw_b64(a), "image_size": [40, 30], "image_mode": "RGB",
         "conversations": _turns(("How tall is the lamp?", "1.2 m"), ("Is there a sofa?", "No."))},
    ]  # fmt: skip
    write_released(tmp_path / "released", test_rows, train_rows)
    return tmp_path, (a, b, c)


def test_released_parquet_becomes_an_msmu_folder(released):
    import datasets

    root, (a, b, _) = released
    out = build_msmu("released", root / "msmu", data_dir=root / "released", progress=False, verbose=False)
    ds = datasets.load_dataset(str(out), cache_dir=str(root / "cache"))
    assert "depth" not in ds["test"].features
    test, train = ds["test"], ds["train"]
    names = test.features["category"].names
    assert [names[c] for c in test["category"]] == ["scale_estimation", "absolute_distance", "scale_compare", "count"]
    assert test["question"][0] == "What is the size of the dark pillow?"
    assert test["answer_value"][0] == pytest.approx([0.8, 0.63, 0.55])
    assert test["answer_value"][1] == pytest.approx([1.5])  # 150 cm, by the metric's parser
    assert test["answer_value"][2] == [] and test["answer_value"][3] == [3.0]
    assert np.array_equal(np.asarray(test[0]["image"]), a) and np.array_equal(np.asarray(test[1]["image"]), b)
    # The train file has no `type`: one row per human/gpt pair, category -1 (no label).
    assert train["question"] == ["How tall is the lamp?", "Is there a sofa?"]
    assert train["category"] == [-1, -1] and train["answer_value"] == [[pytest.approx(1.2)], []]
    assert np.array_equal(np.asarray(train[1]["image"]), a)
    assert train[0]["conversations"] == [{"from": "human", "value": "<image>\nHow tall is the lamp?"},
                                         {"from": "gpt", "value": "1.2 m"}]  # fmt: skip


def _one_row_folder(root, **override):
    row = {"image_base64": _png_b64(_image(8, 8)), "image_size": [8, 8], "image_mode": "RGB", "type": "count",
           "conversations": _turns(("How many chairs?", "2"))}  # fmt: skip
    row.update(override)
    return write_released(root / "bad", [row, row], [row])


@pytest.mark.parametrize(
    "override, message",
    [
        ({"image_base64": "%%%not base64"}, r"train\.parquet row 0: image_base64 is not valid base64"),
        ({"image_base64": base64.b64encode(b"abc").decode()}, r"row 0: image_base64 is neither an image file nor a raw RGB buffer"),
        ({"type": "distance"}, r"row 0: unknown type 'distance'"),
        ({"image_size": [8]}, r"row 0: image_size must be \(width, height\)"),
        ({"conversations": [{"from": "gpt", "value": "2"}]}, r"row 0: gpt turn without a preceding human turn"),
    ],
)
def test_bad_rows_name_the_file_and_row(tmp_path, override, message):
    folder = _one_row_folder(tmp_path, **override)
    with pytest.raises(ValueError, match=message):
        build_msmu("released", tmp_path / "out", data_dir=folder, progress=False, verbose=False)
    assert not (tmp_path / "out").exists()


def test_missing_columns_and_folders(tmp_path):
    (tmp_path / "r").mkdir()
    pq.write_table(pa.table({"image": ["x"]}), tmp_path / "r" / "test.parquet")
    with pytest.raises(ValueError, match=r"missing column\(s\) \['image_base64'"):
        build_msmu("released", tmp_path / "out", data_dir=tmp_path / "r", progress=False, verbose=False)
    with pytest.raises(FileNotFoundError, match="no train/test parquet"):
        build_msmu("released", tmp_path / "out", data_dir=tmp_path, progress=False, verbose=False)


def test_helpers_on_their_own():
    image = _image(5, 4)
    assert Image.open(io.BytesIO(decode_image(_raw_b64(image), "(5, 4)", "RGB", "x"))).size == (5, 4)
    pairs = split_conversation(_turns(("Q1?", " A1 "), ("Q2?", "A2"), image_first=False), "x")
    assert pairs == [("Q1?", "A1"), ("Q2?", "A2")]
    assert split_conversation([{"from": "human", "value": "How far?\n<image>"}, {"from": "gpt", "value": "1 m"}], "x") == [
        ("How far?", "1 m")
    ]


def test_the_other_type_naming_of_the_authors_scripts_is_accepted(tmp_path):
    from datasets import load_dataset

    image = _png_b64(_image(8, 8))
    rows = [
        {"image_base64": image, "image_size": [8, 8], "image_mode": "RGB", "type": "grounding",
         "conversations": _turns(("How far in front of the camera is the lamp?", "1.5 m"))},
        {"image_base64": image, "image_size": [8, 8], "image_mode": "RGB", "type": "existence",
         "conversations": _turns(("Is there a lamp?", "Yes"))},
    ]  # fmt: skip
    folder = write_released(tmp_path / "r", rows, rows)
    out = build_msmu("released", tmp_path / "out", data_dir=folder, progress=False, verbose=False)
    test = load_dataset(str(out), split="test", cache_dir=str(tmp_path / "cache"))
    names = test.features["category"].names
    assert [names[c] for c in test["category"]] == ["position", "zero"]
    assert test["answer_value"] == [[1.5], []]
