"""The speed benchmark runs (tiny mode: a few steps of each measurement, no timing assertion)."""
import subprocess
import sys

from conftest import ROOT


def test_benchmark_runs_in_tiny_mode():
    result = subprocess.run([sys.executable, "benchmarks/speed.py", "--tiny"], cwd=ROOT, capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    for row in ("(a) keras model.fit", "(e) ANPyC importance", "(f) EWC Fisher", "(g) SI epoch", "| c / a |",
                "(k) vdv2019-split", "(l) ANPyC epoch", "(h) resident memory", "(n) peak resident memory",
                "(p) Zenke et al.'s split CIFAR", "(q) mlp", "(r) the pruning script's network",
                "(s) two runs at once"):
        assert row in result.stdout
    assert result.stdout.count("| measurement | seconds |") == 2  # the MLP and the CNN
