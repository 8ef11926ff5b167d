"""The SD-VLM model behind the Space: loading it, estimating depth, asking with and without depth.

Depth flows exactly as in training: the processor converts the depth map to the checkpoint's
`depth_convention` (uploaded meters become 1 / d for an "inverse" model; relative estimates are
refused for a "metric" one), aligns it with the image the vision tower sees and returns
`depth_values`; the model adds the depth positional encoding to the image tokens. "Without depth"
is the same call with `depth_values` left out.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

DEFAULT_MAX_NEW_TOKENS = 32


class ModelUnavailable(RuntimeError):
    """No usable checkpoint; the message tells the visitor how to get one."""


class DepthUnavailable(RuntimeError):
    """The depth estimator cannot be loaded or run (e.g. offline); the message says what to do."""


@dataclass
class Prediction:
    """One answer and what the model was shown.

    `depth` (H, W) float32 is the map given to the processor (meters, or relative inverse depth
    when a relative estimator made it), before the processor's conversion; `grid` (grid_h, grid_w) float32 holds the values the depth encoding saw;
    `model_view` (S, S, 3) uint8 is the square image the vision tower saw.
    """

    answer: str
    depth: np.ndarray | None  # None: a use_depth=False checkpoint given no depth map
    depth_label: str
    grid: np.ndarray | None
    model_view: np.ndarray


def missing_model_message(path: str | None) -> str:
    return (
        f"No SD-VLM checkpoint found at '{path}'. Run `make quickstart` (it trains a tiny model and "
        "leaves it at outputs/quickstart/best), or start the Space with `sdvlm-space --model PATH` "
        "(or set SDVLM_MODEL) to a local checkpoint folder or a Hub model id."
    )


def package_missing_message(error: BaseException) -> str:
    return (
        f"The sdvlm project is not installed ({error}). Install it: `pip install -e .` in a checkout, or on the "
        "Hub add the line `sdvlm @ git+<URL of the sdvlm repository>@<release tag>` to the Space's "
        "requirements.txt, so that modeling_sdvlm can be imported."
    )


def describe_folder(path: str) -> str:
    """What a local checkpoint folder holds, for error messages: "a LoRA adapter (...)", "config.json
    only", or the first few file names."""
    folder = Path(path)
    if not folder.is_dir():
        return "a file, not a folder" if folder.exists() else "nothing (the folder does not exist)"
    names = sorted(child.name for child in folder.iterdir())
    if "adapter_config.json" in names:
        return f"a LoRA adapter (adapter_config.json, base model '{adapter_base(folder)}')"
    weights = [name for name in names if name.endswith((".safetensors", ".bin"))]
    if "config.json" in names and not weights:
        return "a config.json but no model weights (*.safetensors)"
    return "the files " + ", ".join(names[:8]) + (" ..." if len(names) > 8 else "") if names else "an empty folder"


def adapter_base(folder: Path) -> str | None:
    import json

    try:
        return json.loads((folder / "adapter_config.json").read_text()).get("base_model_name_or_path")
    except (OSError, ValueError):
        return None


