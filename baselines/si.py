"""SI, synaptic intelligence (Zenke, Poole and Ganguli, ICML 2017).

While a task trains, every step adds to each shared parameter's path integral
omega += -g * delta_theta, where g is the gradient of the task loss alone (not the penalty) and
delta_theta the step's change. At the end of the task, Omega <- max(0, Omega + omega / (Delta^2 + xi)),
with Delta the parameter's total change over the task, and omega restarts from zero: the clipping at
zero is Zenke et al.'s own code's (ganguli-lab/pathint, protocols.py), since the penalty's pull or
Adam's momentum can make a path integral negative. Later tasks train with
c * sum_i Omega_i (theta_i - theta*_i)^2.
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # so that `python baselines/si.py` finds common/

from common import cli, consolidation, protocols  # noqa: E402
from common.consolidation import ConsolidationMethod  # noqa: E402
import tensorflow as tf  # noqa: E402

HPARAMS = protocols.AUTHORS | consolidation.HPARAMS | dict(
    c=0.1,  # the ANPyC authors' SI strength
    xi=0.1,  # the ANPyC authors' damping
)

FLAGS = consolidation.FLAGS | {
    "c": cli.Flag(float, "penalty strength c", cli.at_least(0)),
    "xi": cli.Flag(float, "damping xi of the importance", cli.above(0)),
}


class SI(ConsolidationMethod):
    uses_task_gradients = True
    rule = "clipped_sum"

    def __init__(self, config):
        super().__init__(config, strength=config.c)

    def setup(self, trainer):
        super().setup(trainer)
        self.path = [tf.Variable(tf.zeros_like(v), trainable=False) for v in self.consolidation.variables]
        self.start = [tf.Variable(v, trainable=False) for v in self.consolidation.variables]

    def before_task(self, trainer, task):
        super().before_task(trainer, task)
        for path, start, v in zip(self.path, self.start, self.consolidation.variables):
            path.assign(tf.zeros_like(path))
            start.assign(v)

    def apply_step(self, optimizer, grads, variables, task_grads):
        shared = self.consolidation.variables  # the first variables of `variables`
        before = [tf.identity(v) for v in shared]
        super().apply_step(optimizer, grads, variables, task_grads)  # the penalty's proximal step included
        for path, g, b, v in zip(self.path, task_grads, before, shared):
            path.assign_sub(g * (v - b))

    def task_importance(self, trainer, task):
        xi = self.config.xi
        return [p / (tf.square(v - s) + xi) for p, v, s in zip(self.path, self.consolidation.variables, self.start)]


if __name__ == "__main__":
    cli.main(SI, HPARAMS, FLAGS, __doc__)
