"""Reading a folder of finished runs back: per-method tables, pairwise verdicts and comparison figures.

A run is any folder below the given one that holds config.json and summary.json; its method is its
--label, else the stem of the script that wrote it (`ewc`, `anpyc_wi_np`, ...), and its swept value the
name of its parent folder when that reads FLAG=VALUE (compare.py --sweep writes METHOD/FLAG=VALUE/seedN).

A row pools the seeds of one method, and nothing else: runs that differ in any setting but the seed,
or in the code that produced them (provenance.json's source hash, and the TensorFlow, Keras and numpy
versions and device), are refused with one line that names the difference.
"""
import csv
import io
import json
from pathlib import Path

import numpy as np
from scipy import stats

from common import metrics, provenance
from common.errors import UserError
from common.results import figure_png, plt, write_atomic

# What may differ between the seeds of one row: the seed, and where the run was written and read.
PER_RUN = ("seed", "out", "resume", "overwrite", "data_dir")
# What of a run's provenance must agree between the seeds of one row.
CODE = ("source_hash", "tensorflow", "keras", "numpy", "device")


def read_matrix(path: Path) -> list[list[float]]:
    rows = list(csv.reader(path.read_text().splitlines()))[1:]
    return [[float(a) for a in row[1:] if a != ""] for row in rows]


def load_runs(folder: Path) -> list[dict]:
    """Every finished run below `folder`, as dicts with method, seed, config, summary and matrix."""
    runs = []
    for summary_path in sorted(Path(folder).rglob("summary.json")):
        summary = json.loads(summary_path.read_text())
        config_path = summary_path.with_name("config.json")
        if not summary.get("finished") or not config_path.exists():
            continue
        config = json.loads(config_path.read_text())
        runs.append({
            "method": config.get("label") or Path(config["script"]).stem, "seed": config["seed"], "config": config,
            "summary": summary, "matrix": read_matrix(summary_path.with_name("accuracy.csv")),
            "path": summary_path.parent, "provenance": provenance.read(summary_path.parent),
            "value": summary_path.parent.parent.name if "=" in summary_path.parent.parent.name else None,
        })
    return runs


def code(run) -> dict | None:
    """What made the run: its provenance's CODE entries, the same in every session (None if it has no
    provenance); a run resumed under other code raises UserError."""
    sessions = [{key: session.get(key) for key in CODE} for session in run["provenance"]]
    if any(session != sessions[0] for session in sessions):
        raise UserError(f"{run['path']} was resumed under other code than it started with: rerun it")
    return sessions[0] if sessions else None


def check_row(method: str, group: list[dict]) -> None:
    """Refuse a row whose runs differ in anything but the seed (UserError, one line)."""
    first = group[0]
    settings = {k: v for k, v in first["config"].items() if k not in PER_RUN}
    for run in group[1:]:
        other = {k: v for k, v in run["config"].items() if k not in PER_RUN}
        differ = sorted(k for k in settings.keys() | other.keys() if settings.get(k) != other.get(k))
        if differ:
            k = differ[0]
            raise UserError(f"{method}: seeds {first['seed']} and {run['seed']} differ in {k} ({settings.get(k)} and "
                            f"{other.get(k)}): a row pools runs that differ in their seed only")
        if code(run) != code(first):
            key = next((k for k in CODE if (code(run) or {}).get(k) != (code(first) or {}).get(k)), "provenance")
            raise UserError(f"{method}: seeds {first['seed']} and {run['seed']} come from different code "
                            f"({key} differs): a row pools runs of one code only")


def code_label(group) -> str:
    """The row's source hash (12 hex digits), `~` before it if inferred from git history, `?` if unknown."""
    recorded = code(group[0])
    if recorded is None:
        return "?"
    inferred = any(session.get("inferred") for run in group for session in run["provenance"])
    return ("~" if inferred else "") + recorded["source_hash"][:12]


def by_method(runs) -> dict[str, list[dict]]:
    groups = {}
    for run in runs:
        groups.setdefault(run["method"], []).append(run)
    return groups


def method_name(label: str) -> str:
    """A row's method without its swept value: "ewc (lamb=100)" -> "ewc"."""
    return label.split(" (")[0]


def by_name(runs) -> dict[str, list[dict]]:
    """The runs of each method by its name alone, for tables that set campaigns or papers side by side
    (each method holds one swept value once `choose_by_validation` has run)."""
    return {method_name(method): group for method, group in by_method(runs).items()}


def script_name(group) -> str:
    """The script that made a method's runs ("generative_replay" for the label generative_replay-full):
    what a published counterpart is matched by, so that a variant's label needs no entry of its own."""
    return Path(group[0]["config"]["script"]).stem


