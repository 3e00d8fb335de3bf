"""ANPyC without neural pruning (Peng et al., IEEE TNNLS 2021).

After each task, every shared parameter gets a structure-aware importance, computed without labels
from the entropy I of the task head's softmax: for each batch of 100 training images,
g = dI/dtheta and Omega_b = max(0, g*theta + theta^2*g^2/2); the task's importance is the mean of
Omega_b over the batches. Importances accumulate across tasks, and later tasks are trained with the
element-wise consolidation penalty lambda * sum_i Omega_i (theta_i - theta*_i)^2.
"""
from common import cli, consolidation, protocols
from common.consolidation import ConsolidationMethod
from common.importance import anpyc_batch

HPARAMS = protocols.AUTHORS | consolidation.HPARAMS | dict(
    # The authors searched lambda over {0.5, 1.5, 2, 2.5, 3, 4, 6, 7, 8, 10, 12, 15} on the test set.
    # We take 3, their value with pruning, so that the two ANPyC scripts share their strength (they still
    # differ in `accumulate`, below); choose it on a validation split (--validation) for your own protocol.
    lamb=3.0,
    accumulate="max",  # authors' script without pruning: element-wise max of the task importances
    importance_batch=100,  # authors: batches of 100 images (their loop took 99 by an off-by-one)
)

FLAGS = consolidation.FLAGS | {
    "lamb": cli.Flag(float, "consolidation strength lambda", cli.at_least(0)),
    "accumulate": cli.Flag(str, "how task importances combine", choices=("max", "sum")),
    "importance_batch": cli.Flag(int, "batch size of the importance computation", cli.at_least(1)),
}


class ANPyC(ConsolidationMethod):
    def __init__(self, config):
        super().__init__(config, strength=config.lamb)
        self.rule = config.accumulate

    def task_importance(self, trainer, task):
        return trainer.task_mean(anpyc_batch, task, self.config.importance_batch, per_sample=False)


if __name__ == "__main__":
    cli.main(ANPyC, HPARAMS, FLAGS, __doc__)
