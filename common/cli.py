"""Command-line flags for every script: the shared core, plus each method's own.

Every flag defaults to the value in the script's hyperparameter block, and every value is checked
before any data is read or any model built: a bad one ends the run with one line on stderr that names
the flag and its valid range, and exit status 2.
"""
import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from common import data, models, protocols
from common.errors import Parser, UserError


@dataclass
class Flag:
    """A flag: how to parse it, what it means, and optionally which values are valid and when the run's
    other settings leave it without effect (`inert`: config -> why, with what to say instead; or None)."""

    type: Callable
    help: str
    valid: tuple[Callable, str] | None = None  # (predicate, description of the valid range)
    choices: tuple | None = None
    inert: Callable | None = None


def at_least(low):
    return (lambda v: v >= low, f">= {low}")


def above(low):
    return (lambda v: v > low, f"> {low}")


def within(low, high):
    """[low, high)"""
    return (lambda v: low <= v < high, f"in [{low}, {high})")


def integers(text: str, low: int, kind: str, example: str) -> list[int]:
    """'512,256' -> [512, 256], every value >= low."""
    try:
        values = [int(part) for part in text.split(",")]
    except ValueError:
        values = []
    if not values or min(values) < low:
        raise argparse.ArgumentTypeError(f"must be comma-separated {kind} such as {example} (got {text!r})")
    return values


def widths(text: str) -> list[int]:
    """'512,256' -> [512, 256]."""
    return integers(text, 1, "positive integers", "512,256")


def counts(text: str) -> list[int] | None:
    """'25,20,0' -> [25, 20, 0]; 'none' -> None."""
    return None if text.lower() in ("", "none") else integers(text, 0, "integers >= 0", "25,20,0")


def optional_int(text: str) -> int | None:
    return None if text.lower() in ("", "none", "all") else int(text)


def optional_float(text: str) -> float | None:
    return None if text.lower() in ("", "none") else float(text)


GENERATIVE = ("vae", "gan", "mergan", "mergan-mlp")
MERGAN = ("mergan", "mergan-mlp")
CLASSIFIERS = ("mlp", "cnn", "zenke")  # zenke: Zenke et al. 2017's CNN for split CIFAR


def decay_off(config) -> bool:
    return config.lr_decay == 1 and config.lr_decay_first in (None, 1)