def final_nll(run) -> float:
    return run["summary"]["nll"]["final_avg"]


def final_accuracy(run) -> float:
    return run["summary"]["final_avg_accuracy"]


def is_vae(runs) -> bool:
    return bool(runs) and all("nll" in run["summary"] for run in runs)


def validation_score(summary) -> float:
    """Higher is better: the final average validation accuracy, or minus a VAE's validation negative ELBO,
    or minus a GAN's validation Fréchet distance."""
    if "validation" in summary:
        return summary["validation"]["final_avg_accuracy"]
    return -summary["validation_nll" if "validation_nll" in summary else "validation_fid"]["final_avg"]


def by_value(runs) -> dict:
    """{method: {swept value (None if not swept): [runs]}}."""
    groups = {}
    for run in runs:
        groups.setdefault(run["method"], {}).setdefault(run["value"], []).append(run)
    return groups


def validation_scores(values: dict, seeds) -> dict:
    """The mean validation score of each swept value, over its runs of `seeds`."""
    return {v: mean_std([validation_score(r["summary"]) for r in rs if r["seed"] in seeds])[0]
            for v, rs in values.items()}


def choose_by_validation(runs, folder: Path, seeds=None) -> list:
    """Keep, for each swept method, the runs of its value with the best mean validation score over `seeds`
    (by default the seeds every value ran: the sweep's seeds), and list every value in folder/sweep.md."""
    vae, chosen = is_vae(runs), []
    gan = not vae and any("validation_fid" in run["summary"] for run in runs)  # chosen on the Fréchet distance
    number = "negative ELBO (nats)" if vae else "final average sample accuracy (%)" if gan else "final average accuracy (%)"
    criterion = "Fréchet distance" if gan else number
    lines = [f"| method | value | validation {criterion} | test {number} | seeds |", "|---|---|---|---|---|"]
    for method, values in by_value(runs).items():
        if None in values:
            chosen += values[None]
            continue
        common = seeds or set.intersection(*({r["seed"] for r in group} for group in values.values()))
        score = validation_scores(values, common)
        best = max(score, key=score.get)
        for value, group in values.items():
            test = mean_std([(final_nll if vae else final_accuracy)(r) for r in group if r["seed"] in common])[0]
            mark = " (chosen)" if value == best else ""
            lines.append(f"| {method} | {value}{mark} | {-score[value] if vae or gan else score[value]:.2f} | {test:.2f} | {len(group)} |")
        for run in values[best]:
            chosen.append(run | {"method": f"{method} ({best})"})
    if len(lines) > 2:
        write_atomic(folder / "sweep.md", "\n".join(lines) + "\n")
    return chosen


def mean_std(values) -> tuple[float, float]:
    """Mean and sample standard deviation (ddof=1; nan for a single value: there is none) of the values."""
    values = [v for v in values if v is not None]
    if not values:
        return float("nan"), float("nan")
    return float(np.mean(values)), float(np.std(values, ddof=1)) if len(values) > 1 else float("nan")


def mean_pm_sd(mean: float, sd: float, fmt: str = ".2f") -> str:
    """"m ± s", or "m" alone where there is no sd (one seed)."""
    return _cell(mean, fmt) + ("" if sd is None or np.isnan(sd) else f" ± {_cell(sd, fmt)}")


def ci95(values) -> float:
    """Half-width of the 95% confidence interval of the mean (Student's t); nan with fewer than 2 values."""
    values = [v for v in values if v is not None]
    if len(values) < 2:
        return float("nan")
    return float(stats.t.ppf(0.975, len(values) - 1) * np.std(values, ddof=1) / np.sqrt(len(values)))


def paired_difference(runs, reference_runs, value) -> dict:
    """Mean of value(method run) - value(reference run) over the seeds both have, its 95% CI and a paired
    t-test p-value (0 or 1 where every difference is the same: the test has no spread to work with)."""
    reference = {run["seed"]: value(run) for run in reference_runs}
    return difference_statistics([value(run) - reference[run["seed"]] for run in runs if run["seed"] in reference])


def difference_statistics(differences: list[float]) -> dict:
    """Mean of paired differences, its 95% CI and a one-sample t-test p-value against 0 (0 or 1 where
    every difference is the same)."""
    if len(differences) < 2:
        return {"diff": float(np.mean(differences)) if differences else float("nan"), "diff_ci95": float("nan"),
                "p_value": float("nan"), "pairs": len(differences)}
    if np.ptp(differences) > 0:
        p_value = float(stats.ttest_1samp(differences, 0.0).pvalue)
    else:
        p_value = 1.0 if differences[0] == 0 else 0.0
    return {"diff": float(np.mean(differences)), "diff_ci95": ci95(differences), "p_value": p_value,
            "pairs": len(differences)}


