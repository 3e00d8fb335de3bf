"""ANPyC with adversarial neural pruning (Peng et al., IEEE TNNLS 2021).

ANPyC's consolidation (anpyc_wo_np.py), plus pruning that frees capacity for later tasks. After
training task t (all but the last), with p its prune percent, for q = 10, 20, ... while q < p + 10:
recompute the task's importance on the current weights, zero the q% least important of the free
trunk parameters (each tensor on its own), and retrain with masked gradients so that they stay zero.
Free parameters are all of them on the first task, and on later tasks those that the previous task's
final mask pruned: what an earlier task kept is never pruned. Then p <- int(0.8 p), and the next
task may train every parameter again, the pruned ones starting from zero with no importance.
"""
import anpyc_wo_np  # imports common/ first, which makes TensorFlow's import quiet
from anpyc_wo_np import ANPyC
from common import cli, protocols
from common.method import by_variable
from common.pruning import Masks, prune_mask
import numpy as np
import tensorflow as tf

HPARAMS = anpyc_wo_np.HPARAMS | protocols.AUTHORS_PRUNING | dict(
    # The authors' pruning script changes the protocol (784-64-32, lr 0.02 decayed every 5 epochs by 0.99
    # while task 1 trains and by 0.9 elsewhere, 30 epochs per task; common/protocols.py), and uses:
    lamb=3.0,  # consolidation strength
    accumulate="sum",  # task importances add up
    importance_batch=100,
    prune_percent=50,  # p on the first task ...
    prune_decay=0.8,  # ... then p <- int(0.8 * p) after each task
    prune_step=10,  # q = 10, 20, ... while q < p + 10
    retrain_epochs=30,  # after each pruning step
    # ... and under each preset (the retraining rounds are part of a protocol's schedule): as long as a
    # task trains on Hsu et al.'s 4 epochs and the authors' 30; 5 epochs on van de Ven and Tolias'
    # iterations (our campaigns' choice); 2 on the VAE and the GAN (anpyc_vae.py); 20 on Memory Replay
    # GANs' protocol (about 370 generator steps, a tenth of a digit's 4,000; ours). Their SGD-frozen
    # notebook has no pruning: give --retrain-epochs there.
    presets={"authors-pruning": dict(retrain_epochs=30), "hsu2018-split": dict(retrain_epochs=4),
             "vdv2019-split": dict(retrain_epochs=5), "vdv2019-permuted": dict(retrain_epochs=5),
             "authors-sgd-frozen": dict(retrain_epochs=None), "vae": dict(retrain_epochs=2),
             "gan": dict(retrain_epochs=2), "mergan": dict(retrain_epochs=20), "mergan-mlp": dict(retrain_epochs=20)},
)


def no_pruning(config):
    return config.prune_percent == 0 and "--prune-percent 0 prunes nothing"


FLAGS = anpyc_wo_np.FLAGS | {
    "prune_percent": cli.Flag(int, "prune percent p of the first task", cli.within(0, 100)),
    "prune_decay": cli.Flag(float, "p <- int(decay * p) after each task", (lambda v: 0 <= v <= 1, "in [0, 1]"),
                            inert=no_pruning),
    "prune_step": cli.Flag(int, "percent pruned more at each pruning step", cli.within(1, 101), inert=no_pruning),
    "retrain_epochs": cli.Flag(int, "retraining epochs after each pruning step", cli.at_least(0), inert=no_pruning),
}


class PrunedANPyC(ANPyC):
    def setup(self, trainer):
        super().setup(trainer)
        trunk = trainer.model.trunk_variables
        self.masks = Masks(trunk)
        # Per trunk tensor, 1 where the previous task's final mask pruned (everything the network lets
        # pruning touch, before task 1).
        self.free = [tf.Variable(tf.ones_like(v) * float(trainer.model.prunable(v)), trainable=False) for v in trunk]
        self.sparsity = tf.Variable(tf.fill([len(trainer.tasks), len(trunk)], float("nan")), trainable=False)

    def prune_percent(self, task):
        """p for task `task`: prune_percent, then p <- int(prune_decay * p) after each task."""
        percent = self.config.prune_percent
        if not percent:  # no pruning (prune_decay is then unset)
            return 0
        for _ in range(task):
            percent = int(self.config.prune_decay * percent)
        return percent

    def before_task(self, trainer, task):
        super().before_task(trainer, task)
        self.masks.reset()

    def apply_step(self, optimizer, grads, variables, task_grads):
        super().apply_step(optimizer, self.masks.masked(grads), variables, task_grads)
        self.masks.zero_pruned()  # after the penalty's proximal step too, which would move them towards theta*

    def after_task(self, trainer, task):
        if task < len(trainer.tasks) - 1:
            self.prune(trainer, task)
        super().after_task(trainer, task)  # importance of the pruned network, consolidated
        self.sparsity[task].assign(self.masks.sparsity())

    def prune(self, trainer, task):
        free = [f.numpy().astype(bool) for f in self.free]
        step, percent = self.config.prune_step, self.prune_percent(task)
        for q in range(step, percent + step, step) if percent else ():
            importance = self.task_importance(trainer, task)[: len(free)]
            self.masks.set([prune_mask(i.numpy(), f, k, q / 100) for i, f, k in zip(importance, free, self.masks.keep())])
            trainer.train(task, self.config.retrain_epochs, phase=f"retrain ({q}% of free pruned)")
        for f, keep in zip(self.free, self.masks.keep()):
            f.assign((~keep).astype(np.float32))

    def report(self):
        names = [v.path for v in self.masks.variables]
        rows = self.sparsity.numpy()
        return {"sparsity": [dict(zip(names, map(float, row))) for row in rows if not np.isnan(row).any()]}

    def state(self):
        return super().state() | by_variable("free", self.free, self.masks.variables) | {"sparsity": self.sparsity}


if __name__ == "__main__":
    cli.main(PrunedANPyC, HPARAMS, FLAGS, __doc__)
