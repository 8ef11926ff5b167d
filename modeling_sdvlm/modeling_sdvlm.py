"""SD-VLM: LLaVA with a Depth Positional Encoding (DPE) added to the projected image tokens.

The encoding has no parameters, so an SD-VLM checkpoint has exactly LLaVA's weights: a plain
LLaVA checkpoint loads without missing or unexpected keys, and without depth the model computes
exactly what `LlavaForConditionalGeneration` computes.
"""

import torch
from transformers import LlavaForConditionalGeneration, LlavaModel
from transformers.modeling_outputs import BaseModelOutputWithPooling
from transformers.utils.generic import can_return_tuple

from .configuration_sdvlm import SDVLMConfig
from .depth_encoding import (
    add_depth_encoding,
    config_depth_encoding,
    depth_positional_encoding,
    fill_empty_cells,
    normalize_depth,
    pool_depth_cells,
)
from .depth_inputs import check_depth_values
from .depth_plumbing import DepthGenerationMixin, depth_generation_forward, depth_model_forward, register_depth_family
from .llava_depth import LlavaDepthModelMixin


def _check_depth_shape(depth_values: torch.Tensor, pixel_values: torch.Tensor | None) -> None:
    """Raise a ValueError naming the problem for depth maps of the wrong shape or number."""
    if not torch.is_tensor(depth_values) or depth_values.dim() != 3:
        shape = tuple(depth_values.shape) if torch.is_tensor(depth_values) else type(depth_values).__name__
        raise ValueError(f"depth_values must be a tensor of shape (num_images, height, width), got {shape}")
    if pixel_values is not None:
        if depth_values.shape[0] != pixel_values.shape[0]:
            raise ValueError(
                f"wrong number of depth maps: {depth_values.shape[0]} depth maps for {pixel_values.shape[0]} images"
            )
        if tuple(depth_values.shape[-2:]) != tuple(pixel_values.shape[-2:]):
            raise ValueError(
                f"depth map shape {tuple(depth_values.shape[-2:])} does not match the pixel_values shape "
                f"{tuple(pixel_values.shape[-2:])} (depth must be aligned pixel-for-pixel with the processed image)"
            )


