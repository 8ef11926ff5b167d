"""Result tables and per-category bar charts shared by evaluation, the quickstart and the ablation."""

from __future__ import annotations

from pathlib import Path


def format_table(results: dict[str, dict], spread: dict[str, dict] | None = None, score_key: str = "msmu_score",
                 sort_categories: bool = True) -> str:
    """A fixed-width table: one row per variant, columns `score_key` then each category (percent).

    `results[variant]` holds `score_key` and "per_category" {category: rate in [0, 1]} (columns
    sorted by name, or in the first variant's order with `sort_categories=False`);
    `spread[variant]`, if given, has the same layout with standard deviations, printed as "±".

    >>> print(format_table({"dpe": {"msmu_score": 0.5, "per_category": {"count": 0.5}}}))
    variant     msmu_score  count
    dpe               50.0   50.0
    """
    categories = _categories(results, sort_categories)
    width = max([len("variant")] + [len(name) for name in results]) + 2
    columns = [score_key] + categories
    widths = [max(len(column), 11 if spread else 5) for column in columns]
    lines = ["variant".ljust(width) + "  ".join(c.rjust(w) for c, w in zip(columns, widths))]
    for variant, row in results.items():
        values = [row.get(score_key)] + [row.get("per_category", {}).get(c) for c in categories]
        errors = [None] * len(values)
        if spread and variant in spread:
            errs = spread[variant]
            errors = [errs.get(score_key)] + [errs.get("per_category", {}).get(c) for c in categories]
        cells = []
        for value, error, w in zip(values, errors, widths):
            if value is None:
                cell = "-"
            elif error is None:
                cell = f"{100 * value:.1f}"
            else:
                cell = f"{100 * value:.1f}±{100 * error:.1f}"
            cells.append(cell.rjust(w))
        lines.append(variant.ljust(width) + "  ".join(cells))
    return "\n".join(lines)


def _categories(results: dict[str, dict], sort_categories: bool) -> list[str]:
    names = dict.fromkeys(c for row in results.values() for c in row.get("per_category", {}))
    return sorted(names) if sort_categories else list(names)


def save_figure(fig, path: str | Path) -> Path:
    """Write a matplotlib figure as PNG (parent folders created) and free it."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def plot_per_category(results: dict[str, dict], path: str | Path, title: str = "MSMU success per category",
                      score_key: str = "msmu_score", sort_categories: bool = True) -> Path:
    """Grouped bar chart (percent) of per-category success, one bar group per category and one for
    `score_key`, written with matplotlib's headless Agg backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    categories = _categories(results, sort_categories) + [score_key]
    variants = list(results)
    x = np.arange(len(categories))
    bar = 0.8 / max(1, len(variants))
    fig, ax = plt.subplots(figsize=(1.2 + 1.1 * len(categories) * max(1, len(variants)) ** 0.5, 3.6))
    for i, variant in enumerate(variants):
        row = results[variant]
        values = [100 * row.get("per_category", {}).get(c, np.nan) for c in categories[:-1]]
        values.append(100 * row.get(score_key, np.nan))
        ax.bar(x + (i - (len(variants) - 1) / 2) * bar, values, bar, label=variant)
    ax.set_xticks(x, categories, rotation=20, ha="right")
    ax.set_ylabel("success (%)")
    ax.set_ylim(0, 100)
    ax.set_title(title)
    ax.legend(fontsize=8)
    return save_figure(fig, path)


def plot_noise_curve(results: dict[str, dict], sigmas: list[float], path: str | Path,
                     title: str = "Test-depth noise (patch-level, relative)") -> Path:
    """msmu_score (percent, mean ± sd over seeds) against the noise sigma, one line per variant that
    has `<variant>+noise<sigma>` entries in `results` (sigma 0 is the variant itself)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.0, 3.4))
    noisy = sorted({label.split("+noise")[0] for label in results if "+noise" in label})
    for variant in noisy:
        labels = [variant if sigma == 0 else f"{variant}+noise{sigma:g}" for sigma in sigmas]
        points = [(s, results[label]) for s, label in zip(sigmas, labels) if label in results]
        ax.errorbar([s for s, _ in points], [100 * row["msmu_score"] for _, row in points],
                    yerr=[100 * row.get("msmu_score_std", 0.0) for _, row in points], marker="o", capsize=3,
                    label=variant)
    for variant in ("no_depth", "constant"):
        if variant in results:
            ax.axhline(100 * results[variant]["msmu_score"], linestyle="--", linewidth=1, color="grey")
            ax.annotate(variant, (max(sigmas), 100 * results[variant]["msmu_score"]), fontsize=7, ha="right",
                        va="bottom", color="grey")
    ax.set_xlabel("noise sigma (log-normal factor per token cell)")
    ax.set_ylabel("msmu_score (%)")
    ax.set_title(title)
    if noisy:
        ax.legend(fontsize=8)
    return save_figure(fig, path)


__all__ = ["format_table", "save_figure", "plot_per_category", "plot_noise_curve"]
