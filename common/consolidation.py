"""Element-wise consolidation: penalty = strength * sum_i Omega_i * (theta_i - theta*_i)^2.

Omega is the importance accumulated over the tasks learned so far and theta* the shared weights at the
end of the previous task. ANPyC, EWC, MAS and SI differ only in how a task's importance is measured
(and accumulated), so they share `ConsolidationMethod` and override `task_importance`.

How the penalty enters a plain SGD step (`--penalty-step`):
- explicit (the authors'): its gradient is added to the task loss's. Each parameter is then a damped
  oscillator around theta* that diverges once lr * 2 * strength * Omega_i reaches 2, and summed
  importances grow with every task; a run is refused, with one line, before an epoch that would cross it.
- implicit (the default): SGD steps on the task loss, then each parameter takes the penalty's exact
  proximal step, theta <- (theta + c Omega theta*) / (1 + c Omega) with c = 2 lr strength: the minimiser
  of the penalty plus (theta - theta_sgd)^2 / (2 lr). It equals the explicit step to first order in
  c Omega, and moves a parameter towards theta*, never past it, however large c Omega is.
With Adam the penalty's gradient always goes through the optimiser (as in the published protocols that
use Adam): Adam rescales every step to about lr, so the penalty cannot make it diverge in this way.
"""
import tensorflow as tf

from common import cli
from common.method import Method, by_variable
from common.training import RunError

ACCUMULATE = {
    "sum": tf.add,
    "max": tf.maximum,
    # SI, as Zenke et al.'s code (ganguli-lab/pathint, protocols.py): the sum, then max(0, .), so that a
    # task whose path integral is negative lowers a parameter's importance, never below zero.
    "clipped_sum": lambda old, new: tf.nn.relu(old + new),
}

HPARAMS = dict(penalty_step="implicit")
FLAGS = {
    "penalty_step": cli.Flag(str, "with SGD, the penalty's step: implicit (proximal, stable) or explicit "
                                  "(its gradient, as the authors)", choices=("implicit", "explicit"),
                             inert=lambda c: c.optimizer != "sgd" and f"with --optimizer {c.optimizer} the penalty's "
                                                                      "gradient always goes through the optimiser"),
}


@tf.custom_gradient
def quadratic(theta, omega, anchor):
    """sum Omega (theta - theta*)^2, with its gradient 2 Omega (theta - theta*) taken from the forward
    pass's own product: fewer passes over the weights than automatic differentiation makes."""
    weighted = omega * (theta - anchor)

    def gradient(upstream):
        return 2.0 * upstream * weighted, None, None

    return tf.reduce_sum(weighted * (theta - anchor)), gradient


