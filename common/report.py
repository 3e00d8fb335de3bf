"""Reading a folder of finished runs back: per-method tables and pairwise verdicts (the figures are
common/figures.py's, the tables that only the documents show common/document_tables.py's).

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

from common import provenance
from common.errors import UserError
from common.results import write_atomic

# What may differ between the seeds of one row: the seed, and where the run was written and read.
PER_RUN = ("seed", "out", "resume", "overwrite", "data_dir")
# What of a run's provenance must agree between the seeds of one row.
CODE = ("source_hash", "tensorflow", "keras", "numpy", "device")
# The comparisons a campaign exists for, named before it runs (compare.py --contrasts).
CONTRASTS = "contrasts.json"


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
    """The row's source hash (12 hex digits), `?` if its runs recorded none."""
    recorded = code(group[0])
    return "?" if recorded is None else recorded["source_hash"][:12]


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
    return cell(mean, fmt) + ("" if sd is None or np.isnan(sd) else f" ± {cell(sd, fmt)}")


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


def focus_methods(methods) -> list[str]:
    """The methods a campaign exists to judge by default: ANPyC's, under their scripts' own names."""
    return [m for m in methods if m.startswith("anpyc") and "-" not in m]


def contrast_family(spec: str, methods) -> set[frozenset]:
    """The planned contrasts that `spec` names among `methods` (names without a swept value): pairs
    "A:B", comma-separated; "A:*" is A against every other method. A name that is not a method is
    skipped (a family may name a method that another campaign has and this one lacks)."""
    pairs, methods = set(), list(methods)
    for item in filter(None, spec.split(",")):
        a, _, b = item.partition(":")
        for other in (methods if b == "*" else [b]):
            if a in methods and other in methods and other != a:
                pairs.add(frozenset((a, other)))
    return pairs


def default_contrasts(methods) -> str:
    """ANPyC with and without pruning (whichever the campaign has) against every other method."""
    return ",".join(f"{m}:*" for m in focus_methods(methods))


def read_contrasts(folder: Path) -> str | None:
    """The planned contrasts that a campaign named before it ran (folder/contrasts.json), or None."""
    path = Path(folder) / CONTRASTS
    return json.loads(path.read_text())["contrasts"] if path.exists() else None


def planned(runs, folder: Path | None = None) -> set[frozenset]:
    """The campaign's planned family: its contrasts.json's, else the default (`default_contrasts`)."""
    names = list(dict.fromkeys(method_name(run["method"]) for run in runs))
    spec = read_contrasts(folder) if folder is not None else None
    return contrast_family(default_contrasts(names) if spec is None else spec, names)


def verdicts(runs, alpha: float = 0.05, family: set | None = None) -> list[dict]:
    """The pairs of methods of `family` (frozensets of names without a swept value; None: every pair),
    each row against a row below it (best first), paired by seed: the difference in the table's
    number, its 95% CI, p, Holm's p over the family, and the verdict: "above" (the first ranks above:
    higher accuracy, or lower negative ELBO), "below", or "tie" where Holm's p is not below alpha, with
    `bound`, the largest |difference| that the family's simultaneous 95% CI (Bonferroni) allows; "n/a"
    with fewer than 2 shared seeds."""
    groups, vae = by_method(runs), is_vae(runs)
    ranked = [row["method"] for row in table_rows(runs)]
    value = final_nll if vae else final_accuracy
    pairs = [dict(first=a, second=b) | paired_difference(groups[a], groups[b], value)
             for i, a in enumerate(ranked) for b in ranked[i + 1:]
             if family is None or frozenset((method_name(a), method_name(b))) in family]
    return holm_verdicts(pairs, ("below", "above") if vae else ("above", "below"), alpha)


def holm_verdicts(contrasts: list[dict], words: tuple[str, str], alpha: float = 0.05) -> list[dict]:
    """Adds to each contrast (a dict with "diff", "p_value", "diff_ci95" and "pairs") Holm's p over all
    of them and a verdict: words[0] where the difference is positive and significant at `alpha` after
    adjustment, words[1] where it is negative, "tie" where it is not significant, "n/a" where there is
    no p (too few seeds). A tie also gets `bound`: |difference| + the half-width of its CI at the
    Bonferroni level 1 - alpha / (number of contrasts), which holds wherever Holm's does not reject."""
    for contrast, adjusted in zip(contrasts, holm([c["p_value"] for c in contrasts])):
        contrast["p_holm"] = adjusted
        contrast["verdict"] = ("n/a" if np.isnan(adjusted) else "tie" if adjusted >= alpha
                               else words[0] if contrast["diff"] > 0 else words[1])
        if contrast["verdict"] == "tie":
            n = contrast["pairs"]
            widen = stats.t.ppf(1 - alpha / (2 * len(contrasts)), n - 1) / stats.t.ppf(0.975, n - 1)
            contrast["bound"] = abs(contrast["diff"]) + widen * contrast["diff_ci95"]
    return contrasts


def verdict_cell(contrast: dict) -> str:
    """"above", "below", "n/a", or "tie, |d| < 1.31" (the bound the family's CI allows)."""
    return f"tie, |d| < {cell(contrast['bound'])}" if contrast["verdict"] == "tie" else contrast["verdict"]


def write_verdicts(runs, folder: Path) -> str:
    """verdicts.md in `folder`: the planned contrasts (`planned`), then every pair, exploratory (or, for a
    campaign of one method, that it has no pair); returns it."""
    family = planned(runs, folder)
    markdown = ("One method: no pair to compare.\n" if len(by_method(runs)) < 2 else
                f"Planned contrasts ({len(family)}, Holm over them):\n\n" + verdicts_markdown(runs, family)
                + "\nEvery pair, exploratory (Holm over all of them):\n\n" + verdicts_markdown(runs))
    write_atomic(Path(folder) / "verdicts.md", markdown)
    return markdown


def verdicts_markdown(runs, family: set | None = None) -> str:
    """`verdicts` (of `family`, or of every pair) as a Markdown table."""
    number = "negative ELBO (nats)" if is_vae(runs) else "final average accuracy (%)"
    lines = [f"| method | vs | difference in {number} [95% CI] | p | p (Holm) | verdict | seeds |",
             "|---|---|---|---|---|---|---|"]
    for pair in verdicts(runs, family=family):
        lines.append(f"| {pair['first']} | {pair['second']} | {difference_cell(pair)} | {cell(pair['p_value'], '.2g')} | "
                     f"{cell(pair['p_holm'], '.2g')} | {verdict_cell(pair)} | {pair['pairs']} |")
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


def cell(value, fmt=".2f") -> str:
    return "n/a" if value is None or np.isnan(value) else format(value, fmt)


def difference_cell(difference: dict) -> str:
    """A paired difference (`difference_statistics`) as "+1.23 [+0.45, +2.01]": the mean and its 95% CI."""
    diff, ci = difference["diff"], difference["diff_ci95"]
    return f"{cell(diff, '+.2f')} [{cell(diff - ci, '+.2f')}, {cell(diff + ci, '+.2f')}]"


def _half_width(ci: float) -> str:
    return "n/a" if np.isnan(ci) else f"± {cell(ci)}"


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
            cells += [difference_cell(r), cell(r["p_value"], ".2g")]
        lines.append("| " + " | ".join(cells + [str(r["seeds"]), r["code"]]) + " |")
    return "\n".join(lines) + "\n"
