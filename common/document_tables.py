"""The tables that only the documents show, beside a campaign's own table and verdicts (common/report.py):
our numbers beside published ones (Hsu et al.'s three scenarios, Memory Replay GANs), chosen tasks'
accuracy, one table across campaigns, and the importance distributions with their paired contrasts.
common/documents.py recomputes each from its folder.
"""
import numpy as np

from common.report import (by_name, cell, difference_cell, difference_statistics, final_accuracy, holm_verdicts, is_vae,
                           mean_pm_sd, mean_std, method_name, paired_difference, read_matrix, script_name, table_rows,
                           verdict_cell, verdicts)


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
# forgetting", NeurIPS, Table 1: the judge's accuracy (%) on samples of every digit learned, MNIST, a
# digit a task, after 5 tasks and after 10; AC-GAN with WGAN-GP, a DCGAN on 32 x 32. For the methods of
# their mergan.py (SFT, MeRGAN-JTR and -RA) the two are one 10-digit run judged after its fifth digit and
# its tenth (its test, task_test = [4, 9]); their code has no EWC or DGR, and joint.py's test judges one
# final model for both, so how the other 5-task numbers were made is not known.
MERGAN_TABLE1 = {"JT": (97.66, 96.92), "SFT": (19.87, 10.06), "EWC": (70.62, 77.03), "DGR": (90.39, 85.40),
                 "MeRGAN-JTR": (97.93, 97.00), "MeRGAN-RA": (98.19, 97.01)}
# Ours that stands for each of theirs, by script: joint training, sequential fine-tuning, EWC on the
# generator, and generative replay from a frozen copy of the last generator (their joint training with
# replay: mergan_jtr.py on their protocol, generative_replay.py on our WGAN in both of its batchings, so
# that generative_replay-full, `--replay-batch full`, matches too). A run of one task of every digit
# (`--benchmark all`, as their JT on their protocol) stands for JT whatever its script.
MERGAN_COUNTERPART = {"joint": "JT", "finetuning": "SFT", "ewc": "EWC", "generative_replay": "MeRGAN-JTR",
                      "mergan_jtr": "MeRGAN-JTR"}


def mergan_counterpart(group) -> str | None:
    return "JT" if group[0]["config"].get("benchmark") == "all" else MERGAN_COUNTERPART.get(script_name(group))


def after_five(run) -> float | None:
    """The average judge accuracy over the first five tasks after the fifth (Table 1's 5-task column);
    None for a run of fewer tasks (joint training on every digit as one task)."""
    return float(np.mean(run["matrix"][4][:5])) if len(run["matrix"]) >= 5 else None


def mergan_markdown(runs) -> str:
    """A GAN campaign beside Wu et al.'s Table 1: for each method (at its value chosen on validation),
    its average judge accuracy over its seeds (mean ± sd) after the last task and after the fifth, beside
    the published accuracy of its counterpart, and its final Fréchet distance when every run has one
    (our WGAN's, common/gan.py); their methods without a counterpart of ours last."""
    groups = by_name(runs)
    accuracy = {m: mean_std([final_accuracy(r) for r in group]) for m, group in groups.items()}
    frechet = all("fid" in run["summary"] for run in runs)
    header = ["method (ours; Wu et al.'s)", "judge accuracy (%), 10 tasks, ours", "Wu et al., 10 tasks",
              "judge accuracy (%), 5 tasks, ours", "Wu et al., 5 tasks"] + ["Fréchet distance, 10 tasks, ours"] * frechet
    lines = ["| " + " | ".join(header) + " |", "|---" * len(header) + "|"]
    for method in sorted(groups, key=lambda m: -accuracy[m][0]):
        theirs = mergan_counterpart(groups[method])
        ten, five = [cell(v) for v in MERGAN_TABLE1[theirs][::-1]] if theirs else ["-", "-"]
        cells = [mean_pm_sd(*accuracy[method]), ten, mean_pm_sd(*mean_std([after_five(r) for r in groups[method]])), five]
        if frechet:
            cells.append(mean_pm_sd(*mean_std([r["summary"]["fid"]["final_avg"] for r in groups[method]])))
        lines.append("| " + " | ".join(["; ".join([method] + ([theirs] if theirs else [])), *cells]) + " |")
    ours = {mergan_counterpart(group) for group in groups.values()}
    for name, (five, ten) in MERGAN_TABLE1.items():
        if name not in ours:
            lines.append(f"| -; {name} | - | {ten:.2f} | - | {five:.2f} |" + " - |" * frechet)
    return "\n".join(lines) + "\n"


