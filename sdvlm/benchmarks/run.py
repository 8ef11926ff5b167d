"""`sdvlm-evaluate --benchmark NAME`: load a benchmark's rows, answer them, score them officially.

    sdvlm-evaluate --benchmark qspatial_plus --model_name_or_path CKPT --dataset_name andrewliao11/Q-Spatial-Bench
    sdvlm-evaluate --benchmark qspatial_scannet --model_name_or_path CKPT --dataset_name DIR --scannet_root SCANNET
    sdvlm-evaluate --benchmark spatialrgpt --model_name_or_path CKPT --dataset_name SpatialRGPT-Bench_v1.json --image_folder OMNI3D
    sdvlm-evaluate --benchmark vsibench --model_name_or_path CKPT --dataset_name VSI_DIR [--video_root DIR] [--num_frames 4]
    sdvlm-evaluate --benchmark msmu --model_name_or_path CKPT --dataset_name MSMU_DIR

`--dataset_name` is a local folder/file (read offline) or a Hub id. Image benchmarks go through
`sdvlm.evaluation.generate_answers` (depth: the dataset's, else estimated once and cached);
VSI-Bench samples frames per video and estimates depth per frame (cached by frame). Writes
`results.json` (scores, options, one record per item), `per_category.png`, prints the
benchmark's table and adds `model-index` entries (dataset type = the benchmark's Hub id).
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from modeling_sdvlm.depth_inputs import check_depth_kind

from ..depth_cache import DepthCache, estimator_id
from ..model_card import update_model_index
from ..model_inputs import question_inputs
from ..report import format_table, plot_per_category
from . import get_benchmark
from .base import skip_row
from .video import sample_frames

logger = logging.getLogger(__name__)


@dataclass
class BenchmarkArguments:
    benchmark: str | None = field(default=None, metadata={
        "help": "Evaluate on a spatial benchmark instead of an MSMU folder's split.",
        "choices": ["msmu", "qspatial_plus", "qspatial_scannet", "spatialrgpt", "vsibench"]})
    scannet_root: str | None = field(default=None, metadata={"help": "QSpatial_scannet: folder with the ScanNet frames."})
    image_folder: str | None = field(default=None, metadata={"help": "SpatialRGPT-Bench: the Omni3D image folder."})
    video_root: str | None = field(default=None, metadata={"help": "VSI-Bench: folder with <dataset>/<scene>.mp4."})
    benchmark_config: str | None = field(default=None, metadata={
        "help": "The release's dataset config, e.g. VSI-Bench's 'full' or 'debiased' on the Hub."})
    num_frames: int = field(default=4, metadata={
        "help": "VSI-Bench frames per video (LLaVA-1.5 has 576 tokens per frame and a 4096-token context)."})
    qspatial_prompt: str = field(default="spatial_prompt", metadata={
        "help": "Q-Spatial-Bench user prompt.", "choices": ["standard", "zero_shot", "spatial_prompt"]})
    strict_format: bool = field(default=True, metadata={
        "help": "Q-Spatial-Bench: answers without \\scalar{}\\distance_unit{} fail, as officially (false: read "
                "them as free text, not the official rule)."})

    def __post_init__(self):
        if self.num_frames < 1:
            raise ValueError(f"--num_frames must be >= 1, got {self.num_frames}")

    def options(self, split: str) -> dict:
        return {"split": split, "config": self.benchmark_config, "scannet_root": self.scannet_root, "image_folder": self.image_folder,
                "video_root": self.video_root, "prompt_style": self.qspatial_prompt,
                "strict_format": self.strict_format}


class VideoFrames:
    """`row -> num_frames frames of row["video"]`, keeping the last video's frames (VSI-Bench asks
    many questions per scene)."""

    def __init__(self, num_frames: int):
        self.num_frames = num_frames
        self._video, self._frames = None, None

    def __call__(self, row) -> list:
        if row["video"] != self._video:
            self._video, self._frames = row["video"], sample_frames(row["video"], self.num_frames)
        return self._frames


@torch.no_grad()
def generate_multi_image_answers(model, processor, rows, images_of, *, batch_size: int = 1, max_new_tokens: int = 24,
                                 depth_cache: DepthCache | None = None, indices: list[int] | None = None,
                                 progress: bool = True) -> list[str]:
    """Greedy answers to `rows[i]["question"]` about the images `images_of(rows[i])` (video frames,
    several photos), each image one placeholder of the prompt; prompt and processor call are
    `sdvlm.model_inputs.question_inputs`, as for one image, each question's images one multi-image
    sample (`multi_image=True`: LLaVA-OneVision gives them one tile each, as for video).

    With `config.use_depth` every image gets its own depth map, estimated once per distinct image
    into `depth_cache`.
    """
    use_depth = bool(getattr(model.config, "use_depth", False))
    if use_depth and depth_cache is None:
        raise ValueError("a depth model needs a depth_cache to hold the per-image estimates")
    indices = list(range(len(rows))) if indices is None else list(indices)
    answers: list[str] = []
    for start in tqdm(range(0, len(indices), batch_size), desc="Generating", disable=not progress):
        chunk = [rows[i] for i in indices[start : start + batch_size]]
        images = [images_of(row) for row in chunk]
        depth = [depth_cache.get(key) for group in images for key in depth_cache.fill(group)] if use_depth else None
        inputs = question_inputs(processor, images, [row["question"] for row in chunk], depth,
                                 depth_kind=depth_cache.depth_kind if use_depth else "metric",
                                 multi_image=True).to(model.device)
        output = model.generate(**inputs, max_new_tokens=max_new_tokens, do_sample=False)
        new_tokens = output[:, inputs["input_ids"].shape[1] :]
        answers += [text.strip() for text in processor.batch_decode(new_tokens, skip_special_tokens=True)]
    return answers


def drop_unscorable(bench, rows, options: dict):
    """`rows` without those whose reference the benchmark's scorer cannot read (each logged with
    its id): scoring the reference against itself must work, so one bad row never fails a run."""
    keep = []
    for index, (row_id, answer) in enumerate(zip(rows["id"], rows["answer"])):
        try:
            bench.score([answer], rows.select([index]), **options)
        except ValueError as error:
            skip_row(bench.name, index, row_id, f"unreadable reference: {error}")
            continue
        keep.append(index)
    if not keep:
        raise ValueError(f"{bench.name}: no row has a reference the scorer can read")
    return rows if len(keep) == len(rows) else rows.select(keep)


def evaluate_benchmark(args, bench_args: BenchmarkArguments) -> dict:
    """Run `args` (an `EvalArguments`) on `bench_args.benchmark`; returns the scores (main process)."""
    from accelerate import Accelerator
    from accelerate.utils import gather_object

    from ..evaluation import default_depth_cache_dir, generate_answers, load_for_inference
    from ..train import depth_kind, prepare_depth

    bench = get_benchmark(bench_args.benchmark)
    accelerator = Accelerator(cpu=not torch.cuda.is_available())
    model, processor = load_for_inference(args.model_name_or_path, accelerator.device)
    options = bench_args.options(args.split)
    rows = drop_unscorable(bench, bench.load(args.dataset_name, **options), options)
    if args.max_samples is not None:
        rows = rows.select(range(min(args.max_samples, len(rows))))
    cache_dir = default_depth_cache_dir(args)
    use_depth = bool(model.config.use_depth)
    if "video" in rows.column_names:
        if use_depth:  # relative estimates cannot feed a "metric" model: stop before estimating
            check_depth_kind(model.config.depth_convention, processor.estimated_depth_kind(), processor.depth_estimator)
        cache = (DepthCache(cache_dir, estimate_fn=processor.estimate_depth, estimator=estimator_id(processor),
                            depth_kind=processor.estimated_depth_kind()) if use_depth else None)
        kind = f"estimated:{processor.depth_estimator}" if use_depth else "none"
    else:
        with accelerator.main_process_first():
            rows, cache = prepare_depth(rows, processor, use_depth, args.depth_source, cache_dir,
                                        model.config.depth_convention if use_depth else None)
        kind = depth_kind(rows, cache, processor)

    with accelerator.split_between_processes(list(range(len(rows)))) as shard:
        common = {"batch_size": args.batch_size, "max_new_tokens": args.max_new_tokens, "depth_cache": cache,
                  "indices": shard, "progress": accelerator.is_local_main_process}
        if "video" in rows.column_names:
            answers = generate_multi_image_answers(model, processor, rows, VideoFrames(bench_args.num_frames), **common)
        else:
            answers = generate_answers(model, processor, rows, seed=args.seed, **common)
        pairs = gather_object(list(zip(shard, answers)))
    if not accelerator.is_main_process:
        return {}
    predictions = [answer for _, answer in sorted(pairs)]
    scores, items = bench.score(predictions, rows, **options)
    label = Path(args.model_name_or_path).name
    model_dir = Path(args.model_name_or_path)
    output_dir = Path(args.output_dir) if args.output_dir else (
        model_dir if model_dir.is_dir() else Path("eval") / model_dir.name) / f"eval-{bench.name}"
    output_dir.mkdir(parents=True, exist_ok=True)
    meta = {"benchmark": bench.name, "title": bench.title, "model": str(args.model_name_or_path),
            "dataset": str(args.dataset_name), "num_items": len(rows), "depth_kind": kind,
            "options": {**asdict(bench_args), "split": args.split}}
    (output_dir / "results.json").write_text(json.dumps({**meta, "scores": scores, "items": items}, indent=2,
                                                        default=_jsonable))
    table = {label: scores}
    plotted = {label: {"score": float("nan") if scores["score"] is None else scores["score"],
                       "per_category": {k: v for k, v in scores["per_category"].items() if v is not None}}}
    plot_per_category(plotted, output_dir / "per_category.png", title=f"{label}: {bench.title}", score_key="score",
                      sort_categories=False)
    print(f"{bench.title} ({bench.score_name} = score)\n" + format_table(table, score_key="score", sort_categories=False))
    if args.update_model_card and Path(args.model_name_or_path).is_dir():
        index_scores = {bench.score_name: scores["score"],
                        **{f"{bench.name}/{column}": value for column, value in scores["per_category"].items()}}
        update_model_index(Path(args.model_name_or_path) / "README.md", model_name=label, dataset_name=bench.title,
                           split=args.split if bench.name in ("msmu", "vsibench") else bench.name,
                           scores=index_scores, dataset_type=bench.hub_id)
    return scores


def _jsonable(value):
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    return float(value)


__all__ = ["BenchmarkArguments", "drop_unscorable", "VideoFrames", "generate_multi_image_answers", "evaluate_benchmark"]
