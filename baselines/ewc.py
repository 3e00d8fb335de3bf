"""EWC, elastic weight consolidation: online EWC (Schwarz et al., ICML 2018) or Kirkpatrick et al.'s
(PNAS 2017).

After each task, the diagonal Fisher F_t is the mean over training images of the squared per-sample
gradient of log p(y|x), y sampled from the model's own prediction. Later tasks train with
lambda/2 times a quadratic penalty, in one of two variants (van de Ven and Tolias 2019 and Hsu et al.
2018 report both):
- online (default): one penalty, sum_i F_i (theta_i - theta*_i)^2, around the weights at the end of
  the previous task, with F <- gamma * F + F_t (gamma = 1, the default, sums the Fishers);
- kirkpatrick: one penalty per earlier task k, sum_k sum_i F_k,i (theta_i - theta*_k,i)^2, each around
  that task's own final weights (computed as one penalty around the Fisher-weighted mean of the
  anchors, which has the same gradient: common/consolidation.py). gamma < 1 decays older tasks' terms.
"""
import sys
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # so that `python baselines/ewc.py` finds common/

from common import cli, consolidation, protocols, seeds  # noqa: E402
from common.consolidation import ConsolidationMethod  # noqa: E402
from common.importance import fisher_batch  # noqa: E402

HPARAMS = protocols.AUTHORS | consolidation.HPARAMS | dict(
    lamb=15.0,  # the ANPyC authors' EWC value on permuted MNIST; split MNIST needs orders of magnitude more
    variant="online",  # one penalty around the latest weights (every committed campaign used it)
    gamma=1.0,  # 1: Fishers summed over tasks; < 1: older ones decay (Schwarz et al.)
    fisher_samples=None,  # Fisher over the first N training images of each task (None: all of them)
    fisher_batch=100,
    networks=(*cli.CLASSIFIERS, "vae", "gan", *cli.MERGAN),  # each has a log-likelihood for the Fisher
)

FLAGS = consolidation.FLAGS | {
    "lamb": cli.Flag(float, "penalty strength lambda (the penalty is lambda/2 * sum F dtheta^2)", cli.at_least(0)),
    "variant": cli.Flag(str, "online: one penalty around the latest weights, Fishers summed (Schwarz et al.); "
                             "kirkpatrick: one penalty per task, around that task's own weights (Kirkpatrick et al.)",
                        choices=("online", "kirkpatrick")),
    "gamma": cli.Flag(float, "decay of older tasks' Fishers (1: none)", (lambda v: 0 <= v <= 1, "in [0, 1]")),
    "fisher_samples": cli.Flag(cli.optional_int, "training images per task for the Fisher", cli.at_least(1)),
    "fisher_batch": cli.Flag(int, "batch size of the Fisher computation", cli.at_least(1)),
}


class EWC(ConsolidationMethod):
    def __init__(self, config):
        super().__init__(config, strength=config.lamb / 2)
        self.decay = config.gamma
        self.anchor = "weighted" if config.variant == "kirkpatrick" else "latest"
        self.seed = seeds.generator(config.seed, "fisher")

    def task_importance(self, trainer, task):
        cfg = self.config
        fisher = partial(fisher_batch, seed=self.seed)
        return trainer.task_mean(fisher, task, cfg.fisher_batch, per_sample=True, limit=cfg.fisher_samples)

    def state(self):
        return super().state() | {"seed": self.seed.state}


if __name__ == "__main__":
    cli.main(EWC, HPARAMS, FLAGS, __doc__)
