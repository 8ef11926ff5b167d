"""The authors' released MSMU parquet -> the same folder layout as the other sources (no depth).

The released files have columns `image_base64`, `image_size`, `image_mode`, `conversations` (a list
of {"from": "human" | "gpt", "value": str}) and, in the test file, `type` (the MSMU-Bench category).
`image_base64` holds either an encoded image file (PNG / JPEG ...) or the raw pixel buffer that
`image_size` (width, height) and `image_mode` describe; both are read. Each human/gpt pair becomes
one row; `answer_value` comes from the metric's own parser, so the numbers the dataset stores are
the numbers the metric would read.
"""

import base64
import binascii
import io
import logging
import re
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
from PIL import Image, UnidentifiedImageError
from tqdm.auto import tqdm

from metrics.msmu_accuracy.categories import canonical_category

from ..conventions import CATEGORY_NAMES, IMAGE_TOKEN, QUANTITATIVE
from ..features import msmu_features
from ..stats import BuildStats
from ..writer import DatasetFolderWriter, encode_png, render_card

logger = logging.getLogger(__name__)
REQUIRED_COLUMNS = ("image_base64", "image_size", "image_mode", "conversations")


def find_released_files(data_dir) -> dict[str, Path]:
    """split -> parquet file: `train.parquet` / `test.parquet`, or the only file whose name
    contains "train" / "test"."""
    if data_dir is None:
        raise ValueError("the released source needs data_dir (--data-dir DIR with the authors' parquet files)")
    root = Path(data_dir)
    if not root.is_dir():
        raise FileNotFoundError(f"released data folder not found: {root}")
    files = {}
    for split in ("train", "test"):
        exact = root / f"{split}.parquet"
        matches = [exact] if exact.is_file() else sorted(p for p in root.glob("*.parquet") if split in p.stem.lower())
        if len(matches) > 1:
            raise ValueError(f"several {split} parquet files in {root}: {[m.name for m in matches]}")
        if matches:
            files[split] = matches[0]
    if not files:
        raise FileNotFoundError(f"no train/test parquet files in {root}")
    return files


def _image_size(value, where: str) -> tuple[int, int]:
    if isinstance(value, str):
        numbers = [int(n) for n in re.findall(r"\d+", value)]
    else:
        numbers = [int(n) for n in value]
    if len(numbers) != 2 or min(numbers) <= 0:
        raise ValueError(f"{where}: image_size must be (width, height), got {value!r}")
    return numbers[0], numbers[1]


def decode_image(image_base64: str, image_size, image_mode: str, where: str) -> bytes:
    """Image file bytes (PNG unless the source already was an encoded file) for one row."""
    try:
        data = base64.b64decode(image_base64, validate=True)
    except (binascii.Error, ValueError, TypeError) as err:
        raise ValueError(f"{where}: image_base64 is not valid base64 ({err})") from None
    size = _image_size(image_size, where)
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.verify()
        return data
    except (UnidentifiedImageError, OSError, SyntaxError):
        pass  # not an encoded file: a raw pixel buffer
    try:
        image = Image.frombytes(str(image_mode), size, data)
    except ValueError as err:
        raise ValueError(
            f"{where}: image_base64 is neither an image file nor a raw {image_mode} buffer of size {size} "
            f"({len(data)} bytes; {err})"
        ) from None
    return encode_png(np.asarray(image.convert("RGB")))


def split_conversation(conversations, where: str) -> list[tuple[str, str]]:
    """[(question, answer)] from a LLaVA conversation; the image token is removed from questions."""
    pairs, question = [], None
    for turn in conversations:
        speaker, value = turn.get("from"), turn.get("value")
        if not isinstance(value, str):
            raise ValueError(f"{where}: conversation turn without a text value: {turn!r}")
        if speaker == "human":
            question = value.replace(IMAGE_TOKEN, "").strip()
        elif speaker == "gpt":
            if question is None:
                raise ValueError(f"{where}: gpt turn without a preceding human turn")
            pairs.append((question, value.strip()))
            question = None
        else:
            raise ValueError(f"{where}: unknown speaker {speaker!r} (expected 'human' or 'gpt')")
    if not pairs:
        raise ValueError(f"{where}: conversation has no human/gpt pair")
    return pairs


