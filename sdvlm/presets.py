"""The tiny from-scratch preset of the quickstart and the ablation: data, model and optimisation.

Chosen for a 2-core CPU (the quickstart, install included, stays under 10 minutes) and so that
every MSMU-Bench category is there to be learned:
- Questions: all eight categories (`CATEGORY_NAMES`), 16 per frame over 800 rooms x 4 views
  (about 36,000 training QA); the builder spends its question budget on `categories` and
  `question_kinds` alone when they are narrowed. The test split is capped at 1,600 items, the
  same number per category (200), so every per-category rate rests on as many items. `count` is
  the one category a model can hardly beat the constant on: rooms of 2-4 objects rarely hold two
  of a kind, so "1" is right about 97% of the time.
- 1,500 steps of 32: about 1.3 epochs. The qualitative "which one" answers ("The red chair") need
  the model to copy a name from the question, which the tiny model learns slowly: after 800 steps
  it answered 2-5% of them right (a fixed frequent name), after 1,500 steps 8-32%.
- Scenes with few objects (so a name is grounded by its colour), random camera height, pitch,
  field of view and object sizes (so position and apparent size alone do not give distance),
  many questions per frame, square 32 px images with 8 px patches (16 image tokens).
- Answers with one decimal ("2.3 m"): four tokens that a digit-level tokenizer decodes easily,
  and 5 cm of rounding is far inside the metric's 25 % tolerance.
- DPE with `depth_normalization="none"` on the ground-truth metric depth: absolute distance needs
  absolute depth; the authors' per-image min-max keeps only the ordering within an image and
  throws the scale away (that is `dpe_minmax` in the ablation). `depth_scale=10` encodes
  decimetres: 0-80 for indoor rooms, in the range where the fixed sinusoid's low frequencies
  vary smoothly and monotonically.
- The vicuna_v1 format with an empty system line: the long system sentence would triple the text
  tokens of every step and carries no information for a model trained from scratch.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from dataset_builders.msmu.templates import CATEGORY_NAMES

VICUNA_SYSTEM = (
    "A chat between a curious user and an artificial intelligence assistant. "
    "The assistant gives helpful, detailed, and polite answers to the user\\'s questions."
)


@dataclass
class TinyPreset:
    # data
    num_scenes: int = 800
    frames_per_scene: int = 4
    test_fraction: float = 0.1
    image_size: int = 32
    objects_per_scene: tuple = (2, 4)
    qa_per_frame: int = 16
    decimals: int = 1
    categories: tuple = CATEGORY_NAMES
    question_kinds: tuple = ()
    cot: bool = False  # chain-of-thought answers (the builder's reasoning), for the SD-VLM + CoT row
    max_test_items: int = 1600
    # model
    patch_size: int = 8
    vision_hidden_size: int = 64
    vision_layers: int = 2
    text_hidden_size: int = 128
    text_layers: int = 2
    num_heads: int = 4
    depth_normalization: str = "none"
    depth_scale: float = 10.0
    depth_pe_amplitude: float = 1.0
    # optimisation (full fine-tuning from scratch)
    max_steps: int = 1500
    batch_size: int = 32
    learning_rate: float = 2e-3
    warmup: float = 0.05
    seed: int = 0
    max_new_tokens: int = 8
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


def short_system_template(template: str) -> str:
    """The vicuna_v1 template with an empty system sentence (see the module docstring)."""
    if VICUNA_SYSTEM not in template:
        raise ValueError("the processor's chat template does not carry the vicuna_v1 system sentence")
    return template.replace(VICUNA_SYSTEM, "")


__all__ = ["TinyPreset", "short_system_template", "VICUNA_SYSTEM"]