CORE = {
    "dataset": Flag(str, "image dataset (from tensorflow-datasets, or for MNIST and Fashion-MNIST IDX files in "
                         "--data-dir)",
                    choices=tuple(data.DATASETS)),
    "benchmark": Flag(str, "task sequence (classes: one class per task, for --model vae or gan; all: one task of "
                           "every class)", choices=("permuted", "split", "classes", "all")),
    "tasks": Flag(optional_int, "number of tasks (default: 10 permuted; split: 5, CIFAR-100 10; classes: one a class)",
                  at_least(1)),
    "epochs": Flag(int, "epochs per task", at_least(0),
                   inert=lambda c: c.iters is not None and f"--iters {c.iters} sets each task's length; add --iters none "
                                                           "to train by epochs"),
    "iters": Flag(optional_int, "minibatches per task, instead of --epochs", at_least(1)),
    "extra_epochs": Flag(counts, "more epochs for each task after its --epochs or --iters, one number per task "
                                 "(a control that gives a method the training another one gets, e.g. pruning's "
                                 "retraining)"),
    "protocol": Flag(str, "a published protocol's settings (explicit flags still win)", choices=tuple(protocols.PRESETS)),
    "batch_size": Flag(int, "training batch size", at_least(1)),
    "lr": Flag(float, "learning rate", above(0)),
    "lr_decay": Flag(float, "multiply the learning rate by this ...", (lambda v: 0 < v <= 1, "in (0, 1]")),
    "lr_decay_epochs": Flag(int, "... every this many epochs of a task (counted across its retraining rounds)",
                            at_least(1), inert=lambda c: decay_off(c) and "--lr-decay 1 keeps the learning rate constant; "
                                                                          "give --lr-decay below 1 too"),
    "lr_decay_first": Flag(optional_float, "the decay while the first task trains (default: --lr-decay)",
                           (lambda v: 0 < v <= 1, "in (0, 1]")),
    "optimizer": Flag(str, "optimiser", choices=("sgd", "adam")),
    "beta_1": Flag(float, "Adam's beta_1", within(0, 1), inert=lambda c: c.optimizer != "adam" and "only Adam has betas"),
    "beta_2": Flag(float, "Adam's beta_2", within(0, 1), inert=lambda c: c.optimizer != "adam" and "only Adam has betas"),
    "optimizer_state": Flag(str, "carry the optimiser's state (Adam's moments) from task to task, or reset it as each "
                                 "task begins (Memory Replay GANs'; on their GAN, the critic's too)", choices=("carry", "reset"),
                            inert=lambda c: c.optimizer != "adam" and "plain SGD keeps no state"),
    "model": Flag(str, "network: an MLP or CNN classifier (zenke: Zenke et al.'s CIFAR CNN), or an MLP VAE or conditional GAN (generation), or Memory "
                       "Replay GANs' conditional GAN (mergan) or its MLP form (mergan-mlp)",
                  choices=(*CLASSIFIERS, "vae", "gan", *MERGAN)),
    "latent": Flag(int, "latent dimensions of the VAE or the GAN", at_least(1),
                   inert=lambda c: (c.model not in GENERATIVE and f"--model {c.model} is a classifier, with no latent space"
                                    or c.model in MERGAN and "MeRGAN's z has 128 dimensions (gan32_model.py)")),
    "hidden": Flag(widths, "widths of the hidden Dense layers, e.g. 512,256",
                   inert=lambda c: c.model == "mergan" and "MeRGAN's convolutional networks are fixed (gan32_model.py); "
                                                           "--model mergan-mlp takes --hidden"),
    "init": Flag(str, "initialisation: authors (truncated normal sigma 0.1, biases 0.1), glorot (Keras'), or "
                      "auto (authors for the MLP, glorot for the CNN and the VAE)", choices=("auto", "authors", "glorot"),
                 inert=lambda c: c.model in MERGAN and "MeRGAN's networks start as its tflib's (common/mergan.py)"),
    "dropout": Flag(float, "dropout rate after each hidden Dense layer (training only)", within(0, 1),
                    inert=lambda c: c.model in GENERATIVE and f"--model {c.model} has no dropout"),
    "dropout_layers": Flag(counts, "the hidden Dense layers (numbered from 1) that dropout follows (none: every one)",
                           inert=lambda c: (c.model in GENERATIVE or not c.dropout) and "no dropout: give --dropout above 0 "
                                                                                       "too (--model mlp or cnn)"),
    "scenario": Flag(str, "task: one head per task; domain: one head shared by all; class: one head over all "
                     "classes seen so far, no task identity", choices=("task", "domain", "class"),
                     inert=lambda c: c.model in ("gan", *MERGAN) and "the GAN is conditioned on the digit: one output layer serves "
                                                          "every task"),
    "seed": Flag(int, "random seed (weights, shuffling, permutations, dropout)", at_least(0)),
    "precision": Flag(str, "what the classifier's layers compute in (bfloat16: faster where the hardware has bfloat16 units, docs/speed.md; "
                           "variables, importances, penalties, the heads and the loss stay float32)",
                      choices=tuple(models.POLICIES),
                      inert=lambda c: c.model in GENERATIVE and f"--model {c.model} computes in float32"),
    "deterministic": Flag(bool, "TensorFlow's op determinism: same-seed runs and resumes repeat exactly on a GPU "
                                "too (a CPU run repeats without it)"),
    "train_subset": Flag(optional_int, "train on the first N images of each task (quick runs)", at_least(1)),
    "validation": Flag(int, "hold out the first N training images of each task as a validation split "
                       "(5000: the authors' 55,000 / 5,000 split)", at_least(0)),
    "data_dir": Flag(str, "folder with the dataset's four IDX files, itself or in its subfolder mnist/ or "
                          "fashion-mnist/ (default: $ANPYC_DATA_DIR, then tfds)"),
    "out": Flag(str, "results folder (default: a new folder under results/)"),
    "label": Flag(str, "the method's name in tables (default: the script's), for a variant such as a control"),
}


