"""SD-VLM processor: LLaVA's processor plus pixel-aligned depth maps.

`processor(images=..., text=..., depth=...)` returns LLaVA's inputs and `depth_values`
`(num_images, size, size)` float32 aligned pixel-for-pixel with `pixel_values` (0 = invalid or
padding), in the model's `depth_convention` (`modeling_sdvlm.depth_inputs` converts: meters become
`1 / d` for an "inverse" model). Without `depth=`, depth is estimated with `depth_estimator` (a
transformers depth model, Depth-Anything-V2 by default) when `estimate_missing_depth` is on.
"""

import numpy as np
import torch
from transformers import LlavaImageProcessor, LlavaProcessor
from transformers.feature_extraction_utils import BatchFeature

from .configuration_sdvlm import DEFAULT_DEPTH_ESTIMATOR
from .depth_geometry import align_depth
from .depth_inputs import DepthProcessorMixin, report_empty_cells
from .image_inputs import as_rgb_images

# The image processor settings that move pixels, which the depth maps follow.
GEOMETRY_SETTINGS = ("do_pad", "do_resize", "size", "do_center_crop", "crop_size")

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


class SDVLMProcessor(DepthProcessorMixin, LlavaProcessor):
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
            tensors are meters (or relative inverse depth, with `depth_kind="inverse"` on the call).
        depth_convention (`"inverse"`, `"metric"` or None): the model's `config.depth_convention`,
            the depth `depth_values` are produced in (see [`DepthProcessorMixin`]).
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
        depth_convention=None,
        **kwargs,
    ):
        if chat_template is None:
            chat_template = VICUNA_V1_CHAT_TEMPLATE
        self.init_depth(depth_estimator, estimate_missing_depth, depth_png_scale, depth_convention)
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

    def __call__(self, images=None, text=None, depth=None, estimate_depth: bool | None = None,
                 depth_kind: str | list[str] = "metric", **kwargs):
        """LLaVA's processing plus `depth_values`.

        Args:
            images: as for LLaVA (one image or a list); numpy images may also be `(H, W)` grey or
                `(H, W, 4)` RGBA (alpha dropped).
            text: prompts containing `<image>`. A batch of several prompts is padded on the LEFT
                unless `padding_side` is given (generation needs left padding).
            depth: None, or one depth map per image (a single map for a single image), each a
                `(H, W)` numpy array / torch tensor / 16-bit PIL image, pixel-aligned with the
                ORIGINAL image. Float maps are meters; integer maps of any type are millimetres,
                scaled by `depth_png_scale`. 0 and non-finite values mark invalid pixels; negative
                values, 8-bit images and implausible depth (outside 0.1 mm..10 km) are errors.
            estimate_depth: override `estimate_missing_depth` for this call.
            depth_kind: `"metric"` (default: meters / millimetres as above) or `"inverse"` (already
                relative inverse depth, larger = nearer, e.g. your own Depth-Anything estimate),
                one for all maps or one per map. A `"metric"` model refuses `"inverse"` depth.

        Returns:
            [`BatchFeature`] with LLaVA's keys and `depth_values` `(num_images, S, S)` float32 in the
            model's `depth_convention` when depth is given or estimated.
        """
        if images is not None:
            images = as_rgb_images(images)
        if isinstance(text, (list, tuple)) and len(text) > 1 and kwargs.get("padding"):
            kwargs.setdefault("padding_side", "left")
        outputs = super().__call__(images=images, text=text, **kwargs)
        arrays = self.resolve_depth(images, depth, estimate_depth, depth_kind)
        if arrays is None:
            return outputs
        depth_values = self.align_depth_maps(arrays, **kwargs)
        return_tensors = kwargs.get("return_tensors")
        outputs.update(BatchFeature({"depth_values": depth_values}, tensor_type=return_tensors))
        return outputs

    def _geometry(self, **kwargs) -> dict:
        """The image processor's geometry settings for this call (call kwargs win)."""
        defaults = getattr(self.valid_processor_kwargs, "_defaults", {})
        sources = (kwargs, kwargs.get("images_kwargs"), kwargs.get("common_kwargs"),
                   getattr(self, "images_kwargs", None), defaults.get("images_kwargs"), defaults.get("common_kwargs"))
        # `_merge_kwargs` costs about as much as aligning a map: only run it when a setting can come from
        # somewhere other than the image processor (the call, or processor-level defaults).
        named = any(name in source for source in sources if source for name in GEOMETRY_SETTINGS)
        images_kwargs = self._merge_kwargs(**kwargs)["images_kwargs"] if named else {}
        geometry = {}
        for name in GEOMETRY_SETTINGS:
            value = images_kwargs.get(name)
            geometry[name] = value if value is not None else getattr(self.image_processor, name, None)
        return geometry

    def align_depth_maps(self, arrays, **kwargs) -> np.ndarray:
        """Map validated depth arrays (from `resolve_depth`) through the image geometry.

        Args:
            arrays: one `(H, W)` float32 array per image, at the original image's size.

        Returns:
            `(num_images, S, S)` float32 aligned with `pixel_values`; 0 = invalid or padding.
        """
        geometry = self._geometry(**kwargs)
        aligned = []
        for index, array in enumerate(arrays):
            # `resolve_depth` gives finite maps, valid where > 0: the least value says whether all are.
            lowest = float(array.min())
            # A map valid everywhere leaves no token cell of the image empty: every pixel on the image gets
            # a positive weight of positive depth (1e-30 keeps that product far from float32 underflow).
            report = not lowest > 1e-30
            depth = align_depth(torch.from_numpy(array), return_image_mask=report, all_valid=lowest > 0, **geometry)
            if report:
                depth, on_image = depth
                report_empty_cells(depth, on_image, self.patch_size, index)
            depth = np.ascontiguousarray(depth.numpy())  # a center crop is a view
            # One image needs no stack (a copy), but depth_values must not share the caller's map.
            aligned.append(depth.copy() if np.may_share_memory(depth, array) else depth)
        return aligned[0][None] if len(aligned) == 1 else np.stack(aligned)


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