class SDVLMModel(LlavaDepthModelMixin, LlavaModel):
    """[`LlavaModel`] whose image features carry the depth encoding.

    `forward(..., depth_values=...)`: `depth_values` `(num_images, size, size)` is encoded into the
    image tokens (the other arguments are LLaVA's). The depth logic lives here, in the base model,
    because TRL's SFTTrainer (and any code using `model.base_model`) calls this class directly.
    """

    config: SDVLMConfig
    config_class = SDVLMConfig
    forward = depth_model_forward(LlavaModel.forward)
    image_feature_arguments = ("vision_feature_layer", "vision_feature_select_strategy", "image_sizes")

    def depth_grid(self, depth_values: torch.Tensor) -> torch.Tensor:
        """The per-patch values the encoding sees: pooled, normalised and scaled depth.

        Each patch cell is the mean of its VALID pixels (> 0 and finite); a cell with no valid pixel
        (padding, holes) takes the mean of the valid cells of the same image, so it sits inside the
        image's range and does not stretch the min-max. Then `"minmax"` maps the grid to [0, 1]
        per image (`(d - min) / (max - min + 1e-9)`) or `"none"` keeps it, and both multiply by
        `config.depth_scale`.

        Args:
            depth_values: `(num_images, height, width)` depth aligned with `pixel_values`; 0 or
                non-finite = invalid.

        Returns:
            `(num_images, grid_h, grid_w)` float32, grid = image size // patch size (row-major, the
            order of the vision patch tokens).
        """
        _check_depth_shape(depth_values, None)
        patch = self.config.vision_config.patch_size
        height, width = depth_values.shape[-2:]
        if height < patch or width < patch:
            raise ValueError(f"depth map of size {height}x{width} is smaller than one {patch}x{patch} patch")
        grid = fill_empty_cells(pool_depth_cells(depth_values, patch))
        return normalize_depth(grid, self.config.depth_normalization, self.config.depth_scale)

    @can_return_tuple
    def get_image_features(
        self,
        pixel_values: torch.Tensor,
        vision_feature_layer: int | list[int] | None = None,
        vision_feature_select_strategy: str | None = None,
        image_sizes: torch.Tensor | None = None,
        depth_values: torch.Tensor | None = None,
        **kwargs,
    ) -> tuple | BaseModelOutputWithPooling:
        """LLaVA's projected image features, plus the depth encoding when depth is given.

        Args:
            pixel_values: `(num_images, 3, size, size)`.
            depth_values: `(num_images, size, size)` float, aligned with `pixel_values`, in the model's
                `config.depth_convention` (meters for "metric", inverse depth for "inverse"), as
                [`SDVLMProcessor`] returns it; or None (no depth; then the result is LLaVA's exactly).
                Integer tensors (millimetres) and implausible values are refused: pass raw maps
                through the processor. Ignored when `config.use_depth` is False.

        Returns:
            LLaVA's output; `pooler_output` is a list of `(tokens, hidden)` features per image.
            With the `"full"` feature strategy the CLS token (first) gets no encoding.
        """
        outputs = self.plain_image_features(
            pixel_values=pixel_values, vision_feature_layer=vision_feature_layer,
            vision_feature_select_strategy=vision_feature_select_strategy, image_sizes=image_sizes, **kwargs
        )
        if depth_values is None or not self.config.use_depth:
            return outputs
        _check_depth_shape(depth_values, pixel_values)
        check_depth_values(depth_values, self.config.depth_convention)
        features = outputs.pooler_output
        grid = self.depth_grid(depth_values.to(pixel_values.device)).flatten(1)
        strategy = vision_feature_select_strategy or self.config.vision_feature_select_strategy
        num_extra = 1 if strategy == "full" else 0
        for index, feature in enumerate(features):
            if feature.shape[0] != grid.shape[1] + num_extra:
                raise ValueError(
                    f"image {index}: {feature.shape[0]} image features but the depth grid has {grid.shape[1]} cells "
                    f"(+{num_extra} CLS); the depth map does not match the vision tower's patch grid"
                )
        encoding = config_depth_encoding(grid, self.config)
        # the CLS token (first, "full" strategy) gets no encoding
        outputs.pooler_output = add_depth_encoding(features, encoding, skip_first=num_extra)
        return outputs

    def get_placeholder_mask(self, input_ids, inputs_embeds, image_features):
        """LLaVA's placeholder mask, with a ValueError that names the offending batch row.

        `image_features` is `(total_image_tokens, hidden)`, all images concatenated. The count check
        here is explicit (it holds even with `TRANSFORMERS_DISABLE_TORCH_CHECK=1`); the detailed
        message is built only when it fails.
        """
        if input_ids is None:
            special_image_mask = super().get_placeholder_mask(
                input_ids, inputs_embeds=inputs_embeds, image_features=image_features
            )
            if int(special_image_mask.sum()) * inputs_embeds.shape[-1] != image_features.numel():
                raise ValueError(
                    f"image-token / feature mismatch: the embeddings have {int(special_image_mask.sum())} image "
                    f"tokens but the images give {image_features.shape[0]} features"
                )
            return special_image_mask
        special_image_mask = input_ids == self.config.image_token_id
        num_tokens = int(special_image_mask.sum())
        if num_tokens != image_features.shape[0]:
            self._raise_placeholder_mismatch(special_image_mask, image_features.shape[0])
        if num_tokens * inputs_embeds.shape[-1] != image_features.numel():
            raise ValueError(
                f"image features of shape {tuple(image_features.shape)} do not match the text embedding "
                f"width {inputs_embeds.shape[-1]}"
            )
        return special_image_mask.unsqueeze(-1).to(inputs_embeds.device)

    def _raise_placeholder_mismatch(self, special_image_mask, num_features):
        tokens_per_row = special_image_mask.sum(dim=-1).tolist()
        vision = self.config.vision_config
        per_image = (vision.image_size // vision.patch_size) ** 2
        per_image += 1 if self.config.vision_feature_select_strategy == "full" else 0
        bad_rows = [row for row, count in enumerate(tokens_per_row) if count % per_image or count == 0]
        row = bad_rows[0] if bad_rows else len(tokens_per_row) - 1
        raise ValueError(
            f"image-token / feature mismatch: the text has {sum(tokens_per_row)} image tokens "
            f"(per batch row: {tokens_per_row}) but the images give {num_features} features "
            f"({per_image} per image); first suspicious batch row: {row}"
        )


class SDVLMForConditionalGeneration(DepthGenerationMixin, LlavaForConditionalGeneration):
    """[`LlavaForConditionalGeneration`] with SD-VLM's depth encoding; `forward`/`generate` take `depth_values`
    `(num_images, size, size)` (None = no depth), encoded by [`SDVLMModel`] at prefill."""

    config: SDVLMConfig
    config_class = SDVLMConfig
    depth_model_class = SDVLMModel
    forward = depth_generation_forward(LlavaForConditionalGeneration.forward)

    def generate(self, *args, **kwargs):
        """[`GenerationMixin.generate`], refusing right-padded prompts.

        New tokens follow the last position of every row, so a row that ends in padding would be
        continued after its pad tokens and answer differently than alone: batches must be padded on
        the LEFT (`SDVLMProcessor` does so for batched text unless told otherwise).
        """
        attention_mask = kwargs.get("attention_mask")
        if torch.is_tensor(attention_mask) and attention_mask.dim() == 2 and attention_mask.shape[1]:
            ends_in_padding = (attention_mask[:, -1] == 0).nonzero()
            if ends_in_padding.numel():
                raise ValueError(
                    f"batch row {int(ends_in_padding[0, 0])} ends in padding (right-padded prompts); generate needs "
                    "left padding: processor(..., padding=True, padding_side='left')"
                )
        return super().generate(*args, **kwargs)


# Same parameters as LLaVA, so the same checkpoint key layout: LLaVA's renamings (legacy
# `language_model.model.*` keys of llava-hf checkpoints) apply to "sdvlm" too. Loading maps both the
# legacy and the new layout; saving reverses the mapping, so `save_pretrained` writes exactly the
# keys plain `LlavaForConditionalGeneration.save_pretrained` writes (in transformers 5.x: the legacy
# layout; tested). Code that loads a checkpoint's raw state dict (Trainer resume) must map it back
# (sdvlm/train.py does).
register_depth_family(
    SDVLMConfig, SDVLMModel, SDVLMForConditionalGeneration, {"sdvlm": "llava", "SDVLMModel": "LlavaModel"}
)

__all__ = ["SDVLMModel", "SDVLMForConditionalGeneration", "depth_positional_encoding"]
