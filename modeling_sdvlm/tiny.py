"""Tiny, offline SD-VLM builders for tests, the quickstart and the Space.

Everything here is built in place from configs: no download. The tokenizer is word-level over
the texts it is given, with every digit and "." its own token (so a tiny model can learn to write
any number digit by digit) and spaces / newlines as tokens (so decoding gives the text back).

>>> processor = build_tiny_processor(texts=["How far is the chair?", "1.25 m"])
>>> processor.tokenizer.tokenize("1.25 m")
['1', '.', '2', '5', ' ', 'm']
>>> model = build_tiny_model(processor)
>>> model.config.model_type, model.config.use_depth
('sdvlm', True)

Every family has a tiny builder (`family="llava"` by default, `"qwen2_5_vl"`, `"qwen3_vl"`,
`"llava_onevision"`):

>>> processor = build_tiny_processor(texts=["How far?"], family="qwen2_5_vl")
>>> build_tiny_model(processor, family="qwen2_5_vl").config.model_type
'sdvlm_qwen2_5_vl'
"""

import re
from collections.abc import Iterable

from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, processors
from transformers import CLIPVisionConfig, LlamaConfig, PreTrainedTokenizerFast, Qwen2VLImageProcessor

from .configuration_sdvlm import SDVLMConfig
from .families import FAMILIES, family_of_processor
from .processing_sdvlm import SDVLMProcessor, llava15_processor
from .qwen_depth import QWEN_CHAT_TEMPLATE
from .tiny_common import TinySizes, seeded_tiny_model
from .tiny_llava_onevision import build_tiny_llava_onevision_processor, tiny_llava_onevision_config

SPECIAL_TOKENS = ("<unk>", "<s>", "</s>", "<pad>", "<image>")
# Qwen's own special tokens (names as in the released tokenizers); no BOS, `<|im_end|>` ends a turn.
QWEN_SPECIAL_TOKENS = {
    "image_token": "<|image_pad|>",
    "video_token": "<|video_pad|>",
    "vision_start_token": "<|vision_start|>",
    "vision_end_token": "<|vision_end|>",
}
QWEN_TURN_TOKENS = ("<|im_start|>", "<|im_end|>", "<|endoftext|>")
QWEN_FAMILIES = ("qwen2_5_vl", "qwen3_vl")
# Letter runs, single digits, single whitespace characters, single other characters.
PIECE_PATTERN = r"[^\W\d_]+|\d|\s|[^\w\s]|_"
VICUNA_WORDS = (
    "A chat between a curious user and an artificial intelligence assistant. The assistant gives helpful, "
    "detailed, and polite answers to the user's questions. USER: ASSISTANT:\n"
)
# Always in the vocabulary: numbers and the units and words of spatial answers.
BASE_TEXT = "0123456789 . , ? ! : ; ' \" - x m cm mm meters meter centimeters yes no Yes No left right\n"


def _pieces(text: str) -> list[str]:
    return re.findall(PIECE_PATTERN, text)


def _check_family(family: str) -> None:
    if family not in FAMILIES:
        raise ValueError(f"unknown family {family!r}; expected one of {', '.join(FAMILIES)}")


def build_tiny_tokenizer(
    texts: Iterable[str] = (), extra_tokens: Iterable[str] = (), family: str = "llava"
) -> PreTrainedTokenizerFast:
    """Word-level tokenizer over `texts` (plus the vicuna template, digits, units).

    Args:
        texts: texts whose words enter the vocabulary (questions, answers).
        extra_tokens: more vocabulary entries, kept whole.
        family: `"llava"`: adds `<s>` at the start, `<image>` is a special token. A Qwen family:
            Qwen's special tokens (`<|image_pad|>`, `<|vision_start|>`, `<|im_start|>`, ...), no BOS,
            `<|im_end|>` as end of sequence, `<|endoftext|>` as padding.

    Returns:
        A `PreTrainedTokenizerFast` that pads on the left (for batched generation) and decodes back
        to the text.
    """
    _check_family(family)
    qwen = family in QWEN_FAMILIES
    specials = SPECIAL_TOKENS + ((*QWEN_SPECIAL_TOKENS.values(), *QWEN_TURN_TOKENS) if qwen else ())
    vocab_pieces = set(_pieces(VICUNA_WORDS + BASE_TEXT))
    for text in texts:
        vocab_pieces.update(_pieces(text))
    vocab_pieces.update(extra_tokens)
    vocab_pieces.difference_update(specials)
    vocab = {token: index for index, token in enumerate(specials)}
    for token in sorted(vocab_pieces):
        vocab[token] = len(vocab)
    backend = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.Split(Regex(PIECE_PATTERN), behavior="isolated")
    # Pieces include their whitespace, so decoding is plain concatenation.
    backend.decoder = decoders.Fuse()
    if qwen:
        return PreTrainedTokenizerFast(
            tokenizer_object=backend,
            eos_token="<|im_end|>",
            unk_token="<unk>",
            pad_token="<|endoftext|>",
            extra_special_tokens={**QWEN_SPECIAL_TOKENS, "im_start_token": "<|im_start|>"},
            padding_side="left",
            model_max_length=4096,
        )
    backend.post_processor = processors.TemplateProcessing(
        single="<s> $A", pair="<s> $A <s> $B", special_tokens=[("<s>", vocab["<s>"])]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=backend,
        bos_token="<s>",
        eos_token="</s>",
        unk_token="<unk>",
        pad_token="<pad>",
        extra_special_tokens={"image_token": "<image>"},
        padding_side="left",
        model_max_length=4096,
    )


