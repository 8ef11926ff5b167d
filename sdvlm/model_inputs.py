"""The one prompt + processor path of training, evaluation and the Space, for every family.

Prompts come from the processor's own chat template (`conversation.render_prompt`); this module
makes the processor call that turns images, prompts and depth into model inputs, the same way
everywhere: no depth estimation inside (callers estimate or cache depth once), BOS added by the
tokenizer only when the template did not write it, padding on the side the caller needs (left for
generation, right for training).
"""

from __future__ import annotations

from .conversation import render_prompt

# Keys of a processor's output that are text-side: everything else (pixel_values, image_grid_thw,
# image_sizes, depth_values, ...) describes the images and passes through unchanged.
TEXT_KEYS = ("input_ids", "attention_mask", "mm_token_type_ids", "token_type_ids")


def prompt_adds_bos(processor, prompt: str) -> bool:
    """Whether the tokenizer must add BOS itself: not when the chat template already wrote it (and
    never for a tokenizer without BOS, such as Qwen's)."""
    bos = processor.tokenizer.bos_token
    return not (bos and prompt.startswith(bos))


def model_inputs(processor, images, prompts: list[str], depth=None, depth_kind="metric", padding_side: str = "left"):
    """Processor outputs (`return_tensors="pt"`) for rendered prompts and their images.

    Args:
        processor: any family's SD-VLM processor.
        images: the RGB images of every prompt in order (one per image placeholder), flat, or one list
            per prompt (`question_inputs(..., multi_image=True)`).
        prompts: rendered prompts (one image placeholder per image).
        depth: None, or one depth map per image.
        depth_kind: what the maps hold (`"metric"` or `"inverse"`, one for all or one per map); the
            processor converts them to the model's depth convention.
        padding_side: `"left"` for generation (batched rows then answer like single ones), `"right"`
            for training.
    """
    return processor(
        images=images,
        text=prompts,
        depth=depth,
        depth_kind=depth_kind,
        estimate_depth=False,
        padding=True,
        padding_side=padding_side,
        add_special_tokens=prompt_adds_bos(processor, prompts[0]),
        return_tensors="pt",
    )


def question_inputs(processor, images, questions: list[str], depth=None, depth_kind="metric",
                    multi_image: bool = False):
    """Generation inputs for one question per entry of `images` (an image, or a list of images: the
    photo and its rendered depth in the depth-as-extra-tokens ablation): the chat template's prompt
    with one placeholder per image, left padding.

    `multi_image=True`: each entry's images are one multi-image sample (video frames, several photos)
    and reach the processor as one list per question, as LLaVA-OneVision's needs to tell them from
    single images (one base tile each, no anyres grid; the other families read both forms alike).
    Off, the images go flat, as the training collator hands them (the ablation's photo + depth pair).
    """
    per_question = [list(row) if isinstance(row, (list, tuple)) else [row] for row in images]
    prompts = [render_prompt(processor, question, len(row)) for question, row in zip(questions, per_question)]
    flat = [image for row in per_question for image in row]
    return model_inputs(processor, per_question if multi_image else flat, prompts, depth, depth_kind, padding_side="left")


def image_inputs(outputs) -> dict:
    """The image-side entries of a processor output (all but `TEXT_KEYS`)."""
    return {key: value for key, value in outputs.items() if key not in TEXT_KEYS}


__all__ = ["TEXT_KEYS", "image_inputs", "model_inputs", "prompt_adds_bos", "question_inputs"]
