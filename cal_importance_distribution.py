"""How EWC, MAS and ANPyC spread importance over the parameters, before and after pruning.

The paper argues that ANPyC's structure-aware importance is sparse and polarised (a few parameters
matter a lot, most hardly at all), which is what lets pruning free most of the network. As in the
authors' experiment: train one permuted-MNIST task (or permuted Fashion-MNIST, `--dataset
fashion_mnist`; MLP 784-64-32, no dropout, 10 epochs, SGD at lr 0.1, batch 128); measure each trunk
parameter's importance with EWC's Fisher, MAS and ANPyC (the functions the training scripts use);
min-max normalise each method's importance over all trunk parameters together; then prune
iteratively with ANPyC's importance from 5% to 85% in steps of 5 (2 retraining epochs with masked
gradients after each step) and measure all three again. Repeated over several seeds; writes
stats.json, a printed table and figures to the results folder.

`--variant authors` repeats the authors' script exactly where ours differs: it trains on 55,000 images
(5,000 held out); EWC's Fisher comes from the first image of each batch of 100 (550 images), MAS from
|gradient of 0.5 ||softmax||^2 summed over the batch|, and ANPyC's importance is clipped at zero after
the average over batches, not per batch; pruning starts at 0% (2 retraining epochs, nothing pruned),
follows the unclipped ANPyC scores from before pruning instead of recomputing them, and the lr keeps
decaying (x0.9 every 10 epochs) through the retraining.
"""
import time
from functools import partial
from pathlib import Path

from common import cli, data, distribution, models, provenance, report
from common.errors import Parser, UserError
from common.importance import anpyc_batch, fisher_batch, mas_batch, mas_softmax_batch
from common.method import Method
from common.pruning import Masks, prune_mask
from common.results import RESULTS, figure_png, make_folder, plt, write_atomic, write_json
from common.run import device_name
from common.training import Trainer
import keras
import numpy as np
import tensorflow as tf

HPARAMS = dict(  # one permuted-MNIST task
    dataset="mnist",
    model="mlp", hidden="64,32", dropout=0.0, init="authors",  # MLP 784-64-32, no dropout (authors)
    optimizer="sgd", lr=0.1, batch_size=128, epochs=10,  # authors
    lr_decay=1.0, lr_decay_epochs=10, lr_decay_first=None,  # ours: constant; --variant authors: x0.9 every 10
    seed=0, train_subset=None,
    variant="ours",
    seeds=10,  # the authors averaged 10 runs
    prune_max=85, prune_step=5,  # prune 5%, 10%, ... 85% (authors)
    retrain_epochs=2,  # after each pruning step (authors)
    importance_batch=100,
)

FLAGS = {
    "variant": cli.Flag(str, "ours, or the authors' exact computation (see above)", choices=("ours", "authors")),
    "seeds": cli.Flag(int, "number of runs, with seeds seed, seed+1, ...", cli.at_least(1)),
    "prune_max": cli.Flag(int, "final prune percent", cli.within(0, 100)),
    "prune_step": cli.Flag(int, "prune percent added at each step", cli.within(1, 101)),
    "retrain_epochs": cli.Flag(int, "retraining epochs after each pruning step", cli.at_least(0)),
    "importance_batch": cli.Flag(int, "batch size of the importance computations", cli.at_least(1)),
}

# The authors' hard-coded 10-run statistics (their plotting script), for comparison.
AUTHORS = {
    "kurtosis": {"before": {"EWC": 352, "MAS": 11.9, "ANPyC": 1596}, "after": {"EWC": 793, "MAS": 49, "ANPyC": 15152}},
    "skewness": {"before": {"EWC": 13.1, "MAS": 2.3, "ANPyC": 27.8}, "after": {"EWC": 22.4, "MAS": 4.9, "ANPyC": 108.4}},
}
METHODS = ("EWC", "MAS", "ANPyC")
PHASES = ("before", "after")


class MaskedTraining(Method):
    """Fine-tuning whose trunk gradients go through pruning masks."""

    def setup(self, trainer):
        self.masks = Masks(trainer.model.trunk_variables)

    def apply_step(self, optimizer, grads, variables, task_grads):
        self.masks.apply(optimizer, grads, variables)


