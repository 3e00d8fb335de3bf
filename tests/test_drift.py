"""A guard against silent drift: small runs committed under results/guard/ are made again and must give
the same result matrices, to the printed precision. A change that moves numbers fails here until the
campaigns it moves are rerun (and these runs with them), or the change is undone.

The runs cover ANPyC with pruning (dropout, the implicit and the explicit step, the no-pruning control with
--extra-epochs, Adam in the class scenario and with --iters, the CNN) and without (a shared head, Adam with
--iters, --accumulate sum on the VAE), fine-tuning, EWC (with SGD and the authors' init, --validation, the
class scenario, the VAE), SI (the CNN, the VAE), MAS (both variants, Aljundi's on the CNN and in the domain
scenario), LwF (split and permuted tasks, the class scenario), joint (the MLP, the CNN), PackNet (its `share`
and a numeric --prune-fraction), replay (in the three scenarios), SGD-frozen (with --dropout-layers), the VAE,
the GAN and generative replay; the MLP and the CNN; the three scenarios; SGD with the authors' init and decay
schedule, and Adam (with a constant learning rate too); bfloat16 (each of precision-hsu2018-split-task's nine
methods, and the authors' SGD schedule with dropout of precision-authors-pruning, on ANPyC with pruning
and PackNet). MADE_AT gives the commit that made each (checked against its provenance.json); from `mas-authors`
on, that is the commit of the campaigns whose path the guard takes.

EWC, SI and joint on the GAN, generative replay's full batches and both variants of the importance
distributions (cal_importance_distribution.py, whose printed numbers are its stats.md) are guarded too, each
made at its campaign's commit, and so is split Fashion-MNIST (`anpyc_wi_np-fashion`, at 441071d). So are the
paths of Memory Replay GANs' protocol in its MLP form (mergan-mlp, at 144e027d, before its campaign ran):
their replay (MeRGAN-JTR), EWC and ANPyC with pruning on their generator, and their joint training of the
ten digits at once. Not every earlier guard is: `vae` at 4c2d818 (its campaign ran at 89d9b7a),
`si` and `joint` at 4c2d818 (authors-main and authors-pruning at 89d9b7a).
"""
import json
import runpy
import sys
from pathlib import Path

import pytest

from common.provenance import cpu_kind
from conftest import ROOT

SLICE = ["--tasks", "3", "--train-subset", "500", "--epochs", "5", "--hidden", "64,32", "--batch-size", "32",
         "--init", "glorot", "--lr", "0.1"]
BASE = ["--tasks", "3", "--train-subset", "500", "--hidden", "64,32", "--batch-size", "32"]
# authors-main, authors-pruning, permuted-50/100: SGD, the authors' init, dropout 0.5, lr x0.9 every few epochs
AUTHORS = [*BASE, "--epochs", "4", "--init", "authors", "--lr", "0.1", "--dropout", "0.5", "--lr-decay", "0.9",
           "--lr-decay-epochs", "2"]
# hsu2018-split-*, vdv2019-*: Adam, Keras' init, no dropout
ADAM = [*BASE, "--init", "glorot", "--optimizer", "adam", "--lr", "0.001", "--dropout", "0"]
ADAM_CONSTANT = [*ADAM, "--lr-decay", "1", "--epochs", "2"]  # as hsu2018-* run it: no decay
SPLIT_BFLOAT16 = [*ADAM_CONSTANT, "--benchmark", "split", "--precision", "bfloat16"]  # precision-hsu2018-split-task
VAE = ["--protocol", "vae", "--tasks", "2", "--train-subset", "300", "--epochs", "1", "--hidden", "32", "--latent", "4",
       "--validation", "100"]
GAN = ["--protocol", "gan", "--tasks", "2", "--epochs", "2", "--train-subset", "300", "--hidden", "16,32", "--latent", "4",
       "--batch-size", "32", "--validation", "100"]
# Memory Replay GANs' protocol in its MLP form (mergan-mlp): a small generator, their batch, critic steps and
# judge (trained one epoch in the tests, tests/conftest.py; the guards were made so), Adam at a larger rate
MERGAN = ["--protocol", "mergan-mlp", "--train-subset", "400", "--hidden", "32,64", "--validation", "50"]
MERGAN_SEQUENCE = [*MERGAN, "--tasks", "2", "--iters", "40", "--lr", "0.001"]
IMPORTANCE = ["--seeds", "2", "--train-subset", "500", "--epochs", "2", "--prune-max", "20", "--prune-step", "10",
              "--retrain-epochs", "1"]
