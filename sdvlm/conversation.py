"""MSMU conversations -> chat messages -> text segments, one rendering for training and evaluation.

Training and generation must see byte-identical prompts, and the Space renders prompts with the
processor's chat template too, so every prompt here goes through `processor.apply_chat_template`
(the vicuna_v1 template of LLaVA-1.5) rather than a hand-written format string.
"""

from __future__ import annotations

from dataset_builders.msmu.conventions import IMAGE_TOKEN as IMAGE_PLACEHOLDER  # the dataset's image token


def conversation_to_messages(conversations: list[dict], num_images: int = 1) -> list[dict]:
    """LLaVA-format turns (`{"from": "human"|"gpt", "value": str}`) -> chat-template messages.

    The `<image>` placeholder of the first human turn becomes `num_images` image content items (2
    for a row with a second, rendered-depth image), so the template places the images where the
    processor expects them.

    >>> conversation_to_messages([{"from": "human", "value": "<image>\\nHow far?"},
    ...                           {"from": "gpt", "value": "2 m"}])[0]["content"]
    [{'type': 'image'}, {'type': 'text', 'text': 'How far?'}]
    """
    if not conversations:
        raise ValueError("conversation is empty")
    messages = []
    for index, turn in enumerate(conversations):
        speaker = turn.get("from")
        if speaker not in ("human", "gpt"):
            raise ValueError(f"turn {index}: 'from' must be 'human' or 'gpt', got {speaker!r}")
        expected = "human" if index % 2 == 0 else "gpt"
        if speaker != expected:
            raise ValueError(f"turn {index}: expected a {expected!r} turn (turns must alternate)")
        text = turn["value"]
        if speaker == "gpt":
            messages.append({"role": "assistant", "content": [{"type": "text", "text": text}]})
            continue
        content = []
        if IMAGE_PLACEHOLDER in text:
            if index != 0:
                raise ValueError(f"turn {index}: only the first human turn may carry {IMAGE_PLACEHOLDER}")
            text = text.replace(IMAGE_PLACEHOLDER, "").strip()
            content += [{"type": "image"}] * num_images
        elif index == 0:
            content += [{"type": "image"}] * num_images  # MSMU questions are all about the one image
        content.append({"type": "text", "text": text})
        messages.append({"role": "user", "content": content})
    return messages


def question_messages(question: str, num_images: int = 1) -> list[dict]:
    """The one-turn user message for `question` about the image(s) (the generation prompt)."""
    return conversation_to_messages([{"from": "human", "value": question}], num_images)


def render_prompt(processor, question: str, num_images: int = 1) -> str:
    """The exact text (one `<image>` placeholder per image) the model sees before it answers."""
    return processor.apply_chat_template(question_messages(question, num_images), tokenize=False,
                                         add_generation_prompt=True)


def example_images(example: dict) -> list:
    """The RGB images of one MSMU row: its `image`, then its rendered `depth_image` where the row
    has one (the depth-as-extra-tokens ablation)."""
    images = [example["image"].convert("RGB")]
    if example.get("depth_image") is not None:
        images.append(example["depth_image"].convert("RGB"))
    return images


def render_segments(processor, conversations: list[dict], num_images: int = 1) -> list[tuple[str, bool]]:
    """Split a rendered conversation into `(text, is_assistant)` segments whose concatenation is the
    full rendered conversation; assistant segments are exactly what the loss is computed on (the
    answer and its end-of-turn `</s>`).

    Relies on the template's prefix property: rendering the first k turns with the generation prompt
    is a prefix of rendering the first k+1 turns. A template without it raises `ValueError`.
    """
    messages = conversation_to_messages(conversations, num_images)
    if messages[-1]["role"] != "assistant":
        raise ValueError("conversation must end with an assistant ('gpt') turn to be trained on")
    segments: list[tuple[str, bool]] = []
    done = ""
    for end in range(2, len(messages) + 1, 2):
        prompt = processor.apply_chat_template(messages[: end - 1], tokenize=False, add_generation_prompt=True)
        full = processor.apply_chat_template(messages[:end], tokenize=False)
        if not prompt.startswith(done) or not full.startswith(prompt):
            raise ValueError(
                "the processor's chat template is not prefix-consistent (rendering turn by turn does not "
                "extend the previous rendering); cannot tell assistant tokens from prompt tokens"
            )
        segments.append((prompt[len(done) :], False))
        segments.append((full[len(prompt) :], True))
        done = full
    return segments


__all__ = ["IMAGE_PLACEHOLDER", "conversation_to_messages", "question_messages", "render_prompt", "example_images",
           "render_segments"]