def importances(trainer, config, seed) -> dict:
    """Each method's importance of every trunk parameter, as one array per trunk tensor."""
    n, b = len(trainer.model.trunk_variables), config.importance_batch
    generator = keras.random.SeedGenerator(seed)
    if config.variant == "authors":
        def first_image_fisher(model, task, x):  # one image of each batch
            return fisher_batch(model, task, x[:1], seed=generator)

        measured = {
            "EWC": trainer.task_mean(first_image_fisher, 0, b, per_sample=False),
            "MAS": trainer.task_mean(mas_softmax_batch, 0, b, per_sample=False),
            "ANPyC": [tf.nn.relu(m) for m in unclipped_anpyc(trainer, config)],
        }
    else:
        measured = {
            "EWC": trainer.task_mean(partial(fisher_batch, seed=generator), 0, b, per_sample=True),
            "MAS": trainer.task_mean(mas_batch, 0, b, per_sample=True),
            "ANPyC": trainer.task_mean(anpyc_batch, 0, b, per_sample=False),  # clipped batch by batch
        }
    return {method: [t.numpy() for t in values[:n]] for method, values in measured.items()}


def unclipped_anpyc(trainer, config):
    """ANPyC's importance without the max(0, .), averaged over batches (the authors' analysis)."""
    return trainer.task_mean(partial(anpyc_batch, clip=False), 0, config.importance_batch, per_sample=False)


def one_seed(config, seed, log) -> dict:
    keras.utils.set_random_seed(seed)
    authors = config.variant == "authors"
    validation = 5000 if authors else 0  # the authors trained on 55,000 of the 60,000 images
    tasks = data.make_benchmark("permuted", 1, seed, config.data_dir, config.train_subset, validation, config.dataset)
    model = models.build(config.model, config.hidden, 1, tasks[0].classes, config.dropout, tasks[0].shape, config.init)
    trainer = Trainer(model, tasks, MaskedTraining(config), config, log=lambda *_: None)
    masks = trainer.method.masks
    trainer.train(0, config.epochs)
    result = {"before": importances(trainer, config, seed), "accuracy_before": trainer.score(0),
              "names": [v.path for v in masks.variables]}
    everything = [np.ones(v.shape, bool) for v in masks.variables]
    fixed = unclipped_anpyc(trainer, config) if authors else None  # the authors prune by these throughout
    for q in range(0 if authors else config.prune_step, config.prune_max + 1, config.prune_step):
        anpyc = fixed or trainer.task_mean(anpyc_batch, 0, config.importance_batch, per_sample=False)
        masks.set([prune_mask(i.numpy(), f, k, q / 100) for i, f, k in zip(anpyc, everything, masks.keep())])
        trainer.train(0, config.retrain_epochs)
    result |= {"after": importances(trainer, config, seed), "accuracy_after": trainer.score(0)}
    log(f"seed {seed}: accuracy {result['accuracy_before']:.2f}% trained, {result['accuracy_after']:.2f}% "
        f"after pruning {config.prune_max}%")
    return result


def normalised(tensors) -> list[np.ndarray]:
    """Min-max normalised over all the tensors together, returned tensor by tensor (flattened)."""
    flat = distribution.min_max(np.concatenate([t.ravel() for t in tensors]))
    return np.split(flat, np.cumsum([t.size for t in tensors])[:-1])


def log_histogram(axis, values, label, **style):
    """Density of the positive values on log-spaced bins; the share of exact zeros goes in the label."""
    positive = values[values > 0]
    bins = np.logspace(-8, 0, 65)
    axis.hist(np.clip(positive, 1e-8, 1), bins=bins, density=True, histtype="step", linewidth=1.5,
              label=f"{label} ({100 * np.mean(values == 0):.0f}% zero)", **style)
    axis.set(xscale="log", yscale="log", xlabel="normalised importance", ylabel="density")


def save_figure(figure, path):
    write_atomic(path, figure_png(figure, dpi=110))


