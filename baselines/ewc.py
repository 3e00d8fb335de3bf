"""EWC, elastic weight consolidation (Kirkpatrick et al., PNAS 2017), with online EWC as an option.

After each task, the diagonal Fisher F_t is the mean over training images of the squared per-sample
gradient of log p(y|x), y sampled from the model's own prediction. Later tasks train with
lambda/2 * sum_i F_i (theta_i - theta*_i)^2, where F = gamma * F + F_t sums the tasks' Fishers
(gamma = 1) or decays the older ones (online EWC, Schwarz et al. 2018, gamma < 1).
"""
import sys
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # so that `python baselines/ewc.py` finds common/

from common import cli, consolidation, protocols  # noqa: E402
from common.consolidation import ConsolidationMethod  # noqa: E402
from common.importance import fisher_batch  # noqa: E402
import keras  # noqa: E402

HPARAMS = protocols.AUTHORS | consolidation.HPARAMS | dict(
    lamb=15.0,  # the ANPyC authors' EWC value on permuted MNIST; split MNIST needs orders of magnitude more
    gamma=1.0,  # 1: Fisher summed over tasks; < 1: online EWC
    fisher_samples=None,  # Fisher over the first N training images of each task (None: all of them)
    fisher_batch=100,
)

FLAGS = consolidation.FLAGS | {
    "lamb": cli.Flag(float, "penalty strength lambda (the penalty is lambda/2 * sum F dtheta^2)", cli.at_least(0)),
    "gamma": cli.Flag(float, "online-EWC decay of older Fishers", (lambda v: 0 <= v <= 1, "in [0, 1]")),
    "fisher_samples": cli.Flag(cli.optional_int, "training images per task for the Fisher", cli.at_least(1)),
    "fisher_batch": cli.Flag(int, "batch size of the Fisher computation", cli.at_least(1)),
}


class EWC(ConsolidationMethod):
    def __init__(self, config):
        super().__init__(config, strength=config.lamb / 2)
        self.decay = config.gamma
        self.seed = keras.random.SeedGenerator(config.seed)

    def task_importance(self, trainer, task):
        cfg = self.config
        fisher = partial(fisher_batch, seed=self.seed)
        return trainer.task_mean(fisher, task, cfg.fisher_batch, per_sample=True, limit=cfg.fisher_samples)

    def state(self):
        return super().state() | {"seed": self.seed.state}


if __name__ == "__main__":
    cli.main(EWC, HPARAMS, FLAGS, __doc__)
