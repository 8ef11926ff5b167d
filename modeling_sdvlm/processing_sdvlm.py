"""SD-VLM processor: LLaVA's processor plus pixel-aligned depth maps.

`processor(images=..., text=..., depth=...)` returns LLaVA's inputs and `depth_values`
`(num_images, size, size)` float32 aligned pixel-for-pixel with `pixel_values` (0 = invalid or
padding). Without `depth=`, depth is estimated with `depth_estimator` (a transformers depth model,
Depth-Anything-V2 by default) when `estimate_missing_depth` is on.
"""

import numpy as np
import torch
from PIL import Image
from transformers import LlavaImageProcessor, LlavaProcessor
from transformers.feature_extraction_utils import BatchFeature
from transformers.image_utils import get_image_size, make_flat_list_of_images, to_numpy_array

from .configuration_sdvlm import DEFAULT_DEPTH_ESTIMATOR
from .depth_geometry import align_depth

# LLaVA-1.5's vicuna_v1 conversation format: system prompt, " USER: ", " ASSISTANT: ", "</s>" after
# each answer; an image item becomes "<image>\n" before the text of its turn.
VICUNA_V1_CHAT_TEMPLATE = (
    "{% set system = 'A chat between a curious user and an artificial intelligence assistant. "
    "The assistant gives helpful, detailed, and polite answers to the user\\'s questions.' %}"
    "{% for message in messages %}{% if message['role'] == 'system' %}"
    "{% set system = message['content'] if message['content'] is string else message['content'][0]['text'] %}"
    "{% endif %}{% endfor %}"
    "{{ system }}"
    "{% for message in messages %}{% if message['role'] != 'system' %}"
    "{% if message['role'] == 'user' %}{{ ' USER: ' }}{% else %}{{ ' ASSISTANT: ' }}{% endif %}"
    "{% if message['content'] is string %}{{ message['content'] }}{% else %}"
    "{% for item in message['content'] %}{% if item['type'] == 'image' %}{{ '<image>\\n' }}{% endif %}{% endfor %}"
    "{% for item in message['content'] %}{% if item['type'] == 'text' %}{{ item['text'] }}{% endif %}{% endfor %}"
    "{% endif %}"
    "{% if message['role'] == 'assistant' %}{{ '</s>' }}{% endif %}"
    "{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}{{ ' ASSISTANT:' }}{% endif %}"
)


class _EstimatorSlot:
    """Holds the lazily loaded depth model; copies are empty so `to_dict` never deep-copies a model."""

    def __init__(self):
        self.model = None
        self.image_processor = None

    def __deepcopy__(self, memo):
        return _EstimatorSlot()


def _image_hw(image) -> tuple[int, int]:
    if isinstance(image, Image.Image):
        return image.height, image.width
    return tuple(get_image_size(to_numpy_array(image)))


def _depth_to_array(depth, index: int, png_scale: float) -> np.ndarray:
    """One depth map as a `(H, W)` float32 array.

    Integer depth of any container (16-bit PIL image, integer numpy array or torch tensor, e.g. a
    uint16 PNG read by cv2 or imageio) holds millimetres and is scaled by `png_scale`; float depth
    is taken as is (meters or relative)."""
    if isinstance(depth, Image.Image):
        array = np.asarray(depth)
    elif torch.is_tensor(depth):
        array = depth.detach().cpu().numpy()
    elif isinstance(depth, np.ndarray):
        array = depth
    else:
        raise ValueError(
            f"depth map {index} has unsupported type {type(depth).__name__}; "
            "use a (H, W) numpy array, torch tensor or 16-bit PIL image"
        )
    if array.ndim != 2:
        raise ValueError(f"depth map {index} has shape {tuple(array.shape)}; expected (height, width)")
    if array.dtype.kind not in "fiu":
        raise ValueError(f"depth map {index} has non-numeric dtype {array.dtype}")
    if array.dtype.kind in "iu":
        return array.astype(np.float32) * np.float32(png_scale)
    return array.astype(np.float32, copy=False)


