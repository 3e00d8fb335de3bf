"""Continual-learning metrics of an accuracy matrix R (percent): R[i][j] is the accuracy on task j
after training task i, defined for j <= i (rows grow by one entry per task)."""
import numpy as np


def average_accuracy(matrix) -> list[float]:
    """The mean accuracy over the tasks seen so far, after each task."""
    return [float(np.mean(row)) for row in matrix]


def learning_accuracy(matrix) -> list[float]:
    """Each task's accuracy just after it was learned, R[j][j]."""
    return [float(matrix[j][j]) for j in range(len(matrix))]


def backward_transfer(matrix) -> float | None:
    """BWT = mean over j < T-1 of R[T-1][j] - R[j][j] (Lopez-Paz and Ranzato 2017); negative means
    forgetting. None with a single task."""
    last = len(matrix) - 1
    if last == 0:
        return None
    return float(np.mean([matrix[last][j] - matrix[j][j] for j in range(last)]))


def forgetting(matrix) -> float | None:
    """Average forgetting = mean over j < T-1 of max_{i<T-1} R[i][j] - R[T-1][j] (Chaudhry et al. 2018):
    the drop from each old task's best accuracy to its final one. None with a single task."""
    last = len(matrix) - 1
    if last == 0:
        return None
    return float(np.mean([max(matrix[i][j] for i in range(j, last)) - matrix[last][j] for j in range(last)]))


def summarise(matrix, lower_is_better: bool = False) -> dict:
    """Averages, BWT, forgetting and learning accuracy of a matrix. For a matrix where lower is better
    (a VAE's negative ELBO), BWT and forgetting are computed on its negation, so that they keep their
    meaning: negative BWT and positive forgetting mean that old tasks got worse; its averages are named
    avg, final_avg and learned."""
    if lower_is_better:
        negated = summarise([[-a for a in row] for row in matrix])
        return {"avg": [-a for a in negated["avg_accuracy"]], "final_avg": -negated["final_avg_accuracy"],
                "bwt": negated["bwt"], "forgetting": negated["forgetting"],
                "learned": [-a for a in negated["learning_accuracy"]]}
    average = average_accuracy(matrix)
    return {
        "avg_accuracy": average,
        "final_avg_accuracy": average[-1],
        "bwt": backward_transfer(matrix),
        "forgetting": forgetting(matrix),
        "learning_accuracy": learning_accuracy(matrix),
    }
