"""Every flag does what it says: for every script of compare.py and every flag of its --help, a tiny run
with the flag set to another value either computes something else (the checkpoint's variables or a
result matrix differ) or is refused in one line. A flag that is accepted and changes nothing would make
config.json record a setting that never ran.

The walk is split by who reads a flag. A core flag (common/cli.py's CORE) is read by the shared loop, the
data and the network: it is walked on fine-tuning, the method with no hooks, on the MLP (plain SGD); on the
CNN, the VAE, the GAN and Memory Replay GANs' MLP form (their networks, and the GANs' steps, are their own
code) the flags that build a network and those their modules read, and on the last Adam's betas.
Each script then walks its own flags, and every core flag that its method's own code reads (`config.X`
in the source of its class and the classes it derives from), so that a method that overrides what a
core flag does is walked on it.

The flags that say where and how a run is made rather than what it computes have checks of their own
(tests/test_cli.py, test_robustness.py, test_gpu_ready.py): HOW lists them, with what each does.
"""
import functools
import inspect
import re
from pathlib import Path

import numpy as np
import pytest

import compare
from common import cli, data, gan, mergan, models, provenance, results, vae
from common.run import run

HOW = {
    "help": "prints the flags",
    "out": "the results folder",
    "overwrite": "replaces a run in --out",
    "resume": "continues an interrupted run",
    "label": "the method's name in tables",
    "data_dir": "where the IDX files are read (the same images: their SHA-256 sums are checked)",
    "deterministic": "TensorFlow's op determinism: the same numbers on a CPU by design, for exact repeats on a GPU",
}

# Tiny runs: 3 tasks (so that what acts from the third task on, such as how importances accumulate,
# shows), a few batches of 32, a learning rate that decays after every epoch.
CLASSIFIER = ["--tasks", "3", "--train-subset", "96", "--epochs", "2", "--hidden", "8,8", "--batch-size", "32",
              "--lr-decay-epochs", "1"]
GENERATOR = ["--tasks", "3", "--train-subset", "64", "--epochs", "1", "--hidden", "8,8", "--latent", "4",
             "--batch-size", "32"]
BASE = {  # per script, when its defaults need more (a GAN or VAE; pruning that retrains briefly)
    "anpyc_wi_np.py": CLASSIFIER + ["--retrain-epochs", "1"],
    "anpyc_vae.py": GENERATOR + ["--retrain-epochs", "1"],
    "anpyc_gan.py": GENERATOR + ["--retrain-epochs", "1"],
    "baselines/generative_replay.py": GENERATOR,
}
NETWORK = {"model", "hidden", "init", "dropout", "dropout_layers", "latent", "precision"}  # what builds the network
# Another value for each flag; a callable gets the base run's settings.
OTHER = {
    "dataset": lambda c: "fashion_mnist" if c.dataset == "mnist" else "mnist",
    "benchmark": lambda c: "split" if c.benchmark != "split" else "classes",
    "tasks": lambda c: c.tasks + 1,
    "epochs": lambda c: c.epochs + 1,
    "iters": lambda c: 2,
    "extra_epochs": lambda c: ",".join(["1"] * c.tasks),
    "protocol": lambda c: "authors-pruning" if c.protocol != "authors-pruning" else "authors",
    "batch_size": lambda c: 16,
    "lr": lambda c: c.lr / 2,
    "lr_decay": lambda c: 0.5,
    "lr_decay_epochs": lambda c: 2,
    "lr_decay_first": lambda c: 0.5,
    "optimizer": lambda c: "adam" if c.optimizer == "sgd" else "sgd",
    "beta_1": lambda c: 0.5,
    "beta_2": lambda c: 0.99,
    "optimizer_state": lambda c: "carry" if c.optimizer_state == "reset" else "reset",
    "model": lambda c: "cnn" if c.model == "mlp" else "mlp",
    "latent": lambda c: (c.latent or 4) + 1,
    "hidden": lambda c: "8,6",
    "init": lambda c: "glorot" if c.init == "authors" else "authors",
    "dropout": lambda c: 0.25 if c.dropout != 0.25 else 0.5,
    "dropout_layers": lambda c: "1",
    "scenario": lambda c: "domain" if c.scenario == "task" else "task",
    "precision": lambda c: "bfloat16" if c.precision != "bfloat16" else "float32",
    "seed": lambda c: c.seed + 1,
    "train_subset": lambda c: 80,
    "validation": lambda c: 16,
    "penalty_step": lambda c: "explicit" if c.penalty_step == "implicit" else "implicit",
    "lamb": lambda c: c.lamb * 10 + 1,
    "c": lambda c: c.c * 10 + 1,
    "accumulate": lambda c: "sum" if c.accumulate == "max" else "max",
    "importance_batch": lambda c: 7,
    "prune_percent": lambda c: 30,
    "prune_decay": lambda c: 0.5,
    "prune_step": lambda c: 20,
    "retrain_epochs": lambda c: 2,
    "variant": lambda c: {"online": "kirkpatrick", "kirkpatrick": "online", "authors": "aljundi"}.get(c.variant, "authors"),
    "gamma": lambda c: 0.5,
    "fisher_samples": lambda c: 40,
    "fisher_batch": lambda c: 7,
    "xi": lambda c: c.xi * 10,
    "temperature": lambda c: c.temperature * 2,
    "old_heads": lambda c: "trained" if c.old_heads == "frozen" else "frozen",
    "memory": lambda c: 20,
    "prune_fraction": lambda c: "0.5" if c.prune_fraction == "share" else "share",
    "replay_batch": lambda c: "full" if c.replay_batch == "split" else "split",
}