PRINTED = ("*.csv", "stats.md")  # the files that hold a run's printed numbers
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
    "mas-authors": ["baselines/mas.py", *AUTHORS, "--variant", "authors", "--lamb", "0.1"],
    "mas-aljundi-cnn": ["baselines/mas.py", *ADAM, "--epochs", "2", "--model", "cnn", "--benchmark", "split",
                        "--variant", "aljundi", "--lamb", "0.01"],
    "lwf": ["baselines/lwf.py", *ADAM, "--epochs", "5", "--benchmark", "split", "--lamb", "1"],
    "sgd_frozen": ["baselines/sgd_frozen.py", *BASE, "--init", "authors", "--lr", "0.1", "--dropout", "0.5",
                   "--iters", "40"],
    "anpyc_wo_np-adam-iters": ["anpyc_wo_np.py", *ADAM, "--benchmark", "split", "--iters", "40", "--lamb", "100"],
    "anpyc_wi_np-fashion-authors": ["anpyc_wi_np.py", *AUTHORS, "--lr-decay-first", "0.99", "--dataset", "fashion_mnist",
                                    "--validation", "100", "--retrain-epochs", "1", "--lamb", "10"],
    "anpyc_wi_np-no-pruning": ["anpyc_wi_np.py", *AUTHORS, "--lr-decay-first", "0.99", "--prune-percent", "0",
                               "--extra-epochs", "2,1,0", "--lamb", "100"],
    "si-domain-extra-epochs": ["baselines/si.py", *ADAM, "--iters", "40", "--scenario", "domain",
                               "--extra-epochs", "1,1,0", "--c", "1"],
    "anpyc_wi_np-explicit": ["anpyc_wi_np.py", *AUTHORS, "--lr-decay-first", "0.99", "--penalty-step", "explicit",
                             "--retrain-epochs", "1", "--lamb", "1"],
    "finetuning-authors": ["baselines/finetuning.py", *AUTHORS, "--lr-decay-first", "0.99"],
    "ewc-authors-validation": ["baselines/ewc.py", *AUTHORS, "--validation", "100", "--lamb", "15"],
    "lwf-permuted": ["baselines/lwf.py", *AUTHORS, "--lamb", "1"],
    "packnet-fraction": ["baselines/packnet.py", *AUTHORS, "--prune-fraction", "0.5"],
    "anpyc_wi_np-adam-class": ["anpyc_wi_np.py", *ADAM, "--epochs", "2", "--benchmark", "split", "--scenario", "class",
                               "--retrain-epochs", "1", "--lamb", "100"],
    "anpyc_wo_np-vae-sum": ["anpyc_wo_np.py", *VAE, "--lamb", "100", "--accumulate", "sum"],
    "ewc-vae": ["baselines/ewc.py", *VAE, "--lamb", "100"],
    "si-vae": ["baselines/si.py", *VAE, "--c", "1"],
    "anpyc_wi_np-cnn": ["anpyc_wi_np.py", *ADAM_CONSTANT, "--model", "cnn", "--benchmark", "split", "--retrain-epochs", "1",
                        "--lamb", "100"],
    "si-cnn": ["baselines/si.py", *ADAM_CONSTANT, "--model", "cnn", "--benchmark", "split", "--c", "1"],
    "joint-cnn": ["baselines/joint.py", *ADAM_CONSTANT, "--model", "cnn", "--benchmark", "split"],
    "lwf-class": ["baselines/lwf.py", *ADAM_CONSTANT, "--benchmark", "split", "--scenario", "class", "--lamb", "1"],
    "ewc-class": ["baselines/ewc.py", *ADAM_CONSTANT, "--benchmark", "split", "--scenario", "class", "--lamb", "100"],
    "mas-aljundi-domain": ["baselines/mas.py", *ADAM_CONSTANT, "--benchmark", "split", "--scenario", "domain",
                           "--variant", "aljundi", "--lamb", "0.01"],
    "sgd_frozen-dropout-layers": ["baselines/sgd_frozen.py", *BASE, "--init", "authors", "--lr", "0.1", "--dropout", "0.5",
                                  "--dropout-layers", "2", "--lr-decay", "1", "--iters", "40"],
    "anpyc_wi_np-adam-iters": ["anpyc_wi_np.py", *ADAM, "--benchmark", "split", "--iters", "40", "--retrain-epochs", "1",
                               "--lamb", "100"],
    "replay-task": ["baselines/replay.py", *ADAM_CONSTANT, "--benchmark", "split", "--memory", "200"],
    "replay-domain": ["baselines/replay.py", *ADAM_CONSTANT, "--benchmark", "split", "--scenario", "domain", "--memory", "200"],
    "ewc-gan": ["baselines/ewc.py", *GAN, "--lamb", "10"],
    "si-gan": ["baselines/si.py", *GAN, "--c", "1"],
    "joint-gan": ["baselines/joint.py", *GAN],
    "generative_replay-full": ["baselines/generative_replay.py", "--tasks", "3", "--epochs", "1", "--train-subset", "300",
                               "--hidden", "16,32", "--latent", "4", "--batch-size", "32", "--replay-batch", "full"],
    "importance-distribution-ours": ["cal_importance_distribution.py", *IMPORTANCE],
    "importance-distribution-authors": ["cal_importance_distribution.py", *IMPORTANCE, "--variant", "authors"],
    "anpyc_wi_np-fashion": ["anpyc_wi_np.py", *ADAM_CONSTANT, "--benchmark", "split", "--dataset", "fashion_mnist",
                            "--retrain-epochs", "1"],
    "anpyc_wi_np-bfloat16": ["anpyc_wi_np.py", *SPLIT_BFLOAT16, "--retrain-epochs", "1", "--lamb", "100"],
    "si-bfloat16": ["baselines/si.py", *SPLIT_BFLOAT16, "--c", "1"],
    "anpyc_wo_np-bfloat16": ["anpyc_wo_np.py", *SPLIT_BFLOAT16, "--lamb", "100"],
    "finetuning-bfloat16": ["baselines/finetuning.py", *SPLIT_BFLOAT16],
    "ewc-bfloat16": ["baselines/ewc.py", *SPLIT_BFLOAT16, "--lamb", "100"],
    "mas-bfloat16": ["baselines/mas.py", *SPLIT_BFLOAT16, "--variant", "aljundi", "--lamb", "0.01"],
    "lwf-bfloat16": ["baselines/lwf.py", *SPLIT_BFLOAT16, "--lamb", "1"],
    "joint-bfloat16": ["baselines/joint.py", *SPLIT_BFLOAT16],
    "replay-bfloat16": ["baselines/replay.py", *SPLIT_BFLOAT16, "--memory", "200"],
    "anpyc_wi_np-authors-bfloat16": ["anpyc_wi_np.py", *AUTHORS, "--lr-decay-first", "0.99", "--precision", "bfloat16",
                                     "--retrain-epochs", "1", "--lamb", "10"],
    "packnet-bfloat16": ["baselines/packnet.py", *AUTHORS, "--prune-fraction", "share", "--precision", "bfloat16"],
    "mergan_jtr": ["baselines/mergan_jtr.py", *MERGAN_SEQUENCE],
    "ewc-mergan": ["baselines/ewc.py", *MERGAN_SEQUENCE, "--lamb", "10000"],
    "anpyc_gan-mergan": ["anpyc_gan.py", *MERGAN_SEQUENCE, "--lamb", "100", "--retrain-epochs", "1"],
    "jt-mergan": ["baselines/finetuning.py", *MERGAN, "--benchmark", "all", "--iters", "150", "--lr", "0.003"],
}
MADE_AT = {  # guard: the commit that made it, that of the campaigns whose path it takes
    **dict.fromkeys(["anpyc_wi_np", "ewc", "si", "joint", "vae"], "4c2d818"),
    **dict.fromkeys(["packnet", "replay-class", "anpyc_wo_np-domain"], "89d9b7a"),
    **dict.fromkeys(["gan", "generative_replay"], "7e01e8c"),
    **dict.fromkeys(["mas-authors", "mas-aljundi-cnn", "lwf", "sgd_frozen", "anpyc_wo_np-adam-iters",
                     "anpyc_wi_np-no-pruning"], "89d9b7a"),  # authors-*, hsu2018-*, vdv2019-split, permuted-*
    **dict.fromkeys(["si-domain-extra-epochs", "anpyc_wi_np-explicit"], "4c2d818"),  # vdv2019-permuted-domain, main-job
    **dict.fromkeys(["finetuning-authors", "ewc-authors-validation", "lwf-permuted", "packnet-fraction",
                     "anpyc_wi_np-adam-class"], "89d9b7a"),  # authors-pruning, packnet-fraction, hsu2018-split-class
    **dict.fromkeys(["anpyc_wo_np-vae-sum", "ewc-vae", "si-vae", "anpyc_wi_np-cnn", "si-cnn", "joint-cnn", "lwf-class",
                     "ewc-class", "mas-aljundi-domain", "sgd_frozen-dropout-layers"], "89d9b7a"),  # vae, hsu2018-*, authors-sgd-frozen
    **dict.fromkeys(["anpyc_wi_np-adam-iters", "replay-task", "replay-domain"], "89d9b7a"),  # vdv2019-split, hsu2018-*
    **dict.fromkeys(["ewc-gan", "si-gan", "joint-gan"], "7e01e8c"),  # gan
    "generative_replay-full": "85be33d",  # gan's generative_replay-full
    **dict.fromkeys(["importance-distribution-ours", "importance-distribution-authors"], "327b012"),
    "anpyc_wi_np-fashion": "441071d",  # fashion-hsu2018-split-*
    **dict.fromkeys(["anpyc_wi_np-fashion-authors", *(name for name in GUARDS if name.endswith("-bfloat16"))],
                    "9632fa6"),  # fashion-authors-pruning, precision-hsu2018-split-task, precision-authors-pruning
    **dict.fromkeys(["mergan_jtr", "ewc-mergan", "anpyc_gan-mergan", "jt-mergan"], "144e027"),  # mergan-mlp
}


