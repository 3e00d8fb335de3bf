"""ANPyC with adversarial neural pruning (Peng et al., IEEE TNNLS 2021).

ANPyC's consolidation (anpyc_wo_np.py), plus pruning that frees capacity for later tasks. After
training task t (all but the last), with p its prune percent, for q = 10, 20, ... while q < p + 10:
recompute the task's importance on the current weights, zero the q% least important of the free
trunk parameters (each tensor on its own), and retrain with masked gradients so that they stay zero.
Free parameters are all of them on the first task, and on later tasks those that the previous task's
final mask pruned: what an earlier task kept is never pruned. Then p <- int(0.8 p), and the next
task may train every parameter again, the pruned ones starting from zero with no importance.
"""
import numpy as np

from anpyc_wo_np import ANPyC, FLAGS as ANPYC_FLAGS
from common import cli, protocols
from common.pruning import Masks, prune_mask

HPARAMS = protocols.AUTHORS | dict(
    # The authors' pruning script changes these protocol values:
    hidden="64,32",  # MLP 784-64-32
    lr=0.02,
    epochs=30,  # per task, before pruning
    # and uses:
    lamb=3.0,  # consolidation strength
    accumulate="sum",  # task importances add up
    importance_batch=100,
    prune_percent=50,  # p on the first task ...
    prune_decay=0.8,  # ... then p <- int(0.8 * p) after each task
    prune_step=10,  # q = 10, 20, ... while q < p + 10
    retrain_epochs=30,  # after each pruning step
)

FLAGS = ANPYC_FLAGS | {
    "prune_percent": cli.Flag(int, "prune percent p of the first task", cli.within(0, 100)),
    "prune_decay": cli.Flag(float, "p <- int(decay * p) after each task", (lambda v: 0 <= v <= 1, "in [0, 1]")),
    "prune_step": cli.Flag(int, "percent pruned more at each pruning step", cli.within(1, 101)),
    "retrain_epochs": cli.Flag(int, "retraining epochs after each pruning step", cli.at_least(0)),
}


class PrunedANPyC(ANPyC):
    def __init__(self, config):
        super().__init__(config)
        self.percent = config.prune_percent
        self.masks = None
        self.free = None  # per trunk tensor: True where the previous task's final mask pruned
        self.sparsity = []

    def before_task(self, trainer, task):
        super().before_task(trainer, task)
        if self.masks is None:
            self.masks = Masks(trainer.model.trunk_variables)
        self.masks.reset()

    def apply_step(self, optimizer, grads, variables, task_grads):
        self.masks.apply(optimizer, grads, variables)

    def after_task(self, trainer, task):
        if task < len(trainer.tasks) - 1:
            self.prune(trainer, task)
        super().after_task(trainer, task)  # importance of the pruned network, consolidated
        self.sparsity.append(self.masks.sparsity())

    def prune(self, trainer, task):
        free = self.free or [np.ones(v.shape, bool) for v in self.masks.variables]
        step = self.config.prune_step
        for q in range(step, self.percent + step, step):
            importance = self.task_importance(trainer, task)[: len(free)]
            self.masks.set([prune_mask(i.numpy(), f, k, q / 100) for i, f, k in zip(importance, free, self.masks.keep())])
            trainer.train(task, self.config.retrain_epochs, phase=f"retrain ({q}% of free pruned)")
        self.free = [~keep for keep in self.masks.keep()]
        self.percent = int(self.config.prune_decay * self.percent)

    def report(self):
        names = [v.path for v in self.masks.variables]
        return {"sparsity": [dict(zip(names, row)) for row in self.sparsity]}

    def state(self):
        return super().state() | self.masks.state()


if __name__ == "__main__":
    cli.main(PrunedANPyC, HPARAMS, FLAGS, __doc__)