def method_class(module):
    """The class that the script's `cli.main(...)` runs."""
    call = re.search(r"cli\.main\((\w+)", inspect.getsource(module)).group(1)
    return getattr(module, call)


def read_by(module) -> set[str]:
    """The core flags that a module's code reads (`config.X` or `cfg.X`)."""
    return set(re.findall(r"\b(?:config|cfg)\.(\w+)", inspect.getsource(module))) & set(cli.CORE)


def own_core_flags(module) -> set[str]:
    """The core flags that the method's own code reads: `config.X` or `cfg.X` in its classes' source."""
    sources = [Path(module.__file__).read_text() if cls.__module__ == module.__name__ else inspect.getsource(cls)
               for cls in method_class(module).__mro__ if cls is not object]
    return {name for source in sources for name in re.findall(r"\b(?:config|cfg)\.(\w+)", source)} & set(cli.CORE)


def outcome(module, argv, folder):
    """What a run with `argv` computes (its checkpoint's arrays and its result matrices), or the one
    line that refuses it."""
    try:
        config = cli.parse(module.HPARAMS, getattr(module, "FLAGS", {}), "", [*argv, "--out", str(folder)])
    except SystemExit:
        return "refused"
    run(method_class(module), config, log=lambda *a, **k: None)
    with np.load(folder / "checkpoint.npz") as arrays:  # not "progress": its wall times and memory vary
        numbers = {name: arrays[name] for name in arrays.files if name != "progress"}
    return numbers | {p.name: p.read_text() for p in folder.glob("*.csv")}


def same(a, b) -> bool:
    return (a == b if isinstance(a, str) or isinstance(b, str)
            else a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a))


@pytest.fixture(autouse=True)
def quick(monkeypatch):
    """What does not tell one run from another is left out: pictures, provenance, all but 200 test images
    of each task, all but 100 of a generator's judged samples (of Memory Replay GANs', all but two
    batches: 128 of a digit), and four of their five critic steps a generator step (each is traced into
    the epoch's graph; no flag sets their number).
    The judge of samples is the same network in every run (fixed weights and order): it is trained once."""
    monkeypatch.setattr(vae, "JUDGED_SAMPLES", 100)
    monkeypatch.setattr(gan, "JUDGED_SAMPLES", 100)
    monkeypatch.setattr(mergan, "JUDGED_BATCHES", 2)
    monkeypatch.setattr(mergan, "CRITIC_STEPS", 1)
    judge = functools.cache(vae.sample_judge)
    monkeypatch.setattr(vae, "sample_judge", judge)
    monkeypatch.setattr(gan, "sample_judge", judge)
    for network in (models.Network, gan.GAN, vae.VAE, mergan.MeRGAN):
        monkeypatch.setattr(network, "pictures", lambda self, learned: {})
    monkeypatch.setattr(results, "curves_png", lambda matrix, title: b"")
    monkeypatch.setattr(provenance, "record", lambda folder, device, resumed: {})
    benchmark = data.make_benchmark

    def fewer_test_images(*args, **kwargs):
        tasks = benchmark(*args, **kwargs)
        for task in tasks:
            task.test = data.Split(task.test.images[:200], task.test.labels[:200])
        return tasks

    monkeypatch.setattr(data, "make_benchmark", fewer_test_images)