class SpaceModel:
    """An SD-VLM model and its processor, ready to answer one question about one image."""

    def __init__(self, model, processor, max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS):
        from modeling_sdvlm.depth_inputs import bind_depth_convention

        self.model = model.eval()
        self.processor = processor
        self.max_new_tokens = max_new_tokens
        if hasattr(model.config, "depth_convention"):
            bind_depth_convention(processor, model.config)  # the processor converts depth for this model
        # The processor loads its estimator lazily on first use; two requests must not both load it.
        self._estimator_lock = threading.Lock()
        self._depth_error: str | None = None
        self._depth_probe: str | None = None  # "" once probed and found reachable
        self.estimator_loaded = False  # True once an estimator override is loaded into the processor
        self.path: str | None = None  # where the checkpoint was loaded from

    @classmethod
    def load(cls, path: str | None, depth_estimator: str | None = None, max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS) -> "SpaceModel":
        """Load a checkpoint (local folder or Hub id) and, optionally, a depth estimator override
        (local folder or Hub id of a transformers depth-estimation model)."""
        try:
            import modeling_sdvlm  # noqa: F401  (registers the "sdvlm" model type with the Auto classes)
            package_error = None
        except ImportError as error:
            package_error = error
        local = bool(path) and _looks_local(path)
        if not path or (local and not (Path(path) / "config.json").is_file()):
            found = f" Found there: {describe_folder(path)}." if local else ""
            install = f" {package_missing_message(package_error)}" if package_error else ""
            raise ModelUnavailable(missing_model_message(path) + found + install)
        if package_error is not None:
            raise ModelUnavailable(package_missing_message(package_error)) from package_error
        device = "cuda" if torch.cuda.is_available() else "cpu"
        adapter = local and (Path(path) / "adapter_config.json").is_file()
        try:
            if adapter:  # `sdvlm-train`'s default output: the base is loaded with the saved DPE config, the adapter merged
                model, processor = _load_adapter(path, device)
            else:
                from transformers import AutoModelForImageTextToText, AutoProcessor

                # The checkpoint's own dtype (fp16 for LLaVA-1.5 sizes), on the GPU where there is one.
                model = AutoModelForImageTextToText.from_pretrained(path, dtype="auto")
                model.to(device)
                processor = AutoProcessor.from_pretrained(path)
        except OSError as error:  # a Hub id that does not resolve, offline, or an incomplete folder
            if adapter:
                raise ModelUnavailable(
                    f"The folder '{path}' holds {describe_folder(path)}, but that base model could not be loaded "
                    f"({error}). Make the base model available (its Hub id online, or the folder it names), or "
                    "train with --save_merged to get a standalone checkpoint."
                ) from error
            found = f" Found there: {describe_folder(path)}." if local else ""
            raise ModelUnavailable(f"{missing_model_message(path)}{found} (loading failed: {error})") from error
        if depth_estimator:
            from transformers import AutoImageProcessor, AutoModelForDepthEstimation

            try:
                processor.set_depth_estimator(
                    AutoModelForDepthEstimation.from_pretrained(depth_estimator),
                    AutoImageProcessor.from_pretrained(depth_estimator),
                )
            except OSError as error:
                raise DepthUnavailable(
                    f"The depth estimator '{depth_estimator}' could not be loaded ({error}). Pass a folder "
                    "holding a transformers depth-estimation model and its preprocessor_config.json, or a Hub id."
                ) from error
        loaded = cls(model, processor, max_new_tokens)
        loaded.estimator_loaded, loaded.path = bool(depth_estimator), str(path)
        return loaded

    def depth_unavailable_reason(self) -> str | None:
        """None when depth can be estimated on this machine; otherwise why not, found without
        running a model: the estimator is neither loaded, nor a local folder, nor in the Hugging Face
        cache, and the Hub does not answer (one short probe, remembered)."""
        if not self.uses_depth or self.estimator_loaded:
            return None
        with self._estimator_lock:
            if self._depth_error is None and self._depth_probe is None:
                self._depth_probe = _probe_estimator(str(self.processor.depth_estimator))
            return self._depth_error or self._depth_probe or None

    @property
    def uses_depth(self) -> bool:
        return bool(getattr(self.model.config, "use_depth", True))

    @property
    def depth_convention(self) -> str:
        """The depth the checkpoint was trained on: "inverse" or "metric" (`config.depth_convention`)."""
        return self.processor.model_depth_convention

    @property
    def convention_note(self) -> str:
        """One line for the page: which depth this model uses and what happens to an upload."""
        if not self.uses_depth:
            return "This model does not use depth (use_depth=False)."
        if self.depth_convention == "metric":
            return ("Depth convention of this model: **metric** (trained on meters, larger = farther). Uploaded depth "
                    "is used in meters; estimated depth needs a metric estimator.")
        return ("Depth convention of this model: **inverse** (trained on relative inverse depth, larger = nearer, as "
                "Depth-Anything gives it). Uploaded depth in meters is converted to 1 / depth.")

    @property
    def estimated_depth_kind(self) -> str:
        """What the estimator gives: "metric" (meters) or "inverse" (relative, larger = nearer)."""
        return self.processor.estimated_depth_kind()

    def depth_for(self, image: Image.Image, depth: np.ndarray | None) -> tuple[np.ndarray, str, str]:
        """(depth map, its kind, a label) for `image`: the uploaded map in meters, or an estimate.

        An estimate this model cannot use (relative depth for a "metric" model) is refused before
        the estimator runs, with the estimator to use instead.
        """
        if depth is not None:
            return depth, "metric", "depth (m)"
        from modeling_sdvlm.depth_inputs import check_depth_kind

        check_depth_kind(self.depth_convention, self.estimated_depth_kind, self.processor.depth_estimator)
        kind = self.estimated_depth_kind
        label = "estimated depth (m)" if kind == "metric" else "estimated relative inverse depth (larger = nearer)"
        return self.estimate_depth(image), kind, label

    def estimate_depth(self, image: Image.Image) -> np.ndarray:
        """(H, W) float32 depth for `image` from the configured (or injected) estimator."""
        with self._estimator_lock:
            # A failed load (offline: a minute of download retries) is remembered, not retried per request.
            if self._depth_error is not None:
                raise DepthUnavailable(self._depth_error)
            try:
                return np.asarray(self.processor.estimate_depth([image])[0], dtype=np.float32)
            except OSError as error:  # the estimator's files cannot be found or downloaded
                self._depth_error = (
                    f"Depth could not be estimated: the depth model '{self.processor.depth_estimator}' did not "
                    f"load ({error}). Upload a depth map, or start the Space with --depth-estimator PATH "
                    "(a local Depth-Anything folder) or SDVLM_DEPTH_ESTIMATOR."
                )
                raise DepthUnavailable(self._depth_error) from error

    def predict(self, image: Image.Image, question: str, depth: np.ndarray | None = None, use_depth: bool = True) -> Prediction:
        """Answer `question` about `image`; `depth` (H, W) meters, or None to estimate it. A checkpoint
        with use_depth=False estimates nothing: its `depth` and `grid` are then None. `use_depth=False`
        asks this model without depth: nothing is estimated or given, `depth` and `grid` are None."""
        kind, label = "metric", "depth (m)"
        if not use_depth:
            depth = None
        elif depth is not None or self.uses_depth:
            depth, kind, label = self.depth_for(image, depth)
        inputs = self._inputs(image, question, depth, kind)
        grid = self._depth_grid(inputs) if depth is not None else None
        answer = self._generate(inputs, use_depth)
        mean, std = self.processor.image_processor.image_mean, self.processor.image_processor.image_std
        from space_viz import model_view_image  # local import keeps this module free of matplotlib

        if "image_grid_thw" in inputs:  # Qwen: flat patches; the model saw the image resized to its grid
            _, grid_h, grid_w = inputs["image_grid_thw"][0].tolist()
            patch = self.processor.image_processor.patch_size
            view = np.asarray(image.convert("RGB").resize((grid_w * patch, grid_h * patch)))
        else:  # LLaVA-OneVision's pixel_values[0] holds tiles: show the first, the base view
            pixels = inputs["pixel_values"][0]
            view = model_view_image((pixels[0] if pixels.dim() == 4 else pixels).float().numpy(), mean, std)
        return Prediction(answer=answer, depth=depth, depth_label=label, grid=grid, model_view=view)

    def answer(self, image: Image.Image, question: str, depth: np.ndarray | None = None, use_depth: bool = True,
               depth_kind: str = "metric") -> str:
        """Only the answer text; depth is estimated when not given, `use_depth` is on and the
        checkpoint uses depth at all. `depth_kind`: what a given `depth` holds (see `depth_for`)."""
        use_depth = use_depth and self.uses_depth
        if use_depth and depth is None:
            depth, depth_kind, _ = self.depth_for(image, None)
        return self._generate(self._inputs(image, question, depth if use_depth else None, depth_kind), use_depth)

    def _depth_grid(self, inputs) -> np.ndarray:
        """The values the depth encoding saw, as the first image's token grid."""
        if "image_grid_thw" in inputs:
            grid = self.model.model.depth_grid(inputs["depth_values"], inputs["image_grid_thw"])[0]
        elif "image_sizes" in inputs:  # LLaVA-OneVision: the base view (the whole image on one tile)
            grid = self.model.model.depth_grid(inputs["depth_values"], inputs["image_sizes"])[0]
        else:
            grid = self.model.model.depth_grid(inputs["depth_values"])[0]
        return grid.float().numpy()

    def _inputs(self, image: Image.Image, question: str, depth: np.ndarray | None, depth_kind: str = "metric"):
        from sdvlm.model_inputs import question_inputs  # the prompt + processor path of training and evaluation

        # The Space estimates depth itself (to show it), never the processor, which converts the map
        # to the model's depth convention.
        return question_inputs(self.processor, [image], [question], None if depth is None else [depth], depth_kind)

    @torch.inference_mode()
    def _generate(self, inputs, use_depth: bool) -> str:
        inputs = dict(inputs)
        if not use_depth:
            inputs.pop("depth_values", None)
        inputs = {name: value.to(self.model.device) for name, value in inputs.items()}
        # Pixels in the model's dtype; depth stays float32 (the encoding is computed in float32).
        inputs["pixel_values"] = inputs["pixel_values"].to(self.model.dtype)
        output = self.model.generate(**inputs, max_new_tokens=self.max_new_tokens, do_sample=False)
        new_tokens = output[:, inputs["input_ids"].shape[1]:]
        return self.processor.batch_decode(new_tokens, skip_special_tokens=True)[0].strip()