def build_tiny_processor(
    texts: Iterable[str] = (),
    image_size: int = 64,
    patch_size: int = 8,
    vision_feature_select_strategy: str = "default",
    estimate_missing_depth: bool = False,
    do_pad: bool = True,
    family: str = "llava",
    **processor_kwargs,
):
    """A processor for the tiny preset: original LLaVA's geometry (pad to square, resize, crop), or a
    Qwen family's (`smart_resize` to multiples of `2 * patch_size`, at most `image_size^2` pixels).

    Args:
        texts: texts for the tokenizer's vocabulary.
        image_size, patch_size: the vision tower's input size and patch size.
        vision_feature_select_strategy: `"default"` (CLS dropped) or `"full"`.
        estimate_missing_depth: estimate depth when none is given (off: the tiny preset is for
            offline use; pass depth or inject an estimator with `set_depth_estimator`).
        do_pad: pad to a square before resizing (original LLaVA); False gives CLIP's
            resize-shortest-edge + center-crop (the llava-hf checkpoints).
        family: a key of `families.FAMILIES` (`"llava"`, `"qwen2_5_vl"`, `"qwen3_vl"`,
            `"llava_onevision"`).

    Returns:
        [`SDVLMProcessor`] with the vicuna_v1 chat template, or the family's SD-VLM processor with
        a ChatML template (`QWEN_CHAT_TEMPLATE`) and no video processor.
    """
    _check_family(family)
    if family == "llava_onevision":
        return build_tiny_llava_onevision_processor(
            build_tiny_tokenizer(texts),
            image_size=image_size,
            patch_size=patch_size,
            estimate_missing_depth=estimate_missing_depth,
            **processor_kwargs,
        )
    if family in QWEN_FAMILIES:
        processor_class = FAMILIES[family].processor_class
        merge = 2
        image_processor = Qwen2VLImageProcessor(
            patch_size=patch_size,
            merge_size=merge,
            temporal_patch_size=2,
            min_pixels=(patch_size * merge) ** 2,
            max_pixels=image_size * image_size,
        )
        return processor_class(
            image_processor=image_processor,
            tokenizer=build_tiny_tokenizer(texts, family=family),
            chat_template=QWEN_CHAT_TEMPLATE,
            estimate_missing_depth=estimate_missing_depth,
            **processor_kwargs,
        )
    return llava15_processor(
        build_tiny_tokenizer(texts),
        image_size,
        patch_size,
        vision_feature_select_strategy,
        do_pad,
        estimate_missing_depth=estimate_missing_depth,
        **processor_kwargs,
    )


def tiny_sdvlm_config(processor: SDVLMProcessor, **overrides) -> SDVLMConfig:
    """An `SDVLMConfig` matching `processor` (vocabulary, image size, patch size, image token).

    Args:
        processor: from [`build_tiny_processor`].
        overrides: model sizes (`TinySizes` fields: `vision_hidden_size`, `vision_layers`,
            `text_hidden_size`, `text_layers`, `num_heads`) and any `SDVLMConfig` field (`use_depth`,
            `depth_normalization`, `depth_scale`, `vision_feature_layer`, ...).
    """
    sizes = TinySizes.pop_from(overrides)
    tokenizer = processor.tokenizer
    image_size = processor.image_processor.crop_size["height"]
    vision_config = CLIPVisionConfig(
        **sizes.vision_fields(),
        image_size=image_size,
        patch_size=processor.patch_size,
        projection_dim=sizes.vision_hidden_size,
    )
    grid = image_size // processor.patch_size
    settings = dict(
        vision_config=vision_config,
        text_config=LlamaConfig(**sizes.text_fields(tokenizer)),
        image_token_index=processor.image_token_id,
        image_seq_length=grid * grid,
        vision_feature_select_strategy=processor.vision_feature_select_strategy,
        # A 2-layer tower's penultimate layer is one layer deep; the tiny preset reads the last.
        vision_feature_layer=-1,
        pad_token_id=tokenizer.pad_token_id,
        depth_estimator=processor.depth_estimator,
    )
    settings.update(overrides)
    return SDVLMConfig(**settings)


