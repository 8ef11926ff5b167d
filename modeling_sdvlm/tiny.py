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
"""

import re
from collections.abc import Iterable

import torch
from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, processors
from transformers import CLIPVisionConfig, LlamaConfig, PreTrainedTokenizerFast

from .configuration_sdvlm import SDVLMConfig
from .modeling_sdvlm import SDVLMForConditionalGeneration
from .processing_sdvlm import SDVLMProcessor, llava15_processor

SPECIAL_TOKENS = ("<unk>", "<s>", "</s>", "<pad>", "<image>")
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


def build_tiny_tokenizer(texts: Iterable[str] = (), extra_tokens: Iterable[str] = ()) -> PreTrainedTokenizerFast:
    """Word-level tokenizer over `texts` (plus the vicuna template, digits, units).

    Args:
        texts: texts whose words enter the vocabulary (questions, answers).
        extra_tokens: more vocabulary entries, kept whole.

    Returns:
        A `PreTrainedTokenizerFast` that adds `<s>` at the start, pads on the left (for batched
        generation) and decodes back to the text; `<image>` is a special token.
    """
    vocab_pieces = set(_pieces(VICUNA_WORDS + BASE_TEXT))
    for text in texts:
        vocab_pieces.update(_pieces(text))
    vocab_pieces.update(extra_tokens)
    vocab_pieces.difference_update(SPECIAL_TOKENS)
    vocab = {token: index for index, token in enumerate(SPECIAL_TOKENS)}
    for token in sorted(vocab_pieces):
        vocab[token] = len(vocab)
    backend = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.Split(Regex(PIECE_PATTERN), behavior="isolated")
    # Pieces include their whitespace, so decoding is plain concatenation.
    backend.decoder = decoders.Fuse()
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
    **processor_kwargs,
) -> SDVLMProcessor:
    """A processor for the tiny preset: original LLaVA's geometry (pad to square, resize, crop).

    Args:
        texts: texts for the tokenizer's vocabulary.
        image_size, patch_size: the vision tower's input size and patch size.
        vision_feature_select_strategy: `"default"` (CLS dropped) or `"full"`.
        estimate_missing_depth: estimate depth when none is given (off: the tiny preset is for
            offline use; pass depth or inject an estimator with `set_depth_estimator`).
        do_pad: pad to a square before resizing (original LLaVA); False gives CLIP's
            resize-shortest-edge + center-crop (the llava-hf checkpoints).

    Returns:
        [`SDVLMProcessor`] with the vicuna_v1 chat template.
    """
    return llava15_processor(
        build_tiny_tokenizer(texts),
        image_size,
        patch_size,
        vision_feature_select_strategy,
        do_pad,
        estimate_missing_depth=estimate_missing_depth,
        **processor_kwargs,
    )


def tiny_sdvlm_config(
    processor: SDVLMProcessor,
    vision_hidden_size: int = 32,
    vision_layers: int = 2,
    text_hidden_size: int = 64,
    text_layers: int = 2,
    num_heads: int = 4,
    **overrides,
) -> SDVLMConfig:
    """An `SDVLMConfig` matching `processor` (vocabulary, image size, patch size, image token).

    Args:
        processor: from [`build_tiny_processor`].
        vision_hidden_size, vision_layers, text_hidden_size, text_layers, num_heads: model sizes.
        overrides: any `SDVLMConfig` field (`use_depth`, `depth_normalization`, `depth_scale`,
            `vision_feature_layer`, ...).
    """
    tokenizer = processor.tokenizer
    image_size = processor.image_processor.crop_size["height"]
    vision_config = CLIPVisionConfig(
        hidden_size=vision_hidden_size,
        intermediate_size=vision_hidden_size * 2,
        num_hidden_layers=vision_layers,
        num_attention_heads=num_heads,
        image_size=image_size,
        patch_size=processor.patch_size,
        projection_dim=vision_hidden_size,
    )
    text_config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=text_hidden_size,
        intermediate_size=text_hidden_size * 2,
        num_hidden_layers=text_layers,
        num_attention_heads=num_heads,
        num_key_value_heads=num_heads,
        max_position_embeddings=4096,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    grid = image_size // processor.patch_size
    settings = dict(
        vision_config=vision_config,
        text_config=text_config,
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


def build_tiny_model(processor: SDVLMProcessor, seed: int = 0, **overrides) -> SDVLMForConditionalGeneration:
    """A randomly initialised tiny SD-VLM (deterministic for a seed); see [`tiny_sdvlm_config`]."""
    config = tiny_sdvlm_config(processor, **overrides)
    torch.manual_seed(seed)
    model = SDVLMForConditionalGeneration(config)
    model.generation_config.pad_token_id = processor.tokenizer.pad_token_id
    model.generation_config.eos_token_id = processor.tokenizer.eos_token_id
    model.generation_config.bos_token_id = processor.tokenizer.bos_token_id
    return model.eval()


__all__ = ["build_tiny_model", "build_tiny_processor", "build_tiny_tokenizer", "tiny_sdvlm_config"]