def plot(runs, folder: Path):
    pooled = {(m, p): np.concatenate([np.concatenate(normalised(r[p][m])) for r in runs])
              for m in METHODS for p in PHASES}
    figure, axes = plt.subplots(1, 2, figsize=(12, 4.5), constrained_layout=True, sharey=True)
    for axis, phase in zip(axes, PHASES):
        for method in METHODS:
            log_histogram(axis, pooled[method, phase], method)
        axis.set_title(f"{phase} pruning")
        axis.legend(fontsize="small")
    figure.suptitle(f"Normalised importance of all trunk parameters ({len(runs)} seeds)")
    save_figure(figure, folder / "density.png")

    figure, axes = plt.subplots(1, 3, figsize=(15, 4.5), constrained_layout=True, sharey=True)
    for axis, method in zip(axes, METHODS):
        for phase, style in zip(PHASES, ("-", "--")):
            log_histogram(axis, pooled[method, phase], f"{phase} pruning", linestyle=style)
        axis.set_title(method)
        axis.legend(fontsize="small")
    figure.suptitle("Before versus after pruning, each method's own normalisation")
    save_figure(figure, folder / "before_after.png")

    names = runs[0]["names"]
    figure, axes = plt.subplots(2, len(names), figsize=(4.2 * len(names), 8), constrained_layout=True, squeeze=False)
    for row, phase in enumerate(PHASES):
        for col, name in enumerate(names):
            axis = axes[row][col]
            for method in METHODS:  # normalised over all trunk parameters, then this tensor's part
                log_histogram(axis, np.concatenate([normalised(r[phase][method])[col] for r in runs]), method)
            axis.set_title(f"{name}, {phase} pruning", fontsize="medium")
            axis.legend(fontsize="x-small")
    save_figure(figure, folder / "per_layer.png")


def summarise(runs) -> dict:
    stats = {}
    for method in METHODS:
        for phase in PHASES:
            per_seed = [distribution.describe(np.concatenate(normalised(r[phase][method]))) for r in runs]
            stats.setdefault(method, {})[phase] = {  # mean, sample sd and each seed's value (for paired contrasts)
                name: dict(zip(("mean", "std"), report.mean_std([s[name] for s in per_seed])))
                | {"seeds": [float(s[name]) for s in per_seed]}
                for name in distribution.STATISTICS
            }
    return stats


def table(stats) -> str:
    names = list(distribution.STATISTICS)
    lines = ["| method | pruning | " + " | ".join(names) + " |", "|---|---|" + "---|" * len(names)]
    for method in METHODS:
        for phase in PHASES:
            cells = [report.mean_pm_sd(stats[method][phase][n]["mean"], stats[method][phase][n]["std"], ".3g")
                     for n in names]
            lines.append(f"| {method} | {phase} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(config, log=print):
    if config.variant == "authors":  # their lr decays by 0.9 every 10 epochs, on through the retraining
        config.lr_decay, config.lr_decay_epochs = 0.9, 10
    folder = make_folder(Path(config.out) if config.out else RESULTS / f"importance-distribution-{time.strftime('%Y%m%d-%H%M%S')}")
    write_json(folder / "config.json", vars(config))
    provenance.record(folder, device_name(), resumed=False)
    runs = [one_seed(config, seed, log) for seed in range(config.seed, config.seed + config.seeds)]
    stats = summarise(runs)
    accuracy = {p: float(np.mean([r[f"accuracy_{p}"] for r in runs])) for p in PHASES}
    write_json(folder / "stats.json", {"statistics": stats, "accuracy": accuracy, "seeds": config.seeds,
                                       "authors": AUTHORS})
    markdown = table(stats)
    write_atomic(folder / "stats.md", markdown)
    plot(runs, folder)
    log(markdown + f"results in {folder}")
    return stats


if __name__ == "__main__":
    settings = cli.parse(HPARAMS, FLAGS, __doc__)
    if settings.variant == "authors" and settings.lr_decay != HPARAMS["lr_decay"]:
        Parser(prog=settings.script).error("--lr-decay has no effect here: --variant authors decays the lr by "
                                           "0.9 every 10 epochs; drop --lr-decay")
    try:
        main(settings)
    except UserError as error:
        raise SystemExit(f"{settings.script}: error: {error}")