def tiny_qwen_config(processor, family: str, **overrides):
    """A Qwen family's SD-VLM config matching `processor` (vocabulary, patch size, special tokens).

    Qwen2.5-VL's window attention gets 2 x 2-token windows (so the tower's window order is really
    exercised); Qwen3-VL feeds deepstack features from its first vision layer. `overrides`: model
    sizes (`TinySizes` fields) and any field of the family's config.
    """
    sizes = TinySizes.pop_from(overrides)
    tokenizer, image_processor = processor.tokenizer, processor.image_processor
    config_class = FAMILIES[family].config_class
    vision = dict(
        depth=sizes.vision_layers,
        hidden_size=sizes.vision_hidden_size,
        intermediate_size=sizes.vision_hidden_size * 2,
        num_heads=sizes.num_heads,
        out_hidden_size=sizes.text_hidden_size,
        patch_size=image_processor.patch_size,
        spatial_merge_size=image_processor.merge_size,
        temporal_patch_size=image_processor.temporal_patch_size,
    )
    head_dim = sizes.text_hidden_size // sizes.num_heads
    # 3D rope over (t, h, w): the head's half-width split in three
    mrope_section = [head_dim // 2 - 2 * (head_dim // 6), head_dim // 6, head_dim // 6]
    text = dict(
        sizes.text_fields(tokenizer, num_key_value_heads=sizes.num_heads // 2),
        rope_parameters={"rope_type": "default", "rope_theta": 10000.0, "mrope_section": mrope_section},
    )
    if family == "qwen2_5_vl":
        vision.update(window_size=2 * image_processor.patch_size * image_processor.merge_size, fullatt_block_indexes=[1])
    else:
        vision.update(num_position_embeddings=64, deepstack_visual_indexes=[0])
        text.update(head_dim=head_dim)
    settings = dict(
        vision_config=vision,
        text_config=text,
        image_token_id=processor.image_token_id,
        video_token_id=processor.video_token_id,
        vision_start_token_id=tokenizer.convert_tokens_to_ids("<|vision_start|>"),
        vision_end_token_id=tokenizer.convert_tokens_to_ids("<|vision_end|>"),
        depth_estimator=processor.depth_estimator,
    )
    settings.update(overrides)
    return config_class(**settings)


def build_tiny_model(processor, seed: int = 0, family: str | None = None, **overrides):
    """A randomly initialised tiny SD-VLM (deterministic for a seed) of `family`.

    Args:
        processor: from [`build_tiny_processor`] for the same family.
        seed: weight initialisation seed.
        family: a key of `families.FAMILIES`; None = the processor's family.
        overrides: sizes and config fields, see [`tiny_sdvlm_config`] / [`tiny_qwen_config`] /
            `tiny_llava_onevision_config`; `depth_convention` defaults to the processor's when it has
            one and no `depth_normalization` is given.

    `processor.depth_convention` is then set to the model's, so the processor converts depth for it.
    """
    if processor.depth_convention is not None and not {"depth_convention", "depth_normalization"} & set(overrides):
        overrides["depth_convention"] = processor.depth_convention
    family = family or family_of_processor(processor).name
    _check_family(family)
    if family != family_of_processor(processor).name:
        raise ValueError(f"family {family!r} does not match the {type(processor).__name__} processor")
    if family == "llava":
        config = tiny_sdvlm_config(processor, **overrides)
    elif family == "llava_onevision":
        config = tiny_llava_onevision_config(processor, **overrides)
    else:
        config = tiny_qwen_config(processor, family, **overrides)
    processor.depth_convention = config.depth_convention
    return seeded_tiny_model(FAMILIES[family].model_class, config, processor.tokenizer, seed)


__all__ = [
    "build_tiny_model",
    "build_tiny_processor",
    "build_tiny_tokenizer",
    "tiny_qwen_config",
    "tiny_sdvlm_config",
]