def silent_flags(module, base: list[str], names, folder) -> list[str]:
    """The flags among `names` that the script accepts, set to another value, and computes the same with."""
    config = cli.parse(module.HPARAMS, getattr(module, "FLAGS", {}), "", base)
    reference = outcome(module, base, folder / "base")
    assert reference != "refused"
    silent = []
    for name in sorted(set(names) - set(HOW)):
        value = OTHER[name](config)
        got = outcome(module, [*base, "--" + name.replace("_", "-"), str(value)], folder / name)
        if got != "refused" and same(got, reference):
            silent.append(f"--{name.replace('_', '-')} {value}")
    return silent


# The core walks need no third task (no core flag acts from it on); the network's flags also on the CNN.
TWO = ["--tasks", "2"]
KINDS = {"mlp": (CLASSIFIER + TWO, set(cli.CORE)), "cnn": (CLASSIFIER + TWO + ["--model", "cnn"], NETWORK),
         "vae": (["--protocol", "vae", *GENERATOR, *TWO], NETWORK | read_by(vae)),
         "gan": (["--protocol", "gan", *GENERATOR, *TWO], NETWORK | read_by(gan)),
         "mergan-mlp": (["--protocol", "mergan-mlp", *TWO, "--train-subset", "64", "--iters", "2", "--hidden", "8,8"],
                        NETWORK | read_by(mergan) | {"beta_1", "beta_2"})}


@pytest.mark.parametrize("kind", KINDS)
def test_every_core_flag_changes_the_run_or_is_refused(kind, tmp_path, capsys):
    finetuning = compare.script("finetuning")
    base, names = KINDS[kind]
    silent = silent_flags(finetuning, base, names, tmp_path)
    capsys.readouterr()
    assert silent == [], f"--model {kind}: fine-tuning accepts and ignores {', '.join(silent)}"


OWN = {m: set(getattr(compare.script(m), "FLAGS", {})) | own_core_flags(compare.script(m)) for m in compare.METHODS}


@pytest.mark.parametrize("method", [m for m, names in OWN.items() if names])  # not those without flags of their own
def test_every_flag_of_a_method_changes_the_run_or_is_refused(method, tmp_path, capsys):
    module = compare.script(method)
    script = compare.METHODS[method]
    base = BASE.get(script, GENERATOR if module.HPARAMS.get("model") in ("vae", "gan") else CLASSIFIER)
    silent = silent_flags(module, base, OWN[method], tmp_path)
    capsys.readouterr()
    assert silent == [], f"{script} accepts and ignores: {', '.join(silent)}"


def test_the_walk_finds_a_flag_that_is_accepted_and_ignored(tmp_path, monkeypatch):
    from baselines import finetuning
    from common.training import Trainer

    reference = outcome(finetuning, CLASSIFIER, tmp_path / "base")
    assert not same(outcome(finetuning, [*CLASSIFIER, "--lr-decay", "0.5"], tmp_path / "decay"), reference)
    monkeypatch.setattr(Trainer, "learning_rate", lambda self, task, phase: self.config.lr)  # the decay ignored
    reference = outcome(finetuning, CLASSIFIER, tmp_path / "base-ignored")
    assert same(outcome(finetuning, [*CLASSIFIER, "--lr-decay", "0.5"], tmp_path / "decay-ignored"), reference)
