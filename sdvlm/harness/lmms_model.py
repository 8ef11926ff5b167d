"""SD-VLM inside lmms-eval 0.7: `lmms-eval --model sdvlm --model_args pretrained=PATH,depth=estimate|none`.

Registered the way lmms-eval 0.7 takes external models: a `ModelManifest` under the Python
entry-point group `lmms_eval.models` (setup.py: `sdvlm = sdvlm.harness.lmms_model:manifest`;
lmms_eval/models/registry_v2.py `load_entrypoint_manifests` reads it at import).

Generation is `sdvlm.evaluation.generate_answers` for one image (the exact prompt, padding and
greedy decoding of `sdvlm-evaluate`, so both report the same answers) and
`sdvlm.benchmarks.run.generate_multi_image_answers` for several (a video file given by a task, such
as lmms-eval's `vsibench`, becomes `num_frames` uniformly sampled frames, as in `sdvlm-evaluate
--benchmark vsibench`). Depth:
- `depth=estimate` (default for a `use_depth` checkpoint): the checkpoint's Depth-Anything per
  image, cached by image hash in `depth_cache` (default `<pretrained>/depth_cache` for a local
  folder, the folder `sdvlm-evaluate` uses);
- `depth=none`: no depth; the model runs as plain LLaVA (`use_depth` off).
Stop strings (`until`) cut the answer after generation; `max_new_tokens` comes from the task.
"""

from __future__ import annotations

from pathlib import Path

import torch
from lmms_eval.api.model import lmms
from lmms_eval.models.registry_v2 import ModelManifest
from PIL import Image

DEPTH_MODES = ("estimate", "none")
DEFAULT_MAX_NEW_TOKENS = 24


def skip_filelock_patch_without_filelock_api() -> None:
    """lmms-eval 0.7.3's evaluator patches `filelock._api.FileLockMeta` (filelock 3.16+ internals;
    a workaround for nested `load_dataset` deadlocks) at the start of every run; filelock 4, pinned
    by this project, has no `filelock._api`, and the patch would crash every run. Where that module
    is missing the patch is marked as done, so lmms-eval skips it."""
    try:
        import filelock._api  # noqa: F401
    except ImportError:
        from lmms_eval import evaluator

        evaluator._enable_reentrant_filelocks._patched = True


class SDVLMLmms(lmms):
    """lmms-eval model: any SD-VLM checkpoint (full or LoRA adapter folder, or a Hub id)."""

    is_simple = True

    def __init__(self, pretrained: str, depth: str = "estimate", batch_size: int | str = 1, device: str | None = None,
                 depth_cache: str | None = None, num_frames: int | str = 4, **kwargs) -> None:
        super().__init__()
        if kwargs:
            raise ValueError(f"unknown sdvlm model_args {sorted(kwargs)}; expected pretrained, depth, batch_size, "
                             "device, depth_cache, num_frames")
        if depth not in DEPTH_MODES:
            raise ValueError(f"depth={depth!r}; expected one of {DEPTH_MODES}")
        self.num_frames = int(num_frames)
        if self.num_frames < 1:
            raise ValueError(f"num_frames must be >= 1, got {num_frames}")
        from accelerate import Accelerator

        # Here, not at import: lmms-eval imports this module while `lmms_eval.evaluator` is loading.
        skip_filelock_patch_without_filelock_api()
        from ..depth_cache import DepthCache, estimator_id
        from ..evaluation import load_for_inference

        self.accelerator = Accelerator(cpu=not torch.cuda.is_available())
        self._rank, self._world_size = self.accelerator.process_index, self.accelerator.num_processes
        self.model, self.processor = load_for_inference(pretrained, device or self.accelerator.device)
        if depth == "none":
            self.model.config.use_depth = False
        self.batch_size = int(batch_size)
        self.cache = None
        if self.model.config.use_depth:
            folder = depth_cache or (Path(pretrained) / "depth_cache" if Path(pretrained).is_dir() else "depth_cache")
            self.cache = DepthCache(folder, estimate_fn=self.processor.estimate_depth,
                                    estimator=estimator_id(self.processor))

    def _answer(self, context: str, visuals: list, gen_kwargs: dict) -> str:
        from ..benchmarks.run import generate_multi_image_answers
        from ..evaluation import generate_answers

        from ..benchmarks.video import sample_frames

        images = []
        for visual in visuals:
            if isinstance(visual, Image.Image):
                images.append(visual.convert("RGB"))
            elif isinstance(visual, str):  # a video file: uniform frames, each an image of the prompt
                images += sample_frames(visual, self.num_frames)
            else:
                raise ValueError(f"the sdvlm model answers about images and video files; this task gave a "
                                 f"{type(visual).__name__}")
        if not images:
            raise ValueError("the sdvlm model needs at least one image or video (text-only tasks are not supported)")
        max_new_tokens = int(gen_kwargs.get("max_new_tokens", DEFAULT_MAX_NEW_TOKENS))
        if len(images) == 1:
            row = {"image": images[0], "question": context}
            if self.cache is not None:
                row["depth_key"] = self.cache.fill(images)[0]
            answer = generate_answers(self.model, self.processor, [row], batch_size=1, max_new_tokens=max_new_tokens,
                                      depth_cache=self.cache, progress=False)[0]
        else:
            answer = generate_multi_image_answers(self.model, self.processor, [{"question": context}],
                                                  lambda row: images, max_new_tokens=max_new_tokens,
                                                  depth_cache=self.cache, progress=False)[0]
        until = gen_kwargs.get("until") or []
        for stop in [until] if isinstance(until, str) else until:
            if stop:
                answer = answer.split(stop)[0]
        return answer.strip()

    def generate_until(self, requests) -> list[str]:
        answers = []
        for request in requests:
            context, gen_kwargs, doc_to_visual, doc_id, task, split = request.args
            visuals = doc_to_visual(self.task_dict[task][split][doc_id])
            answers.append(self._answer(context, list(visuals or []), dict(gen_kwargs or {})))
        return answers

    def loglikelihood(self, requests):
        raise NotImplementedError("the sdvlm model generates answers; loglikelihood tasks are not supported")

    def generate_until_multi_round(self, requests):
        raise NotImplementedError("the sdvlm model answers one turn per request")


def manifest() -> ModelManifest:
    """The entry point's payload (lmms-eval calls it)."""
    return ModelManifest(model_id="sdvlm", simple_class_path="sdvlm.harness.lmms_model.SDVLMLmms")


__all__ = ["SDVLMLmms", "DEPTH_MODES", "skip_filelock_patch_without_filelock_api", "manifest"]
