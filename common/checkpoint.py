"""A checkpoint after every task: all that a run needs to continue as if it had never stopped.

One file, `checkpoint.npz` in the results folder, written atomically: the model's variables (with the
dropout seed), the optimiser's, the method's `state()`, and the progress so far (tasks done, accuracy
rows) as JSON. Shuffling depends only on (seed, task, round, epoch), so it needs no saving.

Every array is keyed by its variable's name (`model/dense_0/kernel`, `optimizer/iteration`,
`method/omega/dense_0/kernel`, ...), never by its position, so that two tensors of one shape can never
be restored into each other; a checkpoint whose names, shapes or dtypes differ from the run's is
refused before anything is assigned.
"""
import io
import json
from pathlib import Path

import numpy as np

from common.errors import UserError
from common.results import write_atomic

FILE = "checkpoint.npz"


def _named(prefix: str | None, variables) -> dict:
    named = {}
    for v in variables:
        name = f"{prefix}/{v.path}" if prefix else v.path
        if name in named:
            raise ValueError(f"two variables are named {name}: a checkpoint could not tell them apart")
        named[name] = v
    return named


def _variables(trainer) -> dict:
    # The optimiser's variables are already named after it: optimizer/iteration, optimizer/dense_0_kernel_momentum, ...
    return (_named("model", trainer.model.variables) | _named(None, trainer.optimizer.variables)
            | _named(None, trainer.model.state_variables())
            | {f"method/{name}": v for name, v in trainer.method.state().items()})


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
        names = set(saved.files) - {"progress"}
        if names != set(variables):
            missing, extra = sorted(set(variables) - names), sorted(names - set(variables))
            raise UserError(f"{path} does not match this run's model and method (missing: {', '.join(missing[:3]) or 'none'}; "
                            f"unknown: {', '.join(extra[:3]) or 'none'}): it cannot be resumed")
        arrays = {name: saved[name] for name in variables}
        for name, v in variables.items():
            shape, dtype = tuple(v.shape), np.dtype(getattr(v.dtype, "name", v.dtype))  # a tf or a Keras variable
            if arrays[name].shape != shape or arrays[name].dtype != dtype:
                raise UserError(f"{path}: {name} is {arrays[name].dtype} {arrays[name].shape} there and "
                                f"{dtype} {shape} in this run: it cannot be resumed")
        for name, v in variables.items():
            v.assign(arrays[name])
        return json.loads(str(saved["progress"]))
