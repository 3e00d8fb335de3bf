"""Pruning masks: choose which parameters to prune, zero them, and keep them at zero while retraining."""
import numpy as np
import tensorflow as tf


def prune_mask(importance: np.ndarray, free: np.ndarray, keep: np.ndarray, fraction: float) -> np.ndarray:
    """A keep-mask (bool, the shape of `importance`) that prunes `fraction` of the `free` parameters:
    exactly floor(fraction * number free), those of lowest importance. Parameters that are not free are
    always kept; free ones already pruned (`keep` False) rank first, so successive masks are nested.
    Ranking rather than comparing with a percentile value keeps the sparsity exact when importances tie.
    """
    candidates = np.flatnonzero(free)
    scores = np.where(keep.ravel()[candidates], importance.ravel()[candidates], -np.inf)
    pruned = candidates[np.argsort(scores, kind="stable")[: int(fraction * len(candidates))]]
    mask = np.ones(importance.size, bool)
    mask[pruned] = False
    return mask.reshape(importance.shape)


class Masks:
    """One 0/1 mask per variable of `variables` (all ones: nothing pruned)."""

    def __init__(self, variables):
        self.variables = variables
        self.masks = [tf.Variable(tf.ones_like(v), trainable=False) for v in variables]

    def keep(self) -> list[np.ndarray]:
        return [m.numpy().astype(bool) for m in self.masks]

    def set(self, keep: list[np.ndarray]) -> None:
        """Use the given keep-masks, and zero the pruned weights."""
        for mask, k, v in zip(self.masks, keep, self.variables):
            mask.assign(k.astype(np.float32))
            v.assign(v * mask)

    def reset(self) -> None:
        for mask in self.masks:
            mask.assign(tf.ones_like(mask))

    def masked(self, grads) -> list:
        """The gradients with the pruned entries zeroed; `grads` starts with the masked variables'."""
        return [g * m for g, m in zip(grads, self.masks)] + list(grads[len(self.masks):])

    def zero_pruned(self) -> None:
        for v, m in zip(self.variables, self.masks):
            v.assign(v * m)

    def apply(self, optimizer, grads, variables) -> None:
        """One optimiser step with masked gradients. `variables` starts with the masked ones. The weights
        are masked again after the step, so pruned ones stay exactly zero under any optimiser (Adam's
        momentum would otherwise move them)."""
        optimizer.apply(self.masked(grads), variables)
        self.zero_pruned()

    def sparsity(self) -> list[float]:
        """The fraction of pruned parameters in each variable."""
        return [float(1.0 - tf.reduce_mean(m)) for m in self.masks]