def answer_values(answer: str, category: str | None) -> list[float] | None:
    """Numbers of a quantitative (or unlabelled) answer via the metric's parser; [] for
    qualitative categories; None when a quantitative answer cannot be parsed."""
    if category is not None and category not in QUANTITATIVE:
        return []
    from metrics.msmu_accuracy.parsing import parse_answer

    parsed = parse_answer(answer)
    if parsed is None:
        return None if category is not None else []
    return [float(v) for v in parsed.values]


def released_rows(path: Path, split: str, stats: BuildStats, progress: bool = True):
    """Yield dataset rows from one released parquet file."""
    parquet = pq.ParquetFile(path)
    names = parquet.schema_arrow.names
    missing = [c for c in REQUIRED_COLUMNS if c not in names]
    if missing:
        raise ValueError(f"{path}: missing column(s) {missing}; found {names}")
    columns = list(REQUIRED_COLUMNS) + (["type"] if "type" in names else [])
    index = 0
    bar = tqdm(total=parquet.metadata.num_rows, desc=f"released {split}", unit="row", disable=not progress)
    for batch in parquet.iter_batches(batch_size=256, columns=columns):
        for record in batch.to_pylist():
            where = f"{path.name} row {index}"
            # The authors' two evaluation scripts name two types differently (grounding, existence).
            category = canonical_category(record.get("type"))
            if category is not None and category not in CATEGORY_NAMES:
                raise ValueError(f"{where}: unknown type {category!r}; expected one of {CATEGORY_NAMES}")
            image = {"bytes": decode_image(record["image_base64"], record["image_size"], record["image_mode"], where), "path": None}
            for turn, (question, answer) in enumerate(split_conversation(record["conversations"], where)):
                values = answer_values(answer, category)
                if values is None:
                    stats.unparsed += 1
                    logger.warning("%s: could not parse a number from the %s answer %r", where, category, answer)
                    values = []
                yield {
                    "image": image,
                    "intrinsics": [],
                    "question": question,
                    "answer": answer,
                    # -1 is `datasets`' "no label": the released train file has no `type`.
                    "category": category if category is not None else -1,
                    "question_kind": "",  # the released files do not say what a question asks within its type
                    "answer_value": values,
                    "objects": [],
                    "question_objects": [],
                    "scene_id": f"released-{split}-{index:07d}",
                    "frame_id": str(turn),
                    "conversations": [
                        {"from": "human", "value": f"{IMAGE_TOKEN}\n{question}"},
                        {"from": "gpt", "value": answer},
                    ],
                }
            index += 1
            bar.update(1)
    bar.close()


def build_released(config) -> Path:
    """Convert the authors' parquet files in `config.data_dir` into an MSMU folder at
    `config.output_dir` (a `BuildConfig`; only its data_dir, output_dir, overwrite, progress,
    verbose and max_shard_bytes apply)."""
    import json

    files = find_released_files(config.data_dir)
    stats = BuildStats()
    features = msmu_features(with_depth=False)
    with DatasetFolderWriter(config.output_dir, features, config.overwrite, config.max_shard_bytes) as writer:
        for split, path in files.items():
            writer.add_stream(split, released_rows(path, split, stats, config.progress), on_chunk=stats.add_rows)
        recorded = config.for_card(source="released")
        settings = f"files: {', '.join(f'{s}={p.name}' for s, p in files.items())}"
        card = render_card("released", recorded.command(), settings, stats, json.dumps(recorded.to_dict(), indent=2))
        out = writer.finalize(card)
    if config.verbose:
        print(f"MSMU (released) written to {out}\n{stats.markdown()}")
    return out


__all__ = ["find_released_files", "decode_image", "split_conversation", "answer_values", "released_rows", "build_released"]