def tasks_markdown(runs, methods: list[str], tasks: list[int]) -> str:
    """Chosen tasks' accuracy (%) when learned and after the last task, mean over each method's seeds
    (a VAE's negative ELBO in nats, its first number, from each run's nll.csv): a row per method of
    `methods` (by name, without a swept value), a column per task of `tasks` (from 1); the last task
    shows only "learned", which is also its final value."""
    groups, vae = by_name(runs), is_vae(runs)
    matrices = {id(run): read_matrix(run["path"] / "nll.csv") if vae else run["matrix"] for run in runs}
    last = len(next(iter(groups.values()))[0]["matrix"])
    header = ["method (negative ELBO, nats)" if vae else "method"]
    header += [f"task {t} learned" + (" / final" if t < last else "") for t in tasks]
    lines = ["| " + " | ".join(header) + " |", "|---" * len(header) + "|"]
    for method in methods:
        cells = [method]
        for t in tasks:
            learned = np.mean([matrices[id(run)][t - 1][t - 1] for run in groups[method]])
            final = np.mean([matrices[id(run)][-1][t - 1] for run in groups[method]])
            cells.append(f"{learned:.1f}" + (f" / {final:.1f}" if t < last else ""))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def task_contrasts(runs, first: str, second: str, tasks: list[int], alpha: float = 0.05) -> list[dict]:
    """Method `first` against `second` (by name, without a swept value) on chosen tasks, paired by seed:
    each task's accuracy when learned and after the last task (the last task only when learned), the
    difference, its 95% CI, Holm's p over the table's contrasts, and "above", "below" or "tie"."""
    groups = by_name(runs)
    last = len(groups[first][0]["matrix"])
    contrasts = []
    for t in tasks:
        for phase, row in (("learned", t - 1), ("final", last - 1))[: 2 if t < last else 1]:
            difference = paired_difference(groups[first], groups[second], lambda run: run["matrix"][row][t - 1])
            contrasts.append({"task": t, "phase": phase} | difference)
    return holm_verdicts(contrasts, ("above", "below"), alpha)


def task_contrasts_markdown(runs, first: str, second: str, tasks: list[int]) -> str:
    """`task_contrasts` as a Markdown table."""
    lines = [f"| task | {first} - {second}, accuracy (%) [95% CI] | p (Holm) | verdict | seeds |", "|---|---|---|---|---|"]
    for c in task_contrasts(runs, first, second, tasks):
        lines.append(f"| {c['task']} {c['phase']} | {difference_cell(c)} | {cell(c['p_holm'], '.2g')} | {verdict_cell(c)} | {c['pairs']} |")
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
    per_seed = {m: {phase: {name: np.array(s["seeds"]) for name, s in statistics.items()}
                    for phase, statistics in phases.items()}
                for m, phases in stats["statistics"].items()}
    contrasts = []
    for name in POLARISATION:
        for a, b in IMPORTANCE_PAIRS:
            contrasts.append({"statistic": name, "comparison": f"{a} - {b}, before pruning",
                              **difference_statistics(list(per_seed[a]["before"][name] - per_seed[b]["before"][name]))})
        for m in per_seed:
            contrasts.append({"statistic": name, "comparison": f"{m}, after - before pruning",
                              **difference_statistics(list(per_seed[m]["after"][name] - per_seed[m]["before"][name]))})
    return holm_verdicts(contrasts, ("higher", "lower"), alpha)


def importance_contrasts_markdown(stats: dict) -> str:
    """`importance_contrasts` as a Markdown table (3 significant digits)."""
    lines = ["| statistic | comparison | difference [95% CI] | p (Holm) | verdict | seeds |", "|---|---|---|---|---|---|"]
    for c in importance_contrasts(stats):
        low, high = (significant(c["diff"] + sign * c["diff_ci95"], 3) for sign in (-1, 1))
        lines.append(f"| {POLARISATION[c['statistic']]} | {c['comparison']} | {significant(c['diff'], 3)} [{low}, {high}] | "
                     f"{cell(c['p_holm'], '.2g')} | {verdict_cell(c)} | {c['pairs']} |")
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
    over its seeds; in bold the column's best and every method that ties with it (paired by seed, Holm
    over the column's comparisons with its best only), so that bold cells are the ones the column cannot
    tell from its best; "-" where a method did not run; a last row gives each campaign's seeds per method."""
    cells, order = {}, []
    for name, runs in campaigns.items():
        rows, vae = table_rows(runs), is_vae(runs)
        best = rows[0]["method"]
        family = {frozenset((method_name(best), method_name(row["method"]))) for row in rows[1:]}
        tied = {best} | {p["second"] if p["first"] == best else p["first"] for p in verdicts(runs, family=family)
                         if p["verdict"] == "tie"}
        for row in rows:
            method = method_name(row["method"])
            number = "nll_final_avg" if vae else "final_avg_accuracy"
            text = mean_pm_sd(row[number], row[number + "_sd"])
            cells.setdefault(method, {})[name] = f"**{text}**" if row["method"] in tied else text
            order += [] if method in order else [method]
    lines = ["| method | " + " | ".join(campaigns) + " |", "|---" * (len(campaigns) + 1) + "|"]
    for method in sorted(order, key=lambda m: (not m.startswith("anpyc"), order.index(m))):
        lines.append("| " + " | ".join([method] + [cells[method].get(name, "-") for name in campaigns]) + " |")
    counts = [sorted({len(group) for group in by_name(runs).values()}) for runs in campaigns.values()]
    lines.append("| (seeds) | " + " | ".join("-".join(map(str, (c[0], c[-1]) if len(c) > 1 else c)) for c in counts) + " |")
    return "\n".join(lines) + "\n"
