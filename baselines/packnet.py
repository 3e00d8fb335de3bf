"""PackNet (Mallya and Lazebnik, "PackNet: adding multiple tasks to a single network by iterative
pruning", CVPR 2018): every task owns a share of the trunk's weights, frozen once the task ends.

Task t trains the weights that no earlier task owns (the free ones, which start at zero after the first
task) and its own head; the first task also trains the trunk's biases, which stay fixed after it (the
authors' default, arunmallya/packnet's --train_biases off). After task t, all but the last, each weight
tensor loses the fraction f_t of the weights t trained that are smallest in magnitude: they are set to
zero and freed for later tasks. The rest are retrained (--retrain-epochs; by default half the task's
training, the authors' 10 epochs after 20) and then belong to t for good. Task j is tested with the
weights of tasks 1..j only: later tasks' weights count as zero. So, with dropout off, a finished task's
accuracy never moves; what PackNet can do instead is run out of free weights.

f_t comes from --prune-fraction: a number prunes that fraction after every task (the paper: 0.5 or 0.75
per layer); "share" gives each of the T tasks the same share of every tensor, f_t = 1 - 1/(T - t + 1) for
t = 1..T, so that the last task has as many weights as the first. (One flag, so that a campaign can
sweep the choice on validation data.) The last task keeps every free
weight (the authors' sequences do not prune after their last task either).

Our choices where the paper has none for this network: the retraining continues the task's learning-rate
schedule (the authors retrained at a tenth of their lr, with momentum), and a tensor's pruned count is
floor(f_t x its free weights), so a free count never goes negative.
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # so that `python baselines/packnet.py` finds common/

import contextlib  # noqa: E402

from common import cli, protocols  # noqa: E402  (first: common/ makes TensorFlow's import quiet)
from common.errors import UserError  # noqa: E402
from common.method import Method, by_variable  # noqa: E402
from common.pruning import Masks, prune_mask  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

def valid_fraction(value: str) -> bool:
    try:
        return value == "share" or 0 <= float(value) < 1
    except ValueError:
        return False


HPARAMS = protocols.AUTHORS | dict(
    scenario="task",
    defines=("scenario",),  # a task is tested with its own weights and head: it needs the task's identity
    prune_fraction="share",  # or a fixed fraction, as the paper's 0.5 (ImageNet) and 0.75 (the tasks it added)
    retrain_epochs=None,  # None: half of the task's epochs (or minibatches), as the authors' 10 after 20
    networks=cli.CLASSIFIERS,  # it prunes a classifier's weights
)

FLAGS = {
    "prune_fraction": cli.Flag(str, "the fraction of its weights each task frees: a number in [0, 1), or share "
                               "(1/T of every tensor per task)", (valid_fraction, "share or a number in [0, 1)")),
    "retrain_epochs": cli.Flag(cli.optional_int, "retraining epochs after pruning (default: half of the task's)",
                               cli.at_least(0)),
}


class PackNet(Method):
    def setup(self, trainer):
        model = trainer.model
        self.kernels = [layer.kernel for layer in model.shared_layers]
        self.biases = [layer.bias for layer in model.shared_layers]
        # Per weight: 0 while free, t + 1 once task t owns it.
        self.owner = [tf.Variable(tf.zeros_like(k), trainable=False) for k in self.kernels]
        # 1 where the current task may change a weight (its free weights, less those it pruned).
        self.trainable = Masks(self.kernels)
        # Every kernel's values when the task began (pruned ones: zero); restored outside `trainable`.
        self.frozen = [tf.Variable(k, trainable=False) for k in self.kernels]

    def trainable_variables(self, model, task):
        return self.kernels + (self.biases if task == 0 else []) + model.head(task).trainable_variables

    def before_task(self, trainer, task):
        free = [(o.numpy() == 0) for o in self.owner]
        if not any(f.any() for f in free):
            raise UserError(f"PackNet has no free weight left for task {task + 1} of {len(trainer.tasks)}: "
                            f"prune more of each task (a larger --prune-fraction, or share)")
        self.hold([f.astype(np.float32) for f in free])

    def hold(self, trainable) -> None:
        """From now on only the weights where `trainable` is 1 change; the rest keep their values."""
        for t, mask, kernel, frozen in zip(trainable, self.trainable.masks, self.kernels, self.frozen):
            mask.assign(t)
            frozen.assign(kernel)

    def apply_step(self, optimizer, grads, variables, task_grads):
        optimizer.apply(self.trainable.masked(grads), variables)
        for kernel, mask, frozen in zip(self.kernels, self.trainable.masks, self.frozen):  # exact, under any optimiser
            kernel.assign(tf.where(mask > 0, kernel, frozen))

    def fraction(self, task: int, tasks: int) -> float:
        """f_t: the fraction of its weights that task `task` (from 0) frees for later tasks."""
        if task == tasks - 1:
            return 0.0
        share = self.config.prune_fraction == "share"
        return 1 - 1 / (tasks - task) if share else float(self.config.prune_fraction)

    def after_task(self, trainer, task):
        fraction = self.fraction(task, len(trainer.tasks))
        trained = self.trainable.keep()
        if fraction > 0:
            keep = [prune_mask(np.abs(k.numpy()), t, np.ones_like(t), fraction) for k, t in zip(self.kernels, trained)]
            for kernel, k in zip(self.kernels, keep):
                kernel.assign(kernel * k.astype(np.float32))
            self.hold([(t & k).astype(np.float32) for t, k in zip(trained, keep)])
            self.retrain(trainer, task)
        for owner, mask in zip(self.owner, self.trainable.masks):
            owner.assign(tf.where(mask > 0, float(task + 1), owner))

    def retrain(self, trainer, task):
        cfg = self.config
        if cfg.retrain_epochs is not None:
            trainer.train(task, cfg.retrain_epochs, phase="retrain")
        elif cfg.iters is not None:
            trainer.train(task, 0, phase="retrain", iters=max(1, cfg.iters // 2))
        else:
            trainer.train(task, max(1, cfg.epochs // 2), phase="retrain")

    @contextlib.contextmanager
    def evaluating(self, trainer, task):
        """Task `task` sees the weights of tasks 1..task+1 only (and the current task's, while it trains)."""
        saved = [k.numpy() for k in self.kernels]
        for kernel, owner in zip(self.kernels, self.owner):
            kernel.assign(tf.where(owner <= task + 1, kernel, tf.zeros_like(kernel)))
        try:
            yield
        finally:
            for kernel, values in zip(self.kernels, saved):
                kernel.assign(values)

    def report(self):
        """The share of the trunk's weights free after each finished task: after task t (from 0), those
        that no task owns yet, or that a later task took (owner above t + 1)."""
        owner = np.concatenate([o.numpy().ravel() for o in self.owner])
        return {"free_capacity": [float(np.mean((owner == 0) | (owner > t + 1))) for t in range(int(owner.max()))]}

    def state(self):
        return (by_variable("owner", self.owner, self.kernels) | by_variable("trainable", self.trainable.masks, self.kernels)
                | by_variable("frozen", self.frozen, self.kernels))


if __name__ == "__main__":
    cli.main(PackNet, HPARAMS, FLAGS, __doc__)
