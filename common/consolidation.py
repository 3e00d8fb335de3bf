"""Element-wise consolidation: penalty = strength * sum_i Omega_i * (theta_i - theta*_i)^2.

Omega is the importance accumulated over the tasks learned so far and theta* the shared weights at the
end of the previous task. ANPyC, EWC, MAS and SI differ only in how a task's importance is measured
(and accumulated), so they share `ConsolidationMethod` and override `task_importance`.
"""
import tensorflow as tf

from common.method import Method

ACCUMULATE = {"sum": tf.add, "max": tf.maximum}


class Consolidation:
    """The accumulated importance Omega and the anchor theta*, one variable per shared variable."""

    def __init__(self, variables):
        self.variables = variables
        self.omega = [tf.Variable(tf.zeros_like(v), trainable=False) for v in variables]
        self.anchor = [tf.Variable(v, trainable=False) for v in variables]

    def penalty(self):
        return tf.add_n(
            [tf.reduce_sum(o * tf.square(v - a)) for o, v, a in zip(self.omega, self.variables, self.anchor)]
        )

    def consolidate(self, importance, rule="sum", decay=1.0):
        """Omega <- rule(decay * Omega, importance), and theta* <- the current weights."""
        for omega, new, anchor, v in zip(self.omega, importance, self.anchor, self.variables):
            omega.assign(ACCUMULATE[rule](decay * omega, new))
            anchor.assign(v)

    def state(self):
        return {f"omega_{i}": o for i, o in enumerate(self.omega)} | {
            f"anchor_{i}": a for i, a in enumerate(self.anchor)
        }


class ConsolidationMethod(Method):
    """Quadratic consolidation with importance from `task_importance`, accumulated by `rule` after each
    task. `strength` multiplies the penalty (EWC's lambda/2, the others' lambda or c)."""

    rule = "sum"
    decay = 1.0

    def __init__(self, config, strength):
        super().__init__(config)
        self.strength = strength
        self.consolidation = None

    def setup(self, trainer):
        self.consolidation = Consolidation(trainer.model.shared_variables)

    def penalty(self, model, task, batch):
        return self.strength * self.consolidation.penalty() if task > 0 else tf.constant(0.0)

    def task_importance(self, trainer, task):
        """One tensor per shared variable: how much each parameter matters to task `task`."""
        raise NotImplementedError

    def after_task(self, trainer, task):
        self.consolidation.consolidate(self.task_importance(trainer, task), self.rule, self.decay)

    def state(self):
        return self.consolidation.state()