def holm(p_values: list[float]) -> list[float]:
    """Holm's step-down adjustment of p-values for their number of comparisons (nan stays nan and does
    not count)."""
    tested = sorted((p, i) for i, p in enumerate(p_values) if not np.isnan(p))
    adjusted, running = [float("nan")] * len(p_values), 0.0
    for rank, (p, i) in enumerate(tested):
        running = max(running, min(1.0, (len(tested) - rank) * p))
        adjusted[i] = running
    return adjusted


def verdicts(runs, alpha: float = 0.05) -> list[dict]:
    """Every pair of methods (each row against every row below it, best first), paired by seed: the
    difference in the table's number, its 95% CI, p, Holm's p over all the pairs, and the verdict:
    "above" (the first ranks above: higher accuracy, or lower negative ELBO), "below", or "tie" where
    Holm's p is not below alpha; "n/a" with fewer than 2 shared seeds."""
    groups, vae = by_method(runs), is_vae(runs)
    ranked = [row["method"] for row in table_rows(runs)]
    value = final_nll if vae else final_accuracy
    pairs = [dict(first=a, second=b) | paired_difference(groups[a], groups[b], value)
             for i, a in enumerate(ranked) for b in ranked[i + 1:]]
    for pair, adjusted in zip(pairs, holm([pair["p_value"] for pair in pairs])):
        better = -pair["diff"] if vae else pair["diff"]
        pair["p_holm"] = adjusted
        pair["verdict"] = ("n/a" if np.isnan(adjusted) else "tie" if adjusted >= alpha
                           else "above" if better > 0 else "below")
    return pairs


def write_verdicts(runs, folder: Path) -> str:
    """verdicts.md in `folder`: `verdicts_markdown`; returns it."""
    markdown = verdicts_markdown(runs)
    write_atomic(Path(folder) / "verdicts.md", markdown)
    return markdown


def verdicts_markdown(runs) -> str:
    """`verdicts` as a Markdown table."""
    number = "negative ELBO (nats)" if is_vae(runs) else "final average accuracy (%)"
    lines = [f"| method | vs | difference in {number} [95% CI] | p | p (Holm) | verdict | seeds |",
             "|---|---|---|---|---|---|---|"]
    for pair in verdicts(runs):
        diff, ci = pair["diff"], pair["diff_ci95"]
        lines.append(f"| {pair['first']} | {pair['second']} | {_cell(diff, '+.2f')} [{_cell(diff - ci, '+.2f')}, "
                     f"{_cell(diff + ci, '+.2f')}] | {_cell(pair['p_value'], '.2g')} | {_cell(pair['p_holm'], '.2g')} | "
                     f"{pair['verdict']} | {pair['pairs']} |")
    return "\n".join(lines) + "\n"


# A generative model's second matrix, where lower is better: its column names in a table.
SECONDARY = {"nll": ("final average negative ELBO (nats)", "ELBO"), "fid": ("final average Fréchet distance", "FD")}


def secondary(runs) -> list[str]:
    """The second matrices that every run has: a VAE's negative ELBO, a GAN's Fréchet distance."""
    return [name for name in SECONDARY if runs and all(name in run["summary"] for run in runs)]


def table_rows(runs, reference: str | None = None) -> list[dict]:
    """One row per method, best first: by final average accuracy, or for VAEs by the final average test
    negative ELBO (lower is better). With `reference` (a method), each row also has the paired difference
    to it in that number over the seeds both ran (a swept method is found by its own name). A GAN's rows
    also hold its Fréchet distance (ranked and paired by judge accuracy, Wu et al.'s metric)."""
    groups, rows, vae, second = by_method(runs), [], is_vae(runs), secondary(runs)
    reference = next((m for m in groups if reference in (m, method_name(m))), None)
    for method, group in groups.items():
        check_row(method, group)
        row = {"method": method, "seeds": len(group), "code": code_label(group)}
        for name in ("final_avg_accuracy", "bwt", "forgetting"):
            values = [run["summary"][name] for run in group]
            row[name], row[name + "_sd"] = mean_std(values)
            row[name + "_ci95"] = ci95(values)
        for metric in second:
            for name in ("final_avg", "bwt", "forgetting"):
                row[f"{metric}_{name}"], row[f"{metric}_{name}_sd"] = mean_std([run["summary"][metric][name] for run in group])
        if method == reference:
            row["reference"] = True
        elif reference:
            row |= paired_difference(group, groups[reference], final_nll if vae else final_accuracy)
        rows.append(row)
    return sorted(rows, key=lambda row: row["nll_final_avg"] if vae else -row["final_avg_accuracy"])