class SDVLMProcessor(LlavaProcessor):
    r"""[`LlavaProcessor`] that also aligns depth maps with the processed images.

    Args:
        image_processor, tokenizer, patch_size, vision_feature_select_strategy, chat_template,
        image_token, num_additional_image_tokens: as for [`LlavaProcessor`].
        depth_estimator (`str`): transformers id or path of the depth model used when no depth
            is given (relative Depth-Anything-V2 Large by default, as in the paper).
        estimate_missing_depth (`bool`, defaults to `True`): estimate depth when `depth=` is not
            given. Set it to False for data with ground-truth depth or for no-depth models.
        depth_png_scale (`float`, defaults to `0.001`): factor applied to INTEGER depth, which by
            convention holds millimetres (ScanNet, MSMU), to get meters. The rule follows the dtype,
            not the container: a 16-bit PIL image, an integer numpy array (e.g. a uint16 PNG read
            with cv2 or imageio) and an integer torch tensor are all millimetres; float arrays and
            tensors are taken as they are (meters, or relative depth).
    """

    def __init__(
        self,
        image_processor=None,
        tokenizer=None,
        patch_size=None,
        vision_feature_select_strategy=None,
        chat_template=None,
        image_token="<image>",
        num_additional_image_tokens=0,
        depth_estimator=DEFAULT_DEPTH_ESTIMATOR,
        estimate_missing_depth=True,
        depth_png_scale=0.001,
        **kwargs,
    ):
        if chat_template is None:
            chat_template = VICUNA_V1_CHAT_TEMPLATE
        if not isinstance(depth_estimator, str) or not depth_estimator:
            raise ValueError(f"depth_estimator must be a non-empty model id or path, got {depth_estimator!r}")
        if not (isinstance(depth_png_scale, (int, float)) and depth_png_scale > 0):
            raise ValueError(f"depth_png_scale must be a number > 0, got {depth_png_scale!r}")
        self.depth_estimator = depth_estimator
        self.estimate_missing_depth = bool(estimate_missing_depth)
        self.depth_png_scale = float(depth_png_scale)
        self._estimator = _EstimatorSlot()
        super().__init__(
            image_processor=image_processor,
            tokenizer=tokenizer,
            patch_size=patch_size,
            vision_feature_select_strategy=vision_feature_select_strategy,
            chat_template=chat_template,
            image_token=image_token,
            num_additional_image_tokens=num_additional_image_tokens,
            **kwargs,
        )

    @property
    def model_input_names(self) -> list[str]:
        return super().model_input_names + ["depth_values"]

    def __call__(self, images=None, text=None, depth=None, estimate_depth: bool | None = None, **kwargs):
        """LLaVA's processing plus `depth_values`.

        Args:
            images: as for LLaVA (one image or a list).
            text: prompts containing `<image>`.
            depth: None, or one depth map per image (a single map for a single image), each a
                `(H, W)` numpy array / torch tensor / 16-bit PIL image, pixel-aligned with the
                ORIGINAL image. Float maps are meters (or relative depth); integer maps of any
                type are millimetres, scaled by `depth_png_scale`.
                0 and non-finite values mark invalid pixels; negative values are an error.
            estimate_depth: override `estimate_missing_depth` for this call.

        Returns:
            [`BatchFeature`] with LLaVA's keys and `depth_values` `(num_images, S, S)` float32 when
            depth is given or estimated.
        """
        outputs = super().__call__(images=images, text=text, **kwargs)
        if images is None:
            if depth is not None:
                raise ValueError("depth was given without images; pass one depth map per image")
            return outputs
        flat_images = make_flat_list_of_images(images)
        if depth is None:
            if not (self.estimate_missing_depth if estimate_depth is None else estimate_depth):
                return outputs
            depth = self.estimate_depth(flat_images)
        depth_values = self.align_depth_maps(flat_images, depth, **kwargs)
        return_tensors = kwargs.get("return_tensors")
        outputs.update(BatchFeature({"depth_values": depth_values}, tensor_type=return_tensors))
        return outputs

    def _geometry(self, **kwargs) -> dict:
        """The image processor's geometry settings for this call (call kwargs win)."""
        images_kwargs = self._merge_kwargs(**kwargs)["images_kwargs"]
        geometry = {}
        for name in ("do_pad", "do_resize", "size", "do_center_crop", "crop_size"):
            value = images_kwargs.get(name)
            geometry[name] = value if value is not None else getattr(self.image_processor, name, None)
        return geometry

    def align_depth_maps(self, images, depth, **kwargs) -> np.ndarray:
        """Validate depth maps against their images and map them through the image geometry.

        Args:
            images: flat list of the original images.
            depth: one map per image (see `__call__`).

        Returns:
            `(num_images, S, S)` float32 aligned with `pixel_values`; 0 = invalid or padding.
        """
        if not isinstance(depth, (list, tuple)):
            depth = [depth]
        if len(depth) != len(images):
            raise ValueError(f"wrong number of depth maps: got {len(depth)} for {len(images)} images")
        geometry = self._geometry(**kwargs)
        aligned = []
        for index, (image, depth_map) in enumerate(zip(images, depth)):
            array = _depth_to_array(depth_map, index, self.depth_png_scale)
            image_hw = _image_hw(image)
            if tuple(array.shape) != tuple(image_hw):
                raise ValueError(
                    f"depth map {index} has shape {tuple(array.shape)} but its image is {image_hw} (height, width); "
                    "depth must be pixel-aligned with the original image"
                )
            finite = np.isfinite(array)
            if (array[finite] < 0).any():
                raise ValueError(f"depth map {index} has negative values; depth must be >= 0 (0 marks invalid pixels)")
            if not (finite & (array > 0)).any():
                raise ValueError(f"depth map {index} has no valid pixel (all values are 0 or non-finite)")
            aligned.append(align_depth(torch.from_numpy(np.array(array)), **geometry).numpy())
        return np.stack(aligned).astype(np.float32)

    def set_depth_estimator(self, model, image_processor=None) -> None:
        """Use an already-built depth model (e.g. a `DepthAnythingForDepthEstimation`).

        Args:
            model: a transformers depth-estimation model returning `predicted_depth`.
            image_processor: its image processor; default, Depth-Anything's preprocessing
                (518 px, aspect kept, multiple of 14, ImageNet mean/std).
        """
        if image_processor is None:
            from transformers import DPTImageProcessor

            image_processor = DPTImageProcessor(
                size={"height": 518, "width": 518},
                keep_aspect_ratio=True,
                ensure_multiple_of=14,
                resample=Image.Resampling.BICUBIC,
                image_mean=[0.485, 0.456, 0.406],
                image_std=[0.229, 0.224, 0.225],
            )
        self._estimator.model = model.eval()
        self._estimator.image_processor = image_processor

    def _load_depth_estimator(self) -> None:
        from transformers import AutoImageProcessor, AutoModelForDepthEstimation

        model = AutoModelForDepthEstimation.from_pretrained(self.depth_estimator)
        if torch.cuda.is_available():
            model = model.to("cuda")
        self.set_depth_estimator(model, AutoImageProcessor.from_pretrained(self.depth_estimator))

    @torch.no_grad()
    def estimate_depth(self, images, batch_size: int = 8) -> list[np.ndarray]:
        """Estimate one depth map per image with the configured depth model (loaded once, lazily).

        Images of the same size are batched together, on the depth model's device.

        Args:
            images: one image or a list.
            batch_size: images per forward pass.

        Returns:
            list of `(H, W)` float32 arrays at each original image's size (Depth-Anything's relative
            depth: larger = nearer; clamped at 0).
        """
        if self._estimator.model is None:
            self._load_depth_estimator()
        model, image_processor = self._estimator.model, self._estimator.image_processor
        flat = [
            image.convert("RGB") if isinstance(image, Image.Image) else image
            for image in make_flat_list_of_images(images)
        ]
        sizes = [_image_hw(image) for image in flat]
        results: list[np.ndarray | None] = [None] * len(flat)
        by_size: dict[tuple[int, int], list[int]] = {}
        for index, size in enumerate(sizes):
            by_size.setdefault(size, []).append(index)
        for size, indices in by_size.items():
            for start in range(0, len(indices), batch_size):
                chunk = indices[start : start + batch_size]
                inputs = image_processor(images=[flat[i] for i in chunk], return_tensors="pt")
                inputs = {k: v.to(model.device) for k, v in inputs.items()}
                predicted = image_processor.post_process_depth_estimation(
                    model(**inputs), target_sizes=[size] * len(chunk)
                )
                for i, item in zip(chunk, predicted):
                    results[i] = item["predicted_depth"].float().clamp(min=0).cpu().numpy().reshape(size)
        return results


SDVLMProcessor.register_for_auto_class("AutoProcessor")

def llava15_processor(
    tokenizer,
    image_size: int,
    patch_size: int,
    vision_feature_select_strategy: str = "default",
    do_pad: bool = True,
    **processor_kwargs,
) -> SDVLMProcessor:
    """An [`SDVLMProcessor`] with LLaVA-1.5's preprocessing and the vicuna_v1 chat template.

    `do_pad=True` pads to a square first (original LLaVA); False gives CLIP's resize of the shortest
    edge + center crop (the llava-hf checkpoints). The depth maps follow the same geometry either way.
    """
    image_processor = LlavaImageProcessor(
        do_pad=do_pad,
        size={"shortest_edge": image_size},
        crop_size={"height": image_size, "width": image_size},
        do_center_crop=True,
    )
    return SDVLMProcessor(
        image_processor=image_processor,
        tokenizer=tokenizer,
        patch_size=patch_size,
        vision_feature_select_strategy=vision_feature_select_strategy,
        num_additional_image_tokens=1,
        chat_template=VICUNA_V1_CHAT_TEMPLATE,
        **processor_kwargs,
    )


__all__ = ["SDVLMProcessor", "VICUNA_V1_CHAT_TEMPLATE", "llava15_processor"]