def parse(hparams: dict, flags: dict, description: str, argv=None) -> argparse.Namespace:
    """Parse argv into the run's settings: the core flags plus `flags`, defaults from `hparams`.

    `hparams["defines"]` names the settings that make the script the method it is (one shared head for
    sgd_single_head.py, the VAE for anpyc_vae.py): a preset never changes them, and a flag that
    contradicts them is an error. `hparams["networks"]` lists the --model values the method is defined
    for, and `hparams["presets"]` the method's own values under each preset (such as pruning's
    retraining rounds); a preset it does not name leaves them to the script, and a setting that is then
    None must be given.

    A flag that the run's other settings leave without effect (its `inert`) is an error when given, and
    otherwise recorded as None: config.json holds what ran. One that the defaults leave without effect
    and the flags given bring into play takes the script's (or the preset's) value."""
    prog = Path(sys.argv[0]).name
    argv = sys.argv[1:] if argv is None else list(argv)
    defined = {name: hparams[name] for name in hparams.get("defines", ())}
    protocol = None
    if "protocol" in hparams:  # the preset's values become the defaults, so explicit flags still win
        preset = Parser(prog=prog, add_help=False)
        preset.add_argument("--protocol", choices=tuple(protocols.PRESETS), default=hparams["protocol"])
        protocol = preset.parse_known_args(argv)[0].protocol
        own = hparams.get("presets", {})
        hparams = hparams | protocols.PRESETS[protocol] | own.get(protocol, {}) | defined
    parser = Parser(prog=prog, description=description, formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    specs = {name: spec for name, spec in (CORE | flags).items() if name in hparams or name in ("data_dir", "out")}
    # What the defaults leave without effect has no default: --help says why, and it is None unless the
    # flags given bring it into play (then it takes the script's or the preset's value, and must be given
    # where they have none).
    base = settings_view(hparams, flags)
    idle = {name: spec.inert(base) for name, spec in specs.items() if spec.inert and spec.inert(base)}
    for name, spec in specs.items():
        default = None if name in idle else hparams.get(name)
        if spec.type is widths and isinstance(default, str):
            default = widths(default)
        flag = "--" + name.replace("_", "-")
        text = spec.help + (f"; no effect here: {idle[name]}" if name in idle else "")
        if spec.type is bool:
            parser.add_argument(flag, action="store_true", default=default, help=text)
        else:
            parser.add_argument(flag, type=spec.type, default=default, choices=spec.choices, help=text)
    parser.add_argument("--overwrite", action="store_true",
                        help="replace the run in --out, finished or not (its files are deleted first)")
    parser.add_argument("--resume", metavar="DIR",
                        help="continue the interrupted run in DIR with the settings it started with")
    config = parser.parse_args(argv)
    given = [a.split("=")[0] for a in argv if a.startswith("--")]
    if config.resume:
        ignored = [a for a in given if a not in ("--resume", "--data-dir")]
        if ignored:
            parser.error(f"--resume continues a run with the settings it started with: drop {', '.join(ignored)} "
                         f"(only --data-dir may change)")
        return resumed(config.resume, parser, defaults=vars(parser.parse_args([])), data_dir=config.data_dir)
    for name, spec in specs.items():
        value = getattr(config, name)
        if spec.valid and value is not None and not spec.valid[0](value):
            parser.error(f"--{name.replace('_', '-')} must be {spec.valid[1]} (got {value})")
    for name, value in defined.items():
        if getattr(config, name) != value:
            parser.error(f"--{name.replace('_', '-')} {getattr(config, name)}: {prog} is defined by {name} {value}")
    networks = hparams.get("networks")
    if networks and config.model not in networks:
        parser.error(f"--model {config.model}: {prog} is defined for --model {' or '.join(networks)}")
    view = settings_view(vars(config), flags)
    for name, spec in specs.items():
        flag = "--" + name.replace("_", "-")
        why = spec.inert and spec.inert(view)
        if why and flag in given:
            parser.error(f"{flag} has no effect here: {why}")
        if why:
            setattr(config, name, None)
        elif name in idle and flag not in given:  # brought into play by other flags: the script's value
            value = hparams.get(name)
            setattr(config, name, widths(value) if spec.type is widths and isinstance(value, str) else value)
    if "benchmark" in hparams:
        dataset = data.DATASETS[config.dataset]
        full = data.sequence_length(config.benchmark, dataset)
        if config.benchmark != "permuted" and config.tasks is not None and config.tasks > full:
            parser.error(f"--tasks must be at most {full} for {config.benchmark} {dataset.title} (got {config.tasks})")
        generative = config.model in GENERATIVE
        if config.benchmark == "classes" and not generative:
            parser.error("--benchmark classes (one digit per task) is for --model vae or gan: a classifier needs "
                         "2 classes or more")
        if generative and config.scenario == "class":
            parser.error(f"--scenario class is for classifiers: a {config.model.upper()} has no classes to tell apart")
        if generative and config.benchmark == "permuted":
            parser.error(f"--model {config.model} needs --benchmark classes or split (its samples are judged as digits)")
        config.tasks = config.tasks or full
        if config.dropout_layers is not None and not set(config.dropout_layers) <= set(range(1, len(config.hidden) + 1)):
            parser.error(f"--dropout-layers must number hidden layers 1 to {len(config.hidden)} (got "
                         f"{','.join(map(str, config.dropout_layers))})")
        if config.extra_epochs is not None and len(config.extra_epochs) != config.tasks:
            parser.error(f"--extra-epochs needs one number per task: {config.tasks} (got {len(config.extra_epochs)})")
    for name, spec in specs.items():
        if getattr(config, name) is None and spec.type in (int, float, widths) and not (spec.inert and spec.inert(view)):
            source = f"--protocol {protocol}" if protocol else "the script"
            parser.error(f"--{name.replace('_', '-')}: {source} gives it no value here: give one")
    if "init" in hparams:  # what config.json records is the initialisation the network got
        config.init = models.network_init(config.init, config.model)
    config.script = prog
    return config


def settings_view(values: dict, flags: dict) -> argparse.Namespace:
    """`values` with every flag's name present (None where a script has no such setting), for the
    inert rules, which read settings that some scripts do not have (e.g. --iters)."""
    return argparse.Namespace(**({name: None for name in CORE | flags} | values))


def resumed(folder: str, parser, defaults: dict, data_dir: str | None) -> argparse.Namespace:
    """The settings of the run in `folder`, to continue it (a setting added since it started takes its
    default), with the data read from `data_dir` if given: the SHA-256 sums make it the same data."""
    path = Path(folder) / "config.json"
    if not path.is_file():
        parser.error(f"--resume: {path} not found: is {folder} a results folder?")
    config = argparse.Namespace(**(defaults | json.loads(path.read_text())))
    if config.script != parser.prog:
        parser.error(f"--resume: {folder} was written by {config.script}, not {parser.prog}")
    config.resume, config.out, config.overwrite = folder, folder, False
    config.data_dir = data_dir or config.data_dir
    return config


def inert(config, flags: dict) -> set[str]:
    """The settings of `config` that its other settings leave without effect (recorded as None)."""
    view = settings_view(vars(config), flags)
    return {name for name, spec in (CORE | flags).items() if spec.inert and hasattr(config, name) and spec.inert(view)}


def main(method_cls, hparams: dict, flags: dict, description: str, argv=None):
    """Parse the flags and run `method_cls`; a UserError ends the run with one line on stderr."""
    config = parse(hparams, flags, description, argv)
    from common.run import run

    try:
        run(method_cls, config)
    except UserError as error:
        sys.exit(f"{config.script}: error: {error}")
    except KeyboardInterrupt:
        sys.exit(f"{config.script}: interrupted; every finished task is saved in the results folder")