def _cell(value, fmt=".2f") -> str:
    return "n/a" if value is None or np.isnan(value) else format(value, fmt)


def _half_width(ci: float) -> str:
    return "n/a" if np.isnan(ci) else f"± {_cell(ci)}"


def write_tables(rows, folder: Path, reference: str | None = None) -> str:
    """table.md (`table_markdown`) and table.csv (every number of the rows) in `folder`; returns the
    Markdown."""
    markdown = table_markdown(rows, reference)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(dict.fromkeys(k for r in rows for k in r)) or ["method"])
    writer.writeheader()
    writer.writerows(rows)
    write_atomic(Path(folder) / "table.md", markdown)
    write_atomic(Path(folder) / "table.csv", buffer.getvalue())
    return markdown


def table_markdown(rows, reference: str | None = None) -> str:
    """The rows as a Markdown table. Columns: mean ± sample sd over seeds, the 95% CI half-width of the
    mean, for VAEs the test negative ELBO's, for GANs the Fréchet distance's, and with a reference the paired difference to it (mean
    [95% CI], p) in final average accuracy, or for VAEs in negative ELBO; the seeds and the code."""
    paired, nll = any("diff" in r for r in rows), all("nll_final_avg" in r for r in rows) and rows
    second = [m for m in SECONDARY if rows and all(f"{m}_final_avg" in r for r in rows)]
    accuracy = "final average sample accuracy (%)" if second else "final average accuracy (%)"
    columns = ["method", accuracy, "95% CI", "BWT", "forgetting"]
    for metric in second:
        columns += [SECONDARY[metric][0], f"{SECONDARY[metric][1]} BWT", f"{SECONDARY[metric][1]} forgetting"]
    columns += [f"vs {reference}: {'ELBO ' if nll else ''}difference [95% CI]", "p"] if paired else []
    lines = ["| " + " | ".join(columns + ["seeds", "code"]) + " |", "|---" * (len(columns) + 2) + "|"]
    for r in rows:
        cells = [r["method"], mean_pm_sd(r["final_avg_accuracy"], r["final_avg_accuracy_sd"]),
                 _half_width(r["final_avg_accuracy_ci95"]), mean_pm_sd(r["bwt"], r["bwt_sd"]),
                 mean_pm_sd(r["forgetting"], r["forgetting_sd"])]
        for metric in second:
            cells += [mean_pm_sd(r[f"{metric}_{name}"], r[f"{metric}_{name}_sd"]) for name in ("final_avg", "bwt", "forgetting")]
        if paired and r.get("reference"):
            cells += ["(reference)", ""]
        elif paired:
            diff, ci = r["diff"], r["diff_ci95"]
            cells += [f"{_cell(diff, '+.2f')} [{_cell(diff - ci, '+.2f')}, {_cell(diff + ci, '+.2f')}]",
                      _cell(r["p_value"], ".2g")]
        lines.append("| " + " | ".join(cells + [str(r["seeds"]), r["code"]]) + " |")
    return "\n".join(lines) + "\n"


# Hsu et al. (2018), "Re-evaluating continual learning scenarios", Table 2: split MNIST, 10 runs, final
# average accuracy (%), mean and sd, in the task-, domain- and class-incremental scenarios, as read from
# their repository GT-RIPL/Continual-Learning-Benchmark.
HSU2018_SPLIT_MNIST = {
    "Adam": ((93.46, 2.01), (55.16, 1.38), (19.71, 0.08)),
    "SGD": ((97.98, 0.09), (63.20, 0.35), (19.46, 0.04)),
    "Naive rehearsal": ((99.40, 0.08), (95.16, 0.49), (90.78, 0.85)),
    "EWC": ((97.70, 0.81), (58.85, 2.59), (19.80, 0.05)),
    "Online EWC": ((98.04, 1.10), (57.33, 1.44), (19.77, 0.04)),
    "SI": ((98.56, 0.49), (64.76, 3.09), (19.67, 0.09)),
    "MAS": ((99.22, 0.21), (68.57, 6.85), (19.52, 0.29)),
    "LwF": ((99.60, 0.03), (71.02, 1.26), (24.17, 0.33)),
    "Offline": ((99.52, 0.16), (98.59, 0.15), (97.53, 0.30)),
}
# Ours that stands for each of theirs: fine-tuning with Adam (their protocol's optimiser), EWC's online
# variant (our default), joint training for their offline upper bound.
HSU2018_COUNTERPART = {"finetuning": "Adam", "replay": "Naive rehearsal", "ewc": "Online EWC", "si": "SI",
                       "mas": "MAS", "lwf": "LwF", "joint": "Offline"}
SCENARIOS = ("task", "domain", "class")