HUB_PROBE_TIMEOUT_S = 3.0


def _probe_estimator(estimator: str) -> str:
    """"" when the depth model `estimator` can be loaded here (a local folder with a config.json, a
    Hub id in the local cache, or the Hub reachable); otherwise the reason, for the visitor."""
    folder = Path(estimator).expanduser()
    if folder.exists() or _looks_local(estimator):
        return "" if (folder / "config.json").is_file() else f"the depth model folder '{estimator}' has no config.json"
    try:
        import huggingface_hub
        from huggingface_hub import constants

        if isinstance(huggingface_hub.try_to_load_from_cache(estimator, "config.json"), str):
            return ""
        if constants.HF_HUB_OFFLINE:
            return f"the depth model '{estimator}' is not in the local cache and the Hub is switched off (HF_HUB_OFFLINE)"
        huggingface_hub.model_info(estimator, timeout=HUB_PROBE_TIMEOUT_S)
        return ""
    except Exception as error:  # offline, unknown id, or no huggingface_hub: all mean "no depth model here"
        return f"the depth model '{estimator}' is not on this machine and could not be reached ({type(error).__name__})"


def _load_adapter(path: str, device: str):
    """A LoRA adapter folder through `sdvlm.evaluation.load_for_inference` (the one loader of
    `sdvlm-train`'s outputs)."""
    try:
        from sdvlm.evaluation import load_for_inference
    except ImportError as error:
        raise ModelUnavailable(
            f"The folder '{path}' holds {describe_folder(path)}; loading an adapter needs the sdvlm package "
            f"and peft ({error}). Install them (`pip install -e .` in a checkout, or add the sdvlm line to the "
            "Space's requirements.txt), or train with --save_merged to get a standalone checkpoint."
        ) from error
    try:
        return load_for_inference(path, device)
    except ImportError as error:  # peft, imported only for adapters
        raise ModelUnavailable(
            f"The folder '{path}' holds {describe_folder(path)}; loading it needs peft ({error}): `pip install peft`."
        ) from error


def _looks_local(path: str) -> bool:
    """A Hub id is "name" or "owner/name"; anything that exists or looks like a path is local."""
    return Path(path).exists() or path.startswith((".", "/", "~")) or path.count("/") > 1 or "\\" in path


__all__ = ["DEFAULT_MAX_NEW_TOKENS", "DepthUnavailable", "ModelUnavailable", "Prediction", "SpaceModel", "describe_folder",
           "missing_model_message", "package_missing_message"]
