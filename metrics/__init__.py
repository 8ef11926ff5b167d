"""Evaluation metrics of the project, each a folder that `evaluate.load` reads (and a Space)."""

__all__: list[str] = []