# Wu et al. (2018), "Memory Replay GANs: learning to generate images from new categories without
# forgetting", NeurIPS, Table 1: the judge's accuracy (%) on samples of every digit after the last task,
# MNIST in 5 tasks (digit pairs) and in 10 (a digit each); AC-GAN with WGAN-GP, a DCGAN on 32 x 32.
MERGAN_TABLE1 = {"JT": (97.66, 96.92), "SFT": (19.87, 10.06), "EWC": (70.62, 77.03), "DGR": (90.39, 85.40),
                 "MeRGAN-JTR": (97.93, 97.00), "MeRGAN-RA": (98.19, 97.01)}
# Ours that stands for each of theirs: joint training, sequential fine-tuning, EWC on the generator, and
# generative replay from a frozen copy of the last generator (their joint training with replay), in both
# of its batchings (keyed by script, so generative_replay-full, `--replay-batch full`, matches too).
MERGAN_COUNTERPART = {"joint": "JT", "finetuning": "SFT", "ewc": "EWC", "generative_replay": "MeRGAN-JTR"}


def mergan_markdown(runs) -> str:
    """Our GAN campaign beside Wu et al.'s Table 1: for each method (at its value chosen on validation),
    its final average judge accuracy and Fréchet distance over its seeds (mean ± sd), and the published
    accuracy of its counterpart on 10 and on 5 tasks; their methods without a counterpart of ours last."""
    groups = by_name(runs)
    accuracy = {m: mean_std([final_accuracy(r) for r in group]) for m, group in groups.items()}
    header = ["method (ours; Wu et al.'s)", "judge accuracy (%), 10 tasks, ours", "Wu et al., 10 tasks",
              "Wu et al., 5 tasks", "Fréchet distance, 10 tasks, ours"]
    lines = ["| " + " | ".join(header) + " |", "|---" * len(header) + "|"]
    for method in sorted(groups, key=lambda m: -accuracy[m][0]):
        theirs = MERGAN_COUNTERPART.get(script_name(groups[method]))
        fid = mean_pm_sd(*mean_std([r["summary"]["fid"]["final_avg"] for r in groups[method]]))
        published = [f"{MERGAN_TABLE1[theirs][1]:.2f}", f"{MERGAN_TABLE1[theirs][0]:.2f}"] if theirs else ["-", "-"]
        label = "; ".join([method] + ([theirs] if theirs else []))
        lines.append("| " + " | ".join([label, mean_pm_sd(*accuracy[method]), *published, fid]) + " |")
    for name, (five, ten) in MERGAN_TABLE1.items():
        if name not in (MERGAN_COUNTERPART.get(script_name(group)) for group in groups.values()):
            lines.append(f"| -; {name} | - | {ten:.2f} | {five:.2f} | - |")
    return "\n".join(lines) + "\n"


def tasks_markdown(runs, methods: list[str], tasks: list[int]) -> str:
    """Chosen tasks' accuracy (%) when learned and after the last task, mean over each method's seeds:
    a row per method of `methods` (by name, without a swept value), a column per task of `tasks`
    (from 1); the last task shows only "learned", which is also its final accuracy."""
    groups = by_name(runs)
    last = len(next(iter(groups.values()))[0]["matrix"])
    header = ["method"] + [f"task {t} learned" + (" / final" if t < last else "") for t in tasks]
    lines = ["| " + " | ".join(header) + " |", "|---" * len(header) + "|"]
    for method in methods:
        cells = [method]
        for t in tasks:
            learned = np.mean([run["matrix"][t - 1][t - 1] for run in groups[method]])
            final = np.mean([run["matrix"][-1][t - 1] for run in groups[method]])
            cells.append(f"{learned:.1f}" + (f" / {final:.1f}" if t < last else ""))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def significant(value: float, digits: int) -> str:
    """`value` to `digits` significant digits, written out in full (1466 -> "1470" with 3, not 1.47e+03)."""
    if value == 0 or not np.isfinite(value):
        return f"{value:g}"
    decimals = digits - 1 - int(np.floor(np.log10(abs(value))))
    return f"{round(value, decimals):.{max(decimals, 0)}f}"


# The rows of the importance-distribution table: a statistic of the min-max normalised importances
# (common/distribution.py) and how it is named; a fraction is shown in %.
IMPORTANCE_ROWS = {"kurtosis": "kurtosis", "skewness": "skewness", "zero_fraction": "exact zeros (%)"}


