"""What every tiny builder shares (`tiny`, `tiny_llava_onevision`): the model sizes, the config fields
set from them, and the seeded model with the tokenizer's special tokens in its generation config."""

from dataclasses import dataclass, fields

import torch


@dataclass(frozen=True)
class TinySizes:
    """A tiny model's sizes; the MLPs are twice as wide as their tower, `num_heads` is both towers'."""

    vision_hidden_size: int = 32
    vision_layers: int = 2
    text_hidden_size: int = 64
    text_layers: int = 2
    num_heads: int = 4

    @classmethod
    def pop_from(cls, overrides: dict) -> "TinySizes":
        """The sizes named in `overrides`, removed from it (what is left are config fields)."""
        return cls(**{field.name: overrides.pop(field.name) for field in fields(cls) if field.name in overrides})

    def vision_fields(self) -> dict:
        """The sizes of a CLIP / SigLIP vision config."""
        return dict(
            hidden_size=self.vision_hidden_size,
            intermediate_size=self.vision_hidden_size * 2,
            num_hidden_layers=self.vision_layers,
            num_attention_heads=self.num_heads,
        )

    def text_fields(self, tokenizer, num_key_value_heads: int | None = None) -> dict:
        """A decoder config's sizes and `tokenizer`'s vocabulary and special tokens.

        Args:
            num_key_value_heads: None = `num_heads` (no grouped-query attention).
        """
        return dict(
            vocab_size=len(tokenizer),
            hidden_size=self.text_hidden_size,
            intermediate_size=self.text_hidden_size * 2,
            num_hidden_layers=self.text_layers,
            num_attention_heads=self.num_heads,
            num_key_value_heads=num_key_value_heads or self.num_heads,
            max_position_embeddings=4096,
            bos_token_id=tokenizer.bos_token_id,
            eos_token_id=tokenizer.eos_token_id,
            pad_token_id=tokenizer.pad_token_id,
        )


def seeded_tiny_model(model_class, config, tokenizer, seed: int):
    """`model_class(config)` randomly initialised from `seed`, in eval mode, generating with `tokenizer`'s
    pad / end / start tokens."""
    torch.manual_seed(seed)
    model = model_class(config)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.bos_token_id = tokenizer.bos_token_id
    return model.eval()


__all__ = ["TinySizes", "seeded_tiny_model"]
