"""A continual-learning method, as a set of hooks into the shared training loop (common/training.py).

The defaults are plain fine-tuning: every method overrides only what it changes. The loop calls
setup(trainer) once, then for each task t in turn:

    before_task(trainer, t)                      # Python, e.g. record the old heads' outputs
    before_epoch(trainer, t, lr)                 # Python, e.g. check that a step is stable at this lr
    each step (compiled), on a Batch of the task's training data:
        loss = total_loss(cross-entropy of head t, penalty(model, t, batch), t)
        apply_step(optimizer, grads, variables, task_grads)
    after_task(trainer, t)                       # Python, e.g. importance, consolidation, pruning

and tests task j inside `with evaluating(trainer, j):` (e.g. only the weights that task j may use).

`penalty` and `apply_step` run inside a tf.function, so the state they use lives in tf.Variables.
`setup` creates every variable that must survive from one task to the next, and `state()` returns
them: a checkpoint after a task saves them, and resuming restores them before the next task.
"""
import contextlib
from typing import NamedTuple


def by_variable(prefix: str, tensors, variables) -> dict:
    """{prefix/name of variable: tensor}: a method's per-variable state, named for its checkpoint."""
    return {f"{prefix}/{v.path}": t for t, v in zip(tensors, variables, strict=True)}


class Batch(NamedTuple):
    x: object  # images as rows, float32 [b, pixels]
    y: object  # labels, int32 [b]
    indices: object  # their indices in the task's training set
    features: object  # the trunk's output for x, as used by the task loss (dropout on)


class Method:
    # When True, apply_step also gets the gradients of the task loss alone (SI's path integral).
    uses_task_gradients = False

    def __init__(self, config):
        self.config = config

    def trainable_variables(self, model, task: int) -> list:
        """What the optimiser updates during task `task`."""
        return model.shared_variables + model.task_variables(task)

    def setup(self, trainer) -> None:
        pass

    def before_task(self, trainer, task: int) -> None:
        pass

    def before_epoch(self, trainer, task: int, lr: float) -> None:
        pass

    def penalty(self, model, task: int, batch: Batch):
        """A regulariser added to the task's cross-entropy."""
        return 0.0

    def total_loss(self, task_loss, penalty, task: int):
        return task_loss + penalty

    def apply_step(self, optimizer, grads, variables, task_grads) -> None:
        optimizer.apply(grads, variables)

    def after_task(self, trainer, task: int) -> None:
        pass

    def evaluating(self, trainer, task: int):
        """A context manager around each test of task `task`: the network as that task sees it."""
        return contextlib.nullcontext()

    def state(self) -> dict:
        """The variables that carry the method from one task to the next, by name."""
        return {}

    def report(self) -> dict:
        """Extra entries for summary.json, updated after each task."""
        return {}
