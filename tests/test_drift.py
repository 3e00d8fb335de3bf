"""A guard against silent drift: small runs committed under results/guard/ are made again and must give
the same result matrices, to the printed precision. A change that moves numbers fails here until the
campaigns it moves are rerun (and these runs with them), or the change is undone.

The runs cover some of the paths that campaigns take (README.md, Tests, lists those they miss): ANPyC
with pruning, dropout and the penalty's implicit step; EWC's sampled Fisher with Adam; SI's path integral; joint's replay; the VAE with its judge;
PackNet's masks; replay's memory in the class-incremental scenario; ANPyC without pruning on a shared
head (domain-incremental); the GAN with its critic step, pruning and Fréchet distance; generative
replay's split batch. The last five were made by the commits their campaigns run at (89d9b7a; the GAN
and generative replay 7e01e8c), so this test also shows that main still computes what those campaigns
did.
"""
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT

SLICE = ["--tasks", "3", "--train-subset", "500", "--epochs", "5", "--hidden", "64,32", "--batch-size", "32",
         "--init", "glorot", "--lr", "0.1"]
GUARDS = {  # folder under results/guard: the command that made it
    "anpyc_wi_np": ["anpyc_wi_np.py", *SLICE, "--dropout", "0.25", "--retrain-epochs", "1"],
    "ewc": ["baselines/ewc.py", *SLICE, "--optimizer", "adam", "--lr", "0.001", "--lamb", "100"],
    "si": ["baselines/si.py", *SLICE, "--c", "1"],
    "joint": ["baselines/joint.py", *SLICE],
    "packnet": ["baselines/packnet.py", *SLICE, "--retrain-epochs", "1"],
    "replay-class": ["baselines/replay.py", *SLICE, "--benchmark", "split", "--scenario", "class", "--memory", "200",
                     "--optimizer", "adam", "--lr", "0.001"],
    "anpyc_wo_np-domain": ["anpyc_wo_np.py", *SLICE, "--benchmark", "split", "--scenario", "domain", "--lamb", "100"],
    "gan": ["anpyc_gan.py", "--tasks", "2", "--epochs", "2", "--train-subset", "300", "--hidden", "16,32", "--latent", "4",
            "--batch-size", "32", "--retrain-epochs", "1", "--prune-percent", "20"],
    "generative_replay": ["baselines/generative_replay.py", "--tasks", "3", "--epochs", "1", "--train-subset", "300",
                          "--hidden", "16,32", "--latent", "4", "--batch-size", "32"],
    "vae": ["anpyc_vae.py", "--tasks", "2", "--train-subset", "300", "--epochs", "1", "--hidden", "32", "--latent", "4",
            "--retrain-epochs", "1", "--validation", "100", "--lamb", "100"],
}


def cpu_vendor() -> str:
    """The CPU's vendor (/proc/cpuinfo's vendor_id: GenuineIntel, AuthenticAMD), or "" where unknown."""
    cpuinfo = Path("/proc/cpuinfo")
    lines = cpuinfo.read_text().splitlines() if cpuinfo.exists() else []
    return next((line.split(":", 1)[1].strip() for line in lines if line.startswith("vendor_id")), "")


@pytest.mark.parametrize("name", GUARDS)
def test_a_committed_run_is_made_again_to_the_printed_precision(name, tmp_path):
    """A guard whose numbers depend on the CPU's rounding (the GAN's Fréchet distance moves in its fourth
    digit between an Intel and an AMD machine, at the same commit) keeps them per CPU vendor in a
    subfolder, each made by the commit its campaign ran at."""
    committed = ROOT / "results" / "guard" / name
    if (committed / cpu_vendor()).is_dir() and cpu_vendor():
        committed = committed / cpu_vendor()
    subprocess.run([sys.executable, *GUARDS[name], "--out", str(tmp_path)], cwd=ROOT, check=True, capture_output=True)
    matrices = sorted(path.name for path in committed.glob("*.csv"))
    assert matrices and matrices == sorted(path.name for path in tmp_path.glob("*.csv"))
    for matrix in matrices:
        assert (tmp_path / matrix).read_text() == (committed / matrix).read_text(), f"{name}: {matrix} moved"
