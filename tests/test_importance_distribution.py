"""cal_importance_distribution.py: its statistics by hand, and a short run on real MNIST."""
import json

import numpy as np
import pytest

import anpyc_wo_np
import cal_importance_distribution as script
from baselines import ewc, mas
from common import cli, distribution, importance


def test_statistics_match_hand_computation():
    x = np.array([0.0, 0.0, 1.0, 3.0])
    # mean 1, central moments m2 = 1.5, m3 = 1.5, m4 = 4.5
    assert distribution.skewness(x) == pytest.approx(1.5 / 1.5**1.5)
    assert distribution.kurtosis(x) == pytest.approx(4.5 / 1.5**2 - 3)
    assert distribution.zero_fraction(x) == 0.5
    assert distribution.top_share(x, 0.25) == pytest.approx(3 / 4)
    assert distribution.top_share(x, 0.5) == pytest.approx(1.0)
    # Gini: sum over ordered pairs |xi - xj| = 20, / (2 n^2 mean) = 20 / 32
    assert distribution.gini(x) == pytest.approx(0.625)
    assert distribution.gini(np.ones(7)) == pytest.approx(0.0)
    np.testing.assert_allclose(distribution.min_max(np.array([2.0, 4.0, 3.0])), [0.0, 1.0, 0.5])


def test_uses_the_training_scripts_importance_functions():
    assert script.fisher_batch is importance.fisher_batch
    assert script.mas_batch is importance.mas_batch is mas.mas_batch
    assert script.anpyc_batch is importance.anpyc_batch is anpyc_wo_np.anpyc_batch
    assert ewc.fisher_batch is importance.fisher_batch


def test_short_run_writes_every_file(tmp_path):
    argv = ["--seeds", "2", "--epochs", "1", "--train-subset", "1000", "--prune-max", "20", "--prune-step", "10",
            "--retrain-epochs", "1", "--out", str(tmp_path)]
    stats = script.main(cli.parse(script.HPARAMS, script.FLAGS, "", argv), log=lambda *_: None)
    for name in ("config.json", "stats.json", "stats.md", "density.png", "before_after.png", "per_layer.png"):
        assert (tmp_path / name).stat().st_size > 0, name
    saved = json.loads((tmp_path / "stats.json").read_text())
    assert saved["statistics"] == stats and saved["seeds"] == 2
    kurtosis = stats["EWC"]["before"]["kurtosis"]  # each seed's value is kept, for the paired contrasts
    assert len(kurtosis["seeds"]) == 2 and np.mean(kurtosis["seeds"]) == pytest.approx(kurtosis["mean"])
    # 20% of the trunk pruned: ANPyC's importance of a zero weight is exactly zero.
    assert stats["ANPyC"]["after"]["zero_fraction"]["mean"] >= 0.2
    assert stats["ANPyC"]["after"]["zero_fraction"]["mean"] > stats["ANPyC"]["before"]["zero_fraction"]["mean"]
