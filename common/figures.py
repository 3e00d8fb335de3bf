"""The figures of a comparison (compare.py, plot_results.py): per method and over its seeds, average
accuracy, the first task's accuracy and each task's accuracy when learned against the tasks learned,
accuracy matrices, time and memory per task, and free capacity where a method prunes."""
from pathlib import Path

import numpy as np

from common import data, metrics
from common.report import by_method, secondary
from common.results import figure_png, plt, write_atomic


def seeds(group) -> str:
    return f"{len(group)} seed" + ("s" if len(group) > 1 else "")


def _save(figure, path: Path) -> None:
    write_atomic(path, figure_png(figure, dpi=110))


def plot_costs(groups, path: Path) -> None:
    """Each method's wall time per task and resident memory after each task (the mean over its seeds)."""
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2), constrained_layout=True)
    for method, group in sorted(groups.items()):
        for axis, key in ((left, "task_seconds"), (right, "resident_mb")):
            curve = np.mean([run["summary"][key] for run in group], axis=0)
            axis.plot(np.arange(1, len(curve) + 1), curve, marker=".", label=f"{method} ({seeds(group)})")
    left.set(xlabel="task", ylabel="seconds", title="wall time of each task")
    right.set(xlabel="tasks learned", ylabel="MB", title="resident memory after each task", ylim=(0, None))
    for axis in (left, right):
        axis.xaxis.get_major_locator().set_params(integer=True)
        axis.grid(alpha=0.3)
    left.legend(fontsize="small")
    _save(figure, path)


def free_capacity(run) -> list[float] | None:
    """After each task, the share of the trunk's weights (kernels) that later tasks may train freely:
    PackNet's record (`free_capacity`: weights no task owns), or, for ANPyC with pruning on an MLP, the
    share its last mask pruned (`sparsity`, per tensor, weighted here by the kernels' sizes): the next
    task retrains those from zero, unprotected. None for a run with neither."""
    summary, config = run["summary"], run["config"]
    if "free_capacity" in summary:
        return summary["free_capacity"]
    if "sparsity" not in summary or config.get("model") != "mlp":
        return None
    widths = [data.DATASETS[config.get("dataset", "mnist")].pixels, *config["hidden"]]  # runs before --dataset: MNIST
    sizes = {f"dense_{i}/kernel": n_in * n_out for i, (n_in, n_out) in enumerate(zip(widths, widths[1:]))}
    return [sum(row[name] * size for name, size in sizes.items()) / sum(sizes.values()) for row in summary["sparsity"]]


def plot_free_capacity(groups, path: Path) -> None:
    """The mean free capacity after each task, for every method that records it."""
    figure, axis = plt.subplots(figsize=(8, 5), constrained_layout=True)
    for method, group in sorted(groups.items()):
        curve = np.mean([free_capacity(run) for run in group], axis=0)
        axis.plot(np.arange(1, len(curve) + 1), 100 * curve, marker="." if len(curve) > 20 else "o",
                  label=f"{method} ({seeds(group)})")
    axis.set(xlabel="tasks learned", ylabel="free weights (% of the trunk's)", ylim=(0, 100),
             title="weights free for later tasks after each task")
    axis.xaxis.get_major_locator().set_params(integer=True)
    axis.grid(alpha=0.3)
    axis.legend(fontsize="small")
    _save(figure, path)


# What a generative model's accuracy matrix holds, and its second number's figure: file, title, axis.
SAMPLE_ACCURACY = "judge's accuracy on generated samples (%)"
SECONDARY_FIGURE = {"nll": ("average_nll.png", "average negative ELBO over the tasks learned (lower is better)",
                            "average test negative ELBO (nats)"),
                    "fid": ("average_fid.png", "average Fréchet distance over the tasks learned (lower is better)",
                            "average Fréchet distance to the real test images")}


def plot_comparison(runs, folder: Path) -> list[Path]:
    """average_accuracy.png, first_task.png, learning_accuracy.png and one heatmap per method in `folder`;
    for generative models (whose accuracy is the judge's, on their samples) also average_nll.png or
    average_fid.png; costs.png when every run recorded its time and memory per task; free_capacity.png
    when some methods record their free weights (PackNet, ANPyC with pruning)."""
    folder, groups, written = Path(folder), by_method(runs), []
    second = secondary(runs)
    what = SAMPLE_ACCURACY if second else "test accuracy (%)"
    figures = [
        ("average_accuracy.png", "average accuracy over the tasks learned", f"average {what}",
         lambda run: [float(np.mean(row)) for row in run["matrix"]]),
        ("first_task.png", "accuracy on the first task as more tasks are learned", f"task 1 {what}",
         lambda run: [row[0] for row in run["matrix"]]),
        ("learning_accuracy.png", "each task's accuracy just after learning it", f"learning {what}",
         lambda run: metrics.learning_accuracy(run["matrix"])),
    ] + [(*SECONDARY_FIGURE[metric], lambda run, metric=metric: run["summary"][metric]["avg"]) for metric in second]
    for name, title, ylabel, series in figures:
        figure, axis = plt.subplots(figsize=(8, 5), constrained_layout=True)
        for method, group in sorted(groups.items()):
            curves = np.array([series(run) for run in group])
            mean, std = curves.mean(0), curves.std(0, ddof=1) if len(curves) > 1 else np.zeros(curves.shape[1])
            x = np.arange(1, len(mean) + 1)
            axis.plot(x, mean, marker="." if len(x) > 20 else "o", label=f"{method} ({seeds(group)})")
            axis.fill_between(x, mean - std, mean + std, alpha=0.2)
        axis.set(xlabel="tasks learned", ylabel=ylabel, title=title)
        axis.xaxis.get_major_locator().set_params(integer=True)
        axis.grid(alpha=0.3)
        axis.legend(fontsize="small", loc="best")
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
        figure.colorbar(image, ax=axis, label=what)
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
    recorded = [run["summary"].get("resident_mb") or [] for run in runs]  # runs begun before it was recorded lack it
    if all(len(mb) == len(run["matrix"]) and None not in mb for mb, run in zip(recorded, runs)):
        plot_costs(groups, folder / "costs.png")
        written.append(folder / "costs.png")
    pruning = {method: group for method, group in groups.items() if all(free_capacity(run) for run in group)}
    if pruning:
        plot_free_capacity(pruning, folder / "free_capacity.png")
        written.append(folder / "free_capacity.png")
    return written
