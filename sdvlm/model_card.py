"""Model cards for trained SD-VLM checkpoints: YAML front matter, a body, and `model-index` results.

Uses `huggingface_hub.ModelCard`, so the card is exactly what the Hub parses (the evaluation
results show up in the model page's widget and in Papers with Code).
"""

from __future__ import annotations

from pathlib import Path

from huggingface_hub import EvalResult, ModelCard, ModelCardData

CARD_TEMPLATE = "---\n{{ card_data }}\n---\n\n{{ body }}\n"


def write_model_card(output_dir: str | Path, *, model_name: str, base_model: str | None, datasets: list[str],
                     body: str) -> Path:
    """Write `<output_dir>/README.md` with front matter (library, pipeline tag, tags, base model)."""
    data = ModelCardData(
        model_name=model_name,
        library_name="transformers",
        pipeline_tag="image-text-to-text",
        license="apache-2.0",
        tags=["sdvlm", "depth-positional-encoding", "spatial-reasoning", "trl", "sft"],
        base_model=base_model if base_model and not Path(base_model).exists() else None,
        datasets=[name for name in datasets if name and not Path(name).exists()] or None,
    )
    card = ModelCard.from_template(data, template_str=CARD_TEMPLATE, body=body)
    path = Path(output_dir) / "README.md"
    card.save(path)
    return path


def update_model_index(card_path: str | Path, *, model_name: str, dataset_name: str, split: str,
                       scores: dict[str, float], dataset_type: str = "msmu") -> None:
    """Add (or replace) this dataset/split's results in the card's `model-index`.

    `scores` maps a metric name (e.g. "msmu_score", "success/absolute_distance") to its value; a
    card that does not exist yet is created with minimal front matter.
    """
    card_path = Path(card_path)
    card = ModelCard.load(card_path) if card_path.is_file() else ModelCard.from_template(
        ModelCardData(library_name="transformers"), template_str=CARD_TEMPLATE, body=f"# {model_name}\n")
    kept = [result for result in (card.data.eval_results or [])
            if not (result.dataset_name == dataset_name and result.dataset_split == split)]
    for metric, value in scores.items():
        kept.append(EvalResult(task_type="visual-question-answering", dataset_type=dataset_type,
                               dataset_name=dataset_name, dataset_split=split, metric_type=metric,
                               metric_name=metric, metric_value=float(value)))
    card.data.eval_results = kept
    card.data.model_name = card.data.model_name or model_name
    card.save(card_path)


__all__ = ["write_model_card", "update_model_index"]