def importance_markdown(ours: dict, authors: dict) -> str:
    """The importance distributions of EWC, MAS and ANPyC before and after pruning, from the stats.json
    of `cal_importance_distribution.py` (`ours`) and of its `--variant authors` (`authors`): mean ± sd
    over seeds (3 and 2 significant digits), and the authors' own numbers, in brackets, where their
    plotting script has one."""
    methods = list(ours["statistics"])
    lines = ["| statistic | variant | " + " | ".join(methods) + " |", "|---|---|" + "---|" * len(methods)]
    for statistic, name in IMPORTANCE_ROWS.items():
        scale = 100 if statistic == "zero_fraction" else 1
        for phase in ("before", "after"):
            for i, (variant, stats) in enumerate((("ours", ours), ("authors'", authors))):
                cells = [f"{significant(scale * s['mean'], 3)} ± {significant(scale * s['std'], 2)}"
                         for s in (stats["statistics"][m][phase][statistic] for m in methods)]
                first = f"| {name}, {phase} pruning |" if i == 0 else "| |"
                lines.append(f"{first} {variant} | " + " | ".join(cells) + " |")
            published = authors["authors"].get(statistic, {}).get(phase)
            if published:
                lines.append("| | (authors' numbers) | " + " | ".join(f"({published[m]:g})" for m in methods) + " |")
    return "\n".join(lines) + "\n"


# The paired contrasts of the importance distributions: the statistics that measure how polarised a
# distribution is, the pairs of methods compared before pruning, and (every method) after - before.
POLARISATION = {"skewness": "skewness", "kurtosis": "kurtosis", "gini": "Gini", "top1_share": "top-1% share"}
IMPORTANCE_PAIRS = (("ANPyC", "EWC"), ("ANPyC", "MAS"), ("EWC", "MAS"))


def importance_contrasts(stats: dict, alpha: float = 0.05) -> list[dict]:
    """Paired over seeds (one network per seed gives all three importances): for each statistic of
    POLARISATION, each pair of IMPORTANCE_PAIRS before pruning and each method after against before;
    the mean difference, its 95% CI, Holm's p over all of them, and "higher", "lower" or "tie"."""
    per_seed = {m: {phase: {name: np.array(s["seeds"]) for name, s in by_name.items()} for phase, by_name in phases.items()}
                for m, phases in stats["statistics"].items()}
    contrasts = []
    for name in POLARISATION:
        for a, b in IMPORTANCE_PAIRS:
            contrasts.append({"statistic": name, "comparison": f"{a} - {b}, before pruning",
                              **difference_statistics(list(per_seed[a]["before"][name] - per_seed[b]["before"][name]))})
        for m in per_seed:
            contrasts.append({"statistic": name, "comparison": f"{m}, after - before pruning",
                              **difference_statistics(list(per_seed[m]["after"][name] - per_seed[m]["before"][name]))})
    for contrast, adjusted in zip(contrasts, holm([c["p_value"] for c in contrasts])):
        contrast["p_holm"] = adjusted
        contrast["verdict"] = "tie" if not adjusted < alpha else "higher" if contrast["diff"] > 0 else "lower"
    return contrasts


def importance_contrasts_markdown(stats: dict) -> str:
    """`importance_contrasts` as a Markdown table (3 significant digits)."""
    lines = ["| statistic | comparison | difference [95% CI] | p (Holm) | verdict | seeds |", "|---|---|---|---|---|---|"]
    for c in importance_contrasts(stats):
        low, high = (significant(c["diff"] + sign * c["diff_ci95"], 3) for sign in (-1, 1))
        lines.append(f"| {POLARISATION[c['statistic']]} | {c['comparison']} | {significant(c['diff'], 3)} [{low}, {high}] | "
                     f"{_cell(c['p_holm'], '.2g')} | {c['verdict']} | {c['pairs']} |")
    return "\n".join(lines) + "\n"


def scenario_markdown(runs: dict) -> str:
    """The three-scenario table: for each method, its final average accuracy (mean ± sd over its seeds,
    at its value chosen on validation) in each scenario's runs (`runs`: scenario -> runs), beside Hsu et
    al.'s published number for its counterpart; "-" where a method did not run or has no counterpart."""
    ours, theirs_of = {}, {}
    for scenario, scenario_runs in runs.items():
        for method, group in by_name(scenario_runs).items():
            ours.setdefault(method, {})[scenario] = mean_std([final_accuracy(r) for r in group])
            theirs_of[method] = HSU2018_COUNTERPART.get(script_name(group))
    unmatched = [name for name in HSU2018_SPLIT_MNIST if name not in theirs_of.values()]
    order = sorted(ours, key=lambda m: (theirs_of[m] is not None,
                                        list(HSU2018_SPLIT_MNIST).index(theirs_of[m]) if theirs_of[m] else 0, m))
    header = ["method (ours; Hsu et al.'s)"] + [f"{s}-IL {who}" for s in SCENARIOS for who in ("ours", "Hsu et al.")]
    lines = ["| " + " | ".join(header) + " |", "|---" * len(header) + "|"]
    rows = [(method, theirs_of[method]) for method in order] + [(None, name) for name in unmatched]
    for method, theirs in rows:
        label = "; ".join([method or "-"] + ([theirs] if theirs else []))
        cells = []
        for i, scenario in enumerate(SCENARIOS):
            mine = ours.get(method, {}).get(scenario)
            cells += [mean_pm_sd(*mine) if mine else "-", mean_pm_sd(*HSU2018_SPLIT_MNIST[theirs][i]) if theirs else "-"]
        lines.append("| " + " | ".join([label] + cells) + " |")
    return "\n".join(lines) + "\n"


