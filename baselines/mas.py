"""MAS, memory aware synapses (Aljundi et al., ECCV 2018), as the ANPyC authors ran it or as published.

A parameter's importance for a task is the size of the gradient of a squared output norm, with no
labels needed. Importances add up over tasks; later tasks train with strength * sum_i Omega_i
(theta_i - theta*_i)^2. Two variants, which give lambda meanings orders of magnitude apart:
- authors (default, their mas/model.py): |gradient of 0.5 * ||softmax||^2 summed over a batch of
  images|, the absolute value taken after the sum over the batch, averaged over the task's batches;
  strength lambda/2. Their lambda (0.1) was chosen for this variant.
- aljundi (the paper): the mean over training images of |per-sample gradient of ||logits||^2|;
  strength lambda.
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # so that `python baselines/mas.py` finds common/

from common import cli, consolidation, protocols  # noqa: E402
from common.consolidation import ConsolidationMethod  # noqa: E402
from common.importance import mas_batch, mas_softmax_batch  # noqa: E402

HPARAMS = protocols.AUTHORS | consolidation.HPARAMS | dict(
    lamb=0.1,  # the ANPyC authors' MAS value (for their variant)
    variant="authors",
    importance_batch=1000,  # the authors' batches (999 images, by an off-by-one); per-sample MAS is exact at any size
    networks=cli.CLASSIFIERS,  # its importance reads class outputs
)

FLAGS = consolidation.FLAGS | {
    "lamb": cli.Flag(float, "penalty strength lambda", cli.at_least(0)),
    "variant": cli.Flag(str, "authors: |grad of the batch's 0.5 ||softmax||^2|, penalty lambda/2; "
                             "aljundi: mean |per-sample grad of ||logits||^2|, penalty lambda",
                        choices=("authors", "aljundi")),
    "importance_batch": cli.Flag(int, "batch size of the importance computation", cli.at_least(1)),
}


class MAS(ConsolidationMethod):
    def __init__(self, config):
        super().__init__(config, strength=config.lamb / 2 if config.variant == "authors" else config.lamb)

    def task_importance(self, trainer, task):
        if self.config.variant == "authors":
            return trainer.task_mean(mas_softmax_batch, task, self.config.importance_batch, per_sample=False)
        return trainer.task_mean(mas_batch, task, self.config.importance_batch, per_sample=True)


if __name__ == "__main__":
    cli.main(MAS, HPARAMS, FLAGS, __doc__)
