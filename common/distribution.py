"""Statistics of how importance spreads over parameters: is it sparse and polarised?
Each function takes a flat array of non-negative importances."""
import numpy as np


def skewness(x) -> float:
    """Sample skewness E[(x - mean)^3] / std^3 (the biased, moment estimate)."""
    d = x - x.mean()
    return float(np.mean(d**3) / np.mean(d**2) ** 1.5)


def kurtosis(x) -> float:
    """Excess kurtosis E[(x - mean)^4] / std^4 - 3 (0 for a normal distribution)."""
    d = x - x.mean()
    return float(np.mean(d**4) / np.mean(d**2) ** 2 - 3.0)


def zero_fraction(x) -> float:
    return float(np.mean(x == 0))


def top_share(x, fraction: float) -> float:
    """The share of the total importance held by the top `fraction` of parameters."""
    k = max(1, int(round(fraction * x.size)))
    return float(np.sort(x)[-k:].sum() / x.sum())


def gini(x) -> float:
    """Gini coefficient: 0 when every parameter matters equally, towards 1 when one holds it all."""
    s = np.sort(x)
    n = s.size
    return float(np.sum((2 * np.arange(1, n + 1) - n - 1) * s) / (n * s.sum()))


STATISTICS = {"skewness": skewness, "kurtosis": kurtosis, "zero_fraction": zero_fraction,
              "top1_share": lambda x: top_share(x, 0.01), "top10_share": lambda x: top_share(x, 0.10), "gini": gini}


def min_max(x):
    return (x - x.min()) / (x.max() - x.min())


def describe(x) -> dict:
    return {name: fn(x) for name, fn in STATISTICS.items()}