class Consolidation:
    """The accumulated importance Omega and the anchor theta*, one variable per shared variable."""

    def __init__(self, variables):
        self.variables = variables
        self.omega = [tf.Variable(tf.zeros_like(v), trainable=False) for v in variables]
        self.anchor = [tf.Variable(v, trainable=False) for v in variables]
        self.pull = [tf.Variable(tf.zeros_like(v), trainable=False) for v in variables]  # see prepare_step

    def penalty(self):
        return tf.add_n([quadratic(tf.convert_to_tensor(v), o, a) for o, v, a in zip(self.omega, self.variables, self.anchor)])

    def prepare_step(self, c):
        """Ready the proximal step for step size c, fixed for an epoch: pull = c Omega / (1 + c Omega)."""
        for pull, o in zip(self.pull, self.omega):
            pull.assign(c * o / (1.0 + c * o))

    def proximal_step(self):
        """theta <- argmin_t  c/2 * Omega (t - theta*)^2 + (t - theta)^2 / 2, element-wise, which is
        (theta + c Omega theta*) / (1 + c Omega) = theta - pull * (theta - theta*)."""
        for pull, v, a in zip(self.pull, self.variables, self.anchor):
            v.assign_sub(pull * (v - a))

    def max_omega(self) -> float:
        return float(tf.reduce_max([tf.reduce_max(o) for o in self.omega]))

    def consolidate(self, importance, task: int, rule="sum", decay=1.0, anchor="latest"):
        """Omega <- rule(decay * Omega, importance), after checking that every entry stays finite and
        >= 0 (a negative Omega would push a weight away from theta*, and the proximal step has a pole at
        c Omega = -1). theta* <- the current weights ("latest"), or ("weighted", with rule "sum") the
        Omega-weighted mean of every task's weights: sum_k F_k (theta - theta*_k)^2 equals
        (sum_k F_k) (theta - that mean)^2 plus a constant, so one penalty then acts exactly as one
        penalty per task around that task's own weights."""
        old = [decay * omega for omega in self.omega]
        updated = [ACCUMULATE[rule](o, new) for o, new in zip(old, importance)]
        invalid = sum(int(tf.reduce_sum(tf.cast(~(tf.math.is_finite(u) & (u >= 0)), tf.int32))) for u in updated)
        if invalid:
            raise RunError(f"the importance after task {task + 1} leaves {invalid:,} entries of Omega negative or "
                           f"non-finite: a quadratic penalty needs Omega >= 0")
        for omega, o, new, u, theta_star, v in zip(self.omega, old, importance, updated, self.anchor, self.variables):
            if anchor == "weighted":
                theta_star.assign(tf.where(u > 0, tf.math.divide_no_nan(o * theta_star + new * v, u), v))
            else:
                theta_star.assign(v)
            omega.assign(u)

    def state(self):
        return by_variable("omega", self.omega, self.variables) | by_variable("anchor", self.anchor, self.variables)


class ConsolidationMethod(Method):
    """Quadratic consolidation with importance from `task_importance`, accumulated by `rule` after each
    task. `strength` multiplies the penalty (EWC's lambda/2, the others' lambda or c)."""

    rule = "sum"
    decay = 1.0
    anchor = "latest"  # see Consolidation.consolidate

    def __init__(self, config, strength):
        super().__init__(config)
        self.strength = strength
        self.implicit = config.penalty_step == "implicit"  # None (not SGD): through the optimiser
        self.consolidation = None
        self.consolidating = False  # True from the second task on (read when a task's step is traced)

    def setup(self, trainer):
        self.consolidation = Consolidation(trainer.model.shared_variables)

    def before_task(self, trainer, task):
        self.consolidating = task > 0 and self.strength > 0

    def before_epoch(self, trainer, task, lr):
        """With the implicit SGD step, ready it for this epoch's lr; with the explicit one, refuse a
        learning rate at which the penalty alone diverges."""
        if self.consolidating and self.implicit:
            self.consolidation.prepare_step(2.0 * self.strength * lr)
        if not self.consolidating or self.config.penalty_step != "explicit":
            return
        omega = self.consolidation.max_omega()
        product = lr * 2 * self.strength * omega
        if product >= 2:
            raise RunError(
                f"the explicit penalty step diverges in task {task + 1}: lr {lr:g} x 2 x strength {self.strength:g} "
                f"x max importance {omega:.4g} = {product:.3g} >= 2; use --penalty-step implicit, "
                f"or a smaller --lr or penalty strength"
            )

    def penalty(self, model, task, batch):
        if not self.consolidating or self.implicit:
            return tf.constant(0.0)
        return self.strength * self.consolidation.penalty()

    def apply_step(self, optimizer, grads, variables, task_grads):
        super().apply_step(optimizer, grads, variables, task_grads)
        if self.consolidating and self.implicit:
            self.consolidation.proximal_step()

    def task_importance(self, trainer, task):
        """One tensor per shared variable: how much each parameter matters to task `task`."""
        raise NotImplementedError

    def after_task(self, trainer, task):
        self.consolidation.consolidate(self.task_importance(trainer, task), task, self.rule, self.decay, self.anchor)

    def state(self):
        return self.consolidation.state()
