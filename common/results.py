"""A run's results folder: config.json, accuracy.csv (and the run's other result matrices, such as
validation_accuracy.csv), summary.json and curves.png.

Every file is written to a temporary file beside it and renamed into place, so a kill at any moment
leaves the previous version or the new one, never half a file. accuracy.csv, summary.json and the
figure are rewritten after every task, so a crash loses at most the task in progress.
"""
import io
import json
import os
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from common import data, metrics  # noqa: E402
from common.errors import UserError  # noqa: E402

RESULTS = Path(__file__).resolve().parents[1] / "results"
SUMMARY_KEY = {"validation_accuracy": "validation"}  # where summary.json keeps a matrix's summary


def write_atomic(path: Path, content: str | bytes) -> None:
    """Write `content` to `path` through a temporary file and a rename; a failure (read-only folder,
    full disk) raises a one-line UserError and leaves no partial file."""
    path = Path(path)
    temporary = path.with_name(f".{path.name}.tmp")
    try:
        with open(temporary, "wb") as file:
            file.write(content.encode() if isinstance(content, str) else content)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        raise UserError(f"cannot write {path}: {error.strerror or error}") from None


def write_json(path: Path, data) -> None:
    write_atomic(path, json.dumps(data, indent=2) + "\n")


def figure_png(figure, dpi: int = 100) -> bytes:
    """The figure as PNG bytes (for write_atomic); the figure is closed."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    plt.close(figure)
    return buffer.getvalue()


def matrix_csv(matrix, tasks: int) -> str:
    """Row i: after training task i+1; column j: accuracy (%) on task j+1, blank for tasks not yet seen."""
    lines = ["after_task," + ",".join(f"task_{j + 1}" for j in range(tasks))]
    for i, row in enumerate(matrix):
        lines.append(f"{i + 1}," + ",".join(f"{a:.2f}" for a in row) + "," * (tasks - len(row)))
    return "\n".join(lines) + "\n"


def curves_png(matrix, title: str) -> bytes:
    """Each task's accuracy as tasks are learned, and the average accuracy."""
    tasks = len(matrix)
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2), constrained_layout=True)
    for j in range(tasks):
        left.plot(range(j + 1, tasks + 1), [matrix[i][j] for i in range(j, tasks)], marker=".", label=f"task {j + 1}")
    left.set(xlabel="tasks learned", ylabel="test accuracy (%)", title="accuracy on each task")
    if tasks <= 10:
        left.legend(fontsize="small", ncol=2)
    right.plot(range(1, tasks + 1), metrics.average_accuracy(matrix), marker="o")
    right.set(xlabel="tasks learned", ylabel="average test accuracy (%)", title="average over tasks seen")
    for axis in (left, right):
        axis.xaxis.get_major_locator().set_params(integer=True)
        axis.grid(alpha=0.3)
    figure.suptitle(title)
    return figure_png(figure)


def make_folder(path: Path) -> Path:
    """Create `path` (and its parents) if needed; a failure raises a one-line UserError."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UserError(f"cannot create {path}: {error.strerror or error}") from None
    return path


def default_folder(config) -> Path:
    stem = Path(config.script).stem
    return RESULTS / f"{stem}-{config.benchmark}-{config.model}-seed{config.seed}-{time.strftime('%Y%m%d-%H%M%S')}"


# What a run writes into its folder (log.txt is compare.py's, and stays). --overwrite deletes these
# first, so that a folder never holds a new run's files beside an old run's.
RUN_FILES = ("config.json", "provenance.json", "summary.json", "*.csv", "*.png", "checkpoint.npz", "events.out.tfevents.*")


class RunDir:
    """The results folder of one run: a new folder, an interrupted run's (with --resume), or with
    --overwrite any run's, whose files are deleted first. Anything else holding a run is refused."""

    def __init__(self, config):
        self.path = Path(config.out) if config.out else default_folder(config)
        self.tasks = config.tasks
        self.title = f"{Path(config.script).stem}: {config.tasks}-task {config.benchmark} {data.DATASETS[config.dataset].title}, {config.model}"
        summary = self.path / "summary.json"
        finished = summary.exists() and json.loads(summary.read_text()).get("finished")
        if config.resume and finished:
            raise UserError(f"{self.path} holds a finished run: there is nothing to resume")
        if not config.resume and (self.path / "config.json").exists():
            if not config.overwrite:
                held = "a finished run" if finished else "an unfinished run (continue it with --resume DIR)"
                raise UserError(f"{self.path} holds {held}: pass --overwrite to replace it, or another --out")
            for pattern in RUN_FILES:
                for path in self.path.glob(pattern):
                    path.unlink()
        make_folder(self.path)
        write_json(self.path / "config.json", vars(config))

    def record(self, matrices: dict, extra=None) -> None:
        """Write the results of the tasks finished so far: each matrix to NAME.csv, the summary of
        "accuracy" at the top of summary.json and every other's under its name ("validation" for
        validation_accuracy); a name ending in "nll" or "fid" is one where lower is better."""
        matrix = matrices["accuracy"]
        summary = metrics.summarise(matrix) | {"tasks_done": len(matrix), "finished": len(matrix) == self.tasks}
        for name, other in matrices.items():
            write_atomic(self.path / f"{name}.csv", matrix_csv(other, self.tasks))
            if name != "accuracy":
                summary[SUMMARY_KEY.get(name, name)] = metrics.summarise(other, lower_is_better=name.endswith(("nll", "fid")))
        write_json(self.path / "summary.json", summary | (extra or {}))
        write_atomic(self.path / "curves.png", curves_png(matrix, self.title))