def summary_markdown(campaigns: dict) -> str:
    """One table across campaigns (`campaigns`: name -> runs): a row per method (without its swept value),
    a column per campaign with the method's final average accuracy (a VAE's negative ELBO), mean ± sd
    over its seeds; in bold the column's best and every method that ties with it (Holm-adjusted paired
    verdict, `verdicts`), so that bold cells are the ones the column cannot tell apart; "-" where a
    method did not run."""
    cells, order = {}, []
    for name, runs in campaigns.items():
        rows, vae = table_rows(runs), is_vae(runs)
        best = rows[0]["method"]
        tied = {best} | {p["second"] if p["first"] == best else p["first"] for p in verdicts(runs)
                         if best in (p["first"], p["second"]) and p["verdict"] == "tie"}
        for row in rows:
            method = method_name(row["method"])
            number = "nll_final_avg" if vae else "final_avg_accuracy"
            text = mean_pm_sd(row[number], row[number + "_sd"])
            cells.setdefault(method, {})[name] = f"**{text}**" if row["method"] in tied else text
            order += [] if method in order else [method]
    lines = ["| method | " + " | ".join(campaigns) + " |", "|---" * (len(campaigns) + 1) + "|"]
    for method in sorted(order, key=lambda m: (not m.startswith("anpyc"), order.index(m))):
        lines.append("| " + " | ".join([method] + [cells[method].get(name, "-") for name in campaigns]) + " |")
    return "\n".join(lines) + "\n"


def seeds(group) -> str:
    return f"{len(group)} seed" + ("s" if len(group) > 1 else "")


def _save(figure, path: Path) -> None:
    write_atomic(path, figure_png(figure, dpi=110))


def plot_costs(groups, path: Path) -> None:
    """Each method's wall time per task and resident memory after each task (the mean over its seeds)."""
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2), constrained_layout=True)
    for method, group in sorted(groups.items()):
        for axis, key in ((left, "task_seconds"), (right, "resident_mb")):
            curve = np.mean([run["summary"][key] for run in group], axis=0)
            axis.plot(np.arange(1, len(curve) + 1), curve, marker=".", label=f"{method} ({seeds(group)})")
    left.set(xlabel="task", ylabel="seconds", title="wall time of each task")
    right.set(xlabel="tasks learned", ylabel="MB", title="resident memory after each task", ylim=(0, None))
    for axis in (left, right):
        axis.xaxis.get_major_locator().set_params(integer=True)
        axis.grid(alpha=0.3)
    left.legend(fontsize="small")
    _save(figure, path)


def free_capacity(run) -> list[float] | None:
    """After each task, the share of the trunk's weights (kernels) that later tasks may train freely:
    PackNet's record (`free_capacity`: weights no task owns), or, for ANPyC with pruning on an MLP, the
    share its last mask pruned (`sparsity`, per tensor, weighted here by the kernels' sizes): the next
    task retrains those from zero, unprotected. None for a run with neither."""
    summary, config = run["summary"], run["config"]
    if "free_capacity" in summary:
        return summary["free_capacity"]
    if "sparsity" not in summary or config.get("model") != "mlp":
        return None
    widths = [784, *config["hidden"]]
    sizes = {f"dense_{i}/kernel": n_in * n_out for i, (n_in, n_out) in enumerate(zip(widths, widths[1:]))}
    return [sum(row[name] * size for name, size in sizes.items()) / sum(sizes.values()) for row in summary["sparsity"]]


def plot_free_capacity(groups, path: Path) -> None:
    """The mean free capacity after each task, for every method that records it."""
    figure, axis = plt.subplots(figsize=(8, 5), constrained_layout=True)
    for method, group in sorted(groups.items()):
        curve = np.mean([free_capacity(run) for run in group], axis=0)
        axis.plot(np.arange(1, len(curve) + 1), 100 * curve, marker="." if len(curve) > 20 else "o",
                  label=f"{method} ({seeds(group)})")
    axis.set(xlabel="tasks learned", ylabel="free weights (% of the trunk's)", ylim=(0, 100),
             title="weights free for later tasks after each task")
    axis.xaxis.get_major_locator().set_params(integer=True)
    axis.grid(alpha=0.3)
    axis.legend(fontsize="small")
    _save(figure, path)