def printed(folder: Path) -> list[str]:
    return sorted(path.name for pattern in PRINTED for path in folder.glob(pattern))


def made_again(command: list[str], out: Path, monkeypatch):
    """Run `python <command> --out <out>` from the repository's root, in this test process: the script
    runs as `__main__`, as from the shell, and TensorFlow's import (about 6 s of CPU time on a Zen 3,
    `time python -c "import tensorflow"`) is paid once per test process instead of once per guard. Each
    run seeds what it draws from (common/run.py; cal_importance_distribution.py per seed), and the one
    process-wide switch a run can set, op determinism, is set by no guard and only by runs that the
    tests make in a subprocess. Every guard printed its committed bytes this way after test_methods and
    test_flags in one process, in reverse order alone, and in the whole suite."""
    monkeypatch.chdir(ROOT)
    monkeypatch.setattr(sys, "argv", [*command, "--out", str(out)])
    runpy.run_path(str(ROOT / command[0]), run_name="__main__")


@pytest.mark.parametrize("name", GUARDS)
def test_a_committed_run_is_made_again_to_the_printed_precision(name, tmp_path, monkeypatch):
    """A guard whose numbers depend on the CPU's rounding (the GAN's Fréchet distance moves by up to 1.5
    between two machines, at the same commit) keeps them per kind of CPU in subfolders, each made
    by the commit its campaign ran at; one that keeps only other CPUs' runs has nothing to compare with
    on this machine, and says so."""
    committed, kind = ROOT / "results" / "guard" / name, cpu_kind()
    if kind and (committed / kind).is_dir():
        committed = committed / kind
    elif not printed(committed):
        made_on = ", ".join(p.name for p in committed.iterdir() if p.is_dir())
        pytest.skip(f"{name} holds runs made on {made_on} only, not on this CPU ({kind})")
    made_again(GUARDS[name], tmp_path, monkeypatch)
    files = printed(committed)
    assert files and files == printed(tmp_path)
    for file in files:
        assert (tmp_path / file).read_text() == (committed / file).read_text(), f"{name}: {file} moved"


@pytest.mark.parametrize("name", GUARDS)
def test_each_guard_was_made_by_the_commit_of_its_campaigns(name):
    paths = list((ROOT / "results" / "guard" / name).rglob("provenance.json"))  # every kind of CPU's run
    commits = {session["commit"][:7] for path in paths for session in json.loads(path.read_text())["sessions"]}
    assert paths and commits == {MADE_AT[name]}
