"""Reading a folder of finished runs back: per-method tables and comparison figures.

A run is any folder below the given one that holds config.json and summary.json; its method is the
stem of the script that wrote it (`ewc`, `anpyc_wi_np`, ...).
"""
import csv
import io
import json
from pathlib import Path

import numpy as np

from common.results import figure_png, plt, write_atomic


def read_matrix(path: Path) -> list[list[float]]:
    rows = list(csv.reader(path.read_text().splitlines()))[1:]
    return [[float(a) for a in row[1:] if a != ""] for row in rows]


def load_runs(folder: Path) -> list[dict]:
    """Every finished run below `folder`, as dicts with method, seed, config, summary and matrix."""
    runs = []
    for summary_path in sorted(Path(folder).rglob("summary.json")):
        summary = json.loads(summary_path.read_text())
        config_path = summary_path.with_name("config.json")
        if not summary.get("finished") or not config_path.exists():
            continue
        config = json.loads(config_path.read_text())
        runs.append({
            "method": Path(config["script"]).stem, "seed": config["seed"], "config": config,
            "summary": summary, "matrix": read_matrix(summary_path.with_name("accuracy.csv")),
            "path": summary_path.parent,
        })
    return runs


def by_method(runs) -> dict[str, list[dict]]:
    groups = {}
    for run in runs:
        groups.setdefault(run["method"], []).append(run)
    return groups


def mean_std(values) -> tuple[float, float]:
    values = [v for v in values if v is not None]
    return (float(np.mean(values)), float(np.std(values))) if values else (float("nan"), float("nan"))


def table_rows(runs, metric="final_avg_accuracy") -> list[dict]:
    """One row per method, best final average accuracy first."""
    rows = []
    for method, group in by_method(runs).items():
        row = {"method": method, "seeds": len(group)}
        for name in (metric, "bwt", "forgetting"):
            row[name], row[name + "_std"] = mean_std([run["summary"][name] for run in group])
        rows.append(row)
    return sorted(rows, key=lambda row: -row[metric])


def write_tables(rows, folder: Path) -> str:
    """table.md and table.csv in `folder`; returns the Markdown."""
    lines = ["| method | final average accuracy (%) | BWT | forgetting | seeds |", "|---|---|---|---|---|"]
    for r in rows:
        lines.append(
            f"| {r['method']} | {r['final_avg_accuracy']:.2f} ± {r['final_avg_accuracy_std']:.2f} "
            f"| {r['bwt']:.2f} ± {r['bwt_std']:.2f} | {r['forgetting']:.2f} ± {r['forgetting_std']:.2f} | {r['seeds']} |"
        )
    markdown = "\n".join(lines) + "\n"
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]) if rows else ["method"])
    writer.writeheader()
    writer.writerows(rows)
    write_atomic(Path(folder) / "table.md", markdown)
    write_atomic(Path(folder) / "table.csv", buffer.getvalue())
    return markdown


def seeds(group) -> str:
    return f"{len(group)} seed" + ("s" if len(group) > 1 else "")


def _save(figure, path: Path) -> None:
    write_atomic(path, figure_png(figure, dpi=110))


def plot_comparison(runs, folder: Path) -> list[Path]:
    """average_accuracy.png, first_task.png and one heatmap per method in `folder`."""
    folder, groups, written = Path(folder), by_method(runs), []
    for name, title, ylabel, series in (
        ("average_accuracy.png", "average accuracy over the tasks learned", "average test accuracy (%)",
         lambda m: [float(np.mean(row)) for row in m]),
        ("first_task.png", "accuracy on the first task as more tasks are learned", "task 1 test accuracy (%)",
         lambda m: [row[0] for row in m]),
    ):
        figure, axis = plt.subplots(figsize=(8, 5), constrained_layout=True)
        for method, group in sorted(groups.items()):
            curves = np.array([series(run["matrix"]) for run in group])
            mean, std = curves.mean(0), curves.std(0)
            x = np.arange(1, len(mean) + 1)
            axis.plot(x, mean, marker="." if len(x) > 20 else "o", label=f"{method} ({seeds(group)})")
            axis.fill_between(x, mean - std, mean + std, alpha=0.2)
        axis.set(xlabel="tasks learned", ylabel=ylabel, title=title)
        axis.xaxis.get_major_locator().set_params(integer=True)
        axis.grid(alpha=0.3)
        axis.legend(fontsize="small", loc="lower left")
        _save(figure, folder / name)
        written.append(folder / name)
    for method, group in sorted(groups.items()):
        tasks = len(group[0]["matrix"])
        matrix = np.full((tasks, tasks), np.nan)
        for i in range(tasks):
            matrix[i, : i + 1] = np.mean([run["matrix"][i] for run in group], axis=0)
        figure, axis = plt.subplots(figsize=(6.5, 5.5), constrained_layout=True)
        low = np.nanmin(matrix)
        image = axis.imshow(matrix, vmin=low, vmax=100, cmap="viridis")
        figure.colorbar(image, ax=axis, label="test accuracy (%)")
        axis.set(xlabel="evaluated on task", ylabel="after training task",
                 title=f"{method}: accuracy matrix ({seeds(group)})")
        ticks = np.arange(0, tasks, max(1, tasks // 10))
        axis.set_xticks(ticks, ticks + 1)
        axis.set_yticks(ticks, ticks + 1)
        if tasks <= 10:
            for i, j in zip(*np.nonzero(~np.isnan(matrix))):
                bright = matrix[i, j] > low + 0.6 * (100 - low)  # viridis turns yellow: dark text there
                axis.text(j, i, f"{matrix[i, j]:.0f}", ha="center", va="center", fontsize=8,
                          color="black" if bright else "white")
        _save(figure, folder / f"heatmap_{method}.png")
        written.append(folder / f"heatmap_{method}.png")
    return written