# What a generative model's accuracy matrix holds, and its second number's figure: file, title, axis.
SAMPLE_ACCURACY = "judge's accuracy on generated samples (%)"
SECONDARY_FIGURE = {"nll": ("average_nll.png", "average negative ELBO over the tasks learned (lower is better)",
                            "average test negative ELBO (nats)"),
                    "fid": ("average_fid.png", "average Fréchet distance over the tasks learned (lower is better)",
                            "average Fréchet distance to the real test images")}


def plot_comparison(runs, folder: Path) -> list[Path]:
    """average_accuracy.png, first_task.png, learning_accuracy.png and one heatmap per method in `folder`;
    for generative models (whose accuracy is the judge's, on their samples) also average_nll.png or
    average_fid.png; costs.png when every run recorded its time and memory per task; free_capacity.png
    when some methods record their free weights (PackNet, ANPyC with pruning)."""
    folder, groups, written = Path(folder), by_method(runs), []
    second = secondary(runs)
    what = SAMPLE_ACCURACY if second else "test accuracy (%)"
    figures = [
        ("average_accuracy.png", "average accuracy over the tasks learned", f"average {what}",
         lambda run: [float(np.mean(row)) for row in run["matrix"]]),
        ("first_task.png", "accuracy on the first task as more tasks are learned", f"task 1 {what}",
         lambda run: [row[0] for row in run["matrix"]]),
        ("learning_accuracy.png", "each task's accuracy just after learning it", f"learning {what}",
         lambda run: metrics.learning_accuracy(run["matrix"])),
    ] + [(*SECONDARY_FIGURE[metric], lambda run, metric=metric: run["summary"][metric]["avg"]) for metric in second]
    for name, title, ylabel, series in figures:
        figure, axis = plt.subplots(figsize=(8, 5), constrained_layout=True)
        for method, group in sorted(groups.items()):
            curves = np.array([series(run) for run in group])
            mean, std = curves.mean(0), curves.std(0, ddof=1) if len(curves) > 1 else np.zeros(curves.shape[1])
            x = np.arange(1, len(mean) + 1)
            axis.plot(x, mean, marker="." if len(x) > 20 else "o", label=f"{method} ({seeds(group)})")
            axis.fill_between(x, mean - std, mean + std, alpha=0.2)
        axis.set(xlabel="tasks learned", ylabel=ylabel, title=title)
        axis.xaxis.get_major_locator().set_params(integer=True)
        axis.grid(alpha=0.3)
        axis.legend(fontsize="small", loc="best")
        _save(figure, folder / name)
        written.append(folder / name)
    for method, group in sorted(groups.items()):
        tasks = len(group[0]["matrix"])
        matrix = np.full((tasks, tasks), np.nan)
        for i in range(tasks):
            matrix[i, : i + 1] = np.mean([run["matrix"][i] for run in group], axis=0)
        figure, axis = plt.subplots(figsize=(6.5, 5.5), constrained_layout=True)
        low = np.nanmin(matrix)
        image = axis.imshow(matrix, vmin=low, vmax=100, cmap="viridis")
        figure.colorbar(image, ax=axis, label=what)
        axis.set(xlabel="evaluated on task", ylabel="after training task",
                 title=f"{method}: accuracy matrix ({seeds(group)})")
        ticks = np.arange(0, tasks, max(1, tasks // 10))
        axis.set_xticks(ticks, ticks + 1)
        axis.set_yticks(ticks, ticks + 1)
        if tasks <= 10:
            for i, j in zip(*np.nonzero(~np.isnan(matrix))):
                bright = matrix[i, j] > low + 0.6 * (100 - low)  # viridis turns yellow: dark text there
                axis.text(j, i, f"{matrix[i, j]:.0f}", ha="center", va="center", fontsize=8,
                          color="black" if bright else "white")
        _save(figure, folder / f"heatmap_{method}.png")
        written.append(folder / f"heatmap_{method}.png")
    recorded = [run["summary"].get("resident_mb") or [] for run in runs]  # runs begun before it was recorded lack it
    if all(len(mb) == len(run["matrix"]) and None not in mb for mb, run in zip(recorded, runs)):
        plot_costs(groups, folder / "costs.png")
        written.append(folder / "costs.png")
    pruning = {method: group for method, group in groups.items() if all(free_capacity(run) for run in group)}
    if pruning:
        plot_free_capacity(pruning, folder / "free_capacity.png")
        written.append(folder / "free_capacity.png")
    return written
