"""MAS, memory aware synapses (Aljundi et al., ECCV 2018).

A parameter's importance for a task is the mean over its training images of the absolute per-sample
gradient of the squared L2 norm of the network's output (the task head's logits): no labels needed.
Importances add up over tasks; later tasks train with lambda * sum_i Omega_i (theta_i - theta*_i)^2.
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # so that `python baselines/mas.py` finds common/

from common import cli, protocols  # noqa: E402
from common.consolidation import ConsolidationMethod  # noqa: E402
from common.importance import mas_batch  # noqa: E402

HPARAMS = protocols.AUTHORS | dict(
    lamb=0.1,  # the ANPyC authors' MAS value
    importance_batch=100,
)

FLAGS = {
    "lamb": cli.Flag(float, "penalty strength lambda", cli.at_least(0)),
    "importance_batch": cli.Flag(int, "batch size of the importance computation", cli.at_least(1)),
}


class MAS(ConsolidationMethod):
    def __init__(self, config):
        super().__init__(config, strength=config.lamb)

    def task_importance(self, trainer, task):
        return trainer.task_mean(mas_batch, task, self.config.importance_batch, per_sample=True)


if __name__ == "__main__":
    cli.main(MAS, HPARAMS, FLAGS, __doc__)
