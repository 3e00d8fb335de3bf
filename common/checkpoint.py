"""A checkpoint after every task: all that a run needs to continue as if it had never stopped.

One file, `checkpoint.npz` in the results folder, written atomically: the model's variables (with the
dropout seed), the optimiser's, the method's `state()`, and the progress so far (tasks done, accuracy
rows) as JSON. Shuffling depends only on (seed, task, round, epoch), so it needs no saving.
"""
import io
import json
from pathlib import Path

import numpy as np

from common.errors import UserError
from common.results import write_atomic

FILE = "checkpoint.npz"


def _variables(trainer) -> dict:
    named = {f"model/{i}": v for i, v in enumerate(trainer.model.variables)}
    named |= {f"optimizer/{i}": v for i, v in enumerate(trainer.optimizer.variables)}
    return named | {f"method/{name}": v for name, v in trainer.method.state().items()}


def save(folder: Path, trainer, progress: dict) -> None:
    buffer = io.BytesIO()
    arrays = {name: np.asarray(v.numpy()) for name, v in _variables(trainer).items()}
    np.savez(buffer, progress=np.array(json.dumps(progress)), **arrays)
    write_atomic(Path(folder) / FILE, buffer.getvalue())


def load(folder: Path, trainer) -> dict | None:
    """Restore the trainer's variables from `folder`'s checkpoint; returns the progress, or None if
    the run stopped before its first task ended."""
    path = Path(folder) / FILE
    if not path.exists():
        return None
    with np.load(path) as saved:
        variables = _variables(trainer)
        if sorted(variables) != sorted(k for k in saved.files if k != "progress"):
            raise UserError(f"{path} does not match this run's model and method: it cannot be resumed")
        for name, v in variables.items():
            v.assign(saved[name])
        return json.loads(str(saved["progress"]))
