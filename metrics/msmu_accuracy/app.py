"""The metric's Hugging Face Space: paste answers, get the MSMU-Bench score and a reason per item.

Run locally with `python metrics/msmu_accuracy/app.py` (binds 127.0.0.1; on Spaces the platform
sets GRADIO_SERVER_NAME). evaluate's own `launch_gradio_widget` targets the gradio 3 API, so the
widget is a small Blocks app here.
"""

from __future__ import annotations

import os
from pathlib import Path

import evaluate

_HERE = Path(__file__).resolve().parent
_EXAMPLE = [
    ["It is about 1.5 meters away.", "150 cm", "absolute_distance"],
    ["Roughly 5 feet 3 inches tall.", "1.6 m", "scale_estimation"],
    ["0.8 x 0.6 x 1.2 m", "0.8 m x 0.63 m x 0.55 m", "scale_estimation"],
    ["There are 3 chairs.", "3", "count"],
    ["Yes, it is.", "yes", "zero"],
    ["the table", "The wooden table is taller.", "scale_compare"],
]


def load_metric() -> evaluate.EvaluationModule:
    # By file path: on a Space the folder is not named after the module, so a folder path would not resolve.
    return evaluate.load(str(_HERE / "msmu_accuracy.py"))


def score_rows(metric: evaluate.EvaluationModule, rows: list[list[str]], rule: str = "msmu") -> dict:
    """Score table rows [prediction, reference, category]; blank rows are skipped."""
    rows = [row for row in rows if row and any(str(cell).strip() for cell in row)]
    if not rows:
        raise ValueError("add at least one row: prediction, reference, category")
    predictions = [str(row[0]) for row in rows]
    references = [str(row[1]) for row in rows]
    categories = [str(row[2]).strip() if len(row) > 2 and row[2] is not None else "" for row in rows]
    return metric.compute(
        predictions=predictions, references=references, categories=categories, rule=rule, return_per_item=True
    )


def build_demo(metric: evaluate.EvaluationModule | None = None):
    """The Blocks app: an editable table of answers, a rule choice, and the JSON result."""
    import gradio as gr

    metric = metric or load_metric()

    def run(table, rule):
        rows = table.values.tolist() if hasattr(table, "values") else table
        try:
            return score_rows(metric, rows, rule)
        except ValueError as error:
            raise gr.Error(str(error)) from None

    with gr.Blocks(title="MSMU-Bench accuracy") as demo:
        gr.Markdown((_HERE / "README.md").read_text(encoding="utf-8").split("---", 2)[-1])
        table = gr.Dataframe(
            headers=["prediction", "reference", "category"], value=_EXAMPLE, column_count=3, interactive=True
        )
        rule = gr.Radio(["msmu", "spatialrgpt", "qspatial", "vqasynth"], value="msmu", label="rule")
        button = gr.Button("Score")
        output = gr.JSON(label="result")
        button.click(run, inputs=[table, rule], outputs=output, api_name="score")
    return demo


if __name__ == "__main__":
    build_demo().launch(server_name=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"))


__all__ = ["build_demo", "load_metric", "score_rows"]
