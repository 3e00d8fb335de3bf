"""Every table of README.md, results/README.md and docs/importance.md comes from its runs, and every
comparative word carries the verdict it rests on (common/documents.py has the conventions)."""
import json

import numpy as np
import pytest

from common import document_tables, report
from common.documents import DOCUMENTS, check, numbers, refresh
from conftest import ROOT


@pytest.mark.parametrize("name", DOCUMENTS)
def test_every_table_and_verdict_in_the_documents_comes_from_its_runs(name):
    assert check((ROOT / name).read_text(), ROOT) == []


def test_the_importance_table_comes_from_both_variants_stats(tmp_path):
    def stats(mean, std):
        one = {name: {"mean": mean, "std": std} for name in document_tables.IMPORTANCE_ROWS}
        return {"statistics": {m: {"before": one, "after": one} for m in ("EWC", "MAS", "ANPyC")},
                "authors": {"kurtosis": {"after": {"EWC": 793, "MAS": 49, "ANPyC": 15152}}}}

    assert [document_tables.significant(v, 3) for v in (1466.2, 9.3249, 0.1067, 0)] == ["1470", "9.32", "0.107", "0"]
    assert document_tables.significant(1953.0, 2) == "2000"
    for name, (mean, std) in {"ours": (1466.2, 1953.0), "theirs": (0.1067, 0.00326)}.items():
        (tmp_path / name).mkdir()
        (tmp_path / name / "stats.json").write_text(json.dumps(stats(mean, std)))
    table = document_tables.importance_markdown(*(json.loads((tmp_path / n / "stats.json").read_text()) for n in ("ours", "theirs")))
    lines = table.splitlines()
    assert lines[0] == "| statistic | variant | EWC | MAS | ANPyC |"
    assert lines[2] == "| kurtosis, before pruning | ours | 1470 ± 2000 | 1470 ± 2000 | 1470 ± 2000 |"
    assert lines[3] == "| | authors' | 0.107 ± 0.0033 | 0.107 ± 0.0033 | 0.107 ± 0.0033 |"
    assert lines[6] == "| | (authors' numbers) | (793) | (49) | (15152) |"  # after pruning only: theirs has no "before"
    assert lines[-1] == "| | authors' | 10.7 ± 0.33 | 10.7 ± 0.33 | 10.7 ± 0.33 |"  # a fraction, in %
    document = f"<!-- importance: ours authors=theirs -->\n{table}"
    assert check(document, tmp_path) == []
    assert any("is not what its runs give" in p for p in check(document.replace("(793)", "(794)"), tmp_path))


def test_the_check_finds_a_wrong_cell_a_wrong_verdict_and_an_untagged_comparison(tmp_path):
    import subprocess
    import sys

    for method in ("finetuning", "sgd_frozen"):  # two runs at a time
        runs = [subprocess.Popen([sys.executable, f"baselines/{method}.py", "--tasks", "2", "--epochs", "1",
                                  "--train-subset", "200", "--hidden", "16", "--seed", str(seed),
                                  "--out", str(tmp_path / "campaign" / method / f"seed{seed}")],
                                 cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for seed in (0, 1)]
        assert [run.wait(timeout=300) for run in runs] == [0, 0]
    runs = report.load_runs(tmp_path / "campaign")
    table = report.table_markdown(report.table_rows(runs, reference="finetuning"), "finetuning")
    (tmp_path / "campaign" / "contrasts.json").write_text('{"contrasts": "finetuning:sgd_frozen"}')
    family = report.planned(runs, tmp_path / "campaign")
    verdicts = report.verdicts_markdown(runs, family)
    (pair,) = report.verdicts(runs, family=family)
    first, second, verdict = pair["first"], pair["second"], pair["verdict"]
    bound = f", |d| < {report.cell(pair['bound'])}" if verdict == "tie" else ""
    tag = f"[verdict: {first} {verdict} {second}{bound}]"
    good = (f"## A campaign\n\n<!-- table: campaign reference=finetuning -->\n{table}\n"
            f"<!-- verdicts: campaign -->\n{verdicts}\nSo {first} sits where it sits {tag}.\n")
    summary = document_tables.summary_markdown({"campaign": runs})
    good += f"\n<!-- summary: . campaigns=campaign -->\n{summary}"
    assert summary.count("**") == (4 if verdict == "tie" else 2)  # the best in bold, and the other if it ties
    assert check(good, tmp_path) == []
    if verdict == "tie":  # a tie states its bound
        assert any("a tie states its bound" in problem for problem in check(good.replace(bound, ""), tmp_path))
    planned_as_exploratory = good.replace(tag, tag[:-1] + ", exploratory]")
    assert any("a planned contrast is not exploratory" in problem for problem in check(planned_as_exploratory, tmp_path))
    (tmp_path / "campaign" / "contrasts.json").write_text('{"contrasts": ""}')  # planned for nothing
    unplanned = good.replace(verdicts, report.verdicts_markdown(runs, set()))
    assert any("not a planned contrast of the campaign" in problem for problem in check(unplanned, tmp_path))
    exploratory = report.verdicts(runs)[0]
    exploratory_bound = f", |d| < {report.cell(exploratory['bound'])}" if exploratory["verdict"] == "tie" else ""
    assert check(unplanned.replace(tag, f"[verdict: {first} {exploratory['verdict']} {second}{exploratory_bound}, "
                                         "exploratory]"), tmp_path) == []
    (tmp_path / "campaign" / "contrasts.json").write_text('{"contrasts": "finetuning:sgd_frozen"}')
    # a figure of a reading is one that a table holds, or one cited from a paper
    mean = cells[1].split(" ± ")[0] if (cells := table.splitlines()[2].split(" | ")) else ""
    assert check(good + f"\nIt ends at {mean}%.\n", tmp_path) == []
    assert "12.34 in a reading is in no table of its section: It ends at 12.34%." in check(good + "\nIt ends at 12.34%.\n", tmp_path)
    assert check(good + "\nTheirs ends at 12.34% [cited: Wu et al. 2018, Table 1].\n", tmp_path) == []
    assert check(good + "\nIt runs at `--lr 0.037`.\n", tmp_path) == []  # a setting, in code
    assert any("7 seeds in a reading" in problem for problem in check(good + "\nOver 7 seeds.\n", tmp_path))
    # it is looked for in its own section's tables, or a campaign's that its sentence or heading names in
    # code: a copy that only another section's table prints passes only where the reading says whose it is
    figure = next(n for n in sorted(numbers(verdicts) - numbers(summary)) if "." in n)
    other_section = f"\n## Across\n\n<!-- summary: . campaigns=campaign -->\n{summary}\nIts gap is {figure}"
    assert f"{figure} in a reading is in no table of its section: Its gap is {figure}." in check(good + other_section + ".\n", tmp_path)
    assert check(good + other_section + " (`campaign`).\n", tmp_path) == []
    assert check(good + other_section.replace("## Across", "## Across (`campaign`)") + ".\n", tmp_path) == []
    best_row = summary.splitlines()[2] if "**" in summary.splitlines()[2] else summary.splitlines()[3]
    unbold = good.replace(best_row, best_row.replace("**", ""))
    assert any("the summary of . " in problem for problem in check(unbold, tmp_path))
    row = table.splitlines()[2]  # the first method's row: its accuracy cell made 0.00
    cells = row.split(" | ")
    wrong_cell = good.replace(row, " | ".join([cells[0], "0.00", *cells[2:]]))
    assert "the table of campaign (line 4) is not what its runs give" in check(wrong_cell, tmp_path)
    assert refresh(wrong_cell, tmp_path) == good
    other = {"above": "below", "below": "tie", "tie": "above"}[verdict]
    flip = {"above": "below", "below": "above", "tie": "tie"}
    wrong_verdict = good.replace(tag, f"[verdict: {first} {other} {second}]")
    assert any("but the verdict table says" in problem for problem in check(wrong_verdict, tmp_path))
    quoted = cells[1]  # the first method's "mean ± sd", quoted in the text: fine; a stale number is not
    assert check(good + f"\nIt ends at {quoted}.\n", tmp_path) == []
    assert "12.34 ± 0.56 in the text is in no table of its section" in check(good + "\nIt ends at 12.34 ± 0.56.\n", tmp_path)
    notes = f"\n## Notes\n\nIt ends at {quoted}"  # a section without tables quotes the campaign's: it names it
    assert f"{quoted} in the text is in no table of its section" in check(good + notes + ".\n", tmp_path)
    assert check(good + notes + " (`campaign`).\n", tmp_path) == []
    untagged = good + "\nfinetuning ends higher than sgd_frozen.\n"
    assert any("a comparative sentence without" in problem for problem in check(untagged, tmp_path))
    broken = good.replace(tag, f"[verdict: {first}\n{verdict} {second}{bound}]")
    assert any("not one whole tag on one line" in problem for problem in check(broken, tmp_path))
    # below a summary table, a tag names the campaign (a column) whose verdict table it quotes
    across = good + f"\nAcross campaigns, the same [verdict: {first} {verdict} {second} in campaign{bound}].\n"
    assert check(across, tmp_path) == []
    assert any("but the verdict table says" in problem for problem in check(across.replace(f"{verdict} {second} in campaign{bound}", f"{other} {second} in campaign"), tmp_path))
    assert any("no summary table above it has elsewhere" in problem for problem in check(across.replace(f"in campaign{bound}]", "in elsewhere]"), tmp_path))
    # per task: a task-contrasts table, paired by seed, and tags that name the task
    contrasts = document_tables.task_contrasts(runs, "finetuning", "sgd_frozen", [1, 2])
    assert [(c["task"], c["phase"]) for c in contrasts] == [(1, "learned"), (1, "final"), (2, "learned")]
    task_1_final = {(r["method"], r["seed"]): r["matrix"][-1][0] for r in runs}
    by_hand = np.mean([task_1_final["finetuning", s] - task_1_final["sgd_frozen", s] for s in (0, 1)])
    assert contrasts[1]["diff"] == pytest.approx(by_hand) and contrasts[1]["pairs"] == 2
    final = contrasts[1]["verdict"]
    final_bound = f", |d| < {report.cell(contrasts[1]['bound'])}" if final == "tie" else ""
    table = document_tables.task_contrasts_markdown(runs, "finetuning", "sgd_frozen", [1, 2])
    per_task = (good + f"\n<!-- task-contrasts: campaign pair=finetuning,sgd_frozen tasks=1,2 -->\n{table}\n"
                f"On task 1 at the end [verdict: sgd_frozen {flip[final]} finetuning on task 1 final{final_bound}].\n")
    assert check(per_task, tmp_path) == []
    another = {"above": "below", "below": "tie", "tie": "above"}[flip[final]]
    wrong = per_task.replace(f"{flip[final]} finetuning on task 1", f"{another} finetuning on task 1")
    assert any("but the verdict table says" in problem for problem in check(wrong, tmp_path))
    # across campaigns, a per-task tag names the campaign whose task-contrasts table it quotes
    average = verdict if first == "sgd_frozen" else flip[verdict]
    elsewhere = (f"\n## Across campaigns\n\n<!-- summary: . campaigns=campaign -->\n{summary}\n"
                 f"On task 1 [verdict: sgd_frozen {flip[final]} finetuning in campaign on task 1 final{final_bound}], and on"
                 f" the average [verdict: sgd_frozen {average} finetuning in campaign{bound}].\n")
    assert check(per_task + elsewhere, tmp_path) == []
    wrong = elsewhere.replace(f"{flip[final]} finetuning in campaign on", f"{another} finetuning in campaign on")
    assert any("but the verdict table says" in problem for problem in check(per_task + wrong, tmp_path))
    assert any("no task-contrasts table of campaign is above it" in problem for problem in check(good + elsewhere, tmp_path))
    assert any("before any task-contrasts table" in problem
               for problem in check(good + "\nOn task 1 [verdict: sgd_frozen tie finetuning on task 1 final].\n", tmp_path))
    summary_only = f"## Summary\n\n<!-- summary: . campaigns=campaign -->\n{summary}\nfinetuning ends higher than sgd_frozen.\n"
    assert any("a comparative sentence without" in problem for problem in check(summary_only, tmp_path))


def test_the_importance_contrasts_are_paired_over_seeds_and_holm_adjusted():
    seeds = {"EWC": [1.0, 1.0, 1.0], "MAS": [0.0, 0.0, 0.0], "ANPyC": [3.0, 3.0, 6.0]}  # after = before
    stats = {"statistics": {m: {phase: {name: {"seeds": v} for name in document_tables.POLARISATION} for phase in ("before", "after")}
                            for m, v in seeds.items()}}
    contrasts = {(c["statistic"], c["comparison"]): c for c in document_tables.importance_contrasts(stats)}
    assert len(contrasts) == 4 * 6
    # ANPyC - MAS: 3, 3, 6: mean 4, sd sqrt(3), t = 4 on 2 degrees of freedom, p = 1 - 4 / sqrt(18)
    assert contrasts["gini", "ANPyC - MAS, before pruning"]["p_value"] == pytest.approx(1 - 4 / 18 ** 0.5)
    # Holm over 24: four p = 0 (EWC - MAS, no spread) stay 0; the next, 0.057 x 20, is above 1: a tie
    assert contrasts["gini", "ANPyC - MAS, before pruning"]["p_holm"] == 1.0
    rows = document_tables.importance_contrasts_markdown(stats).splitlines()
    # ANPyC - EWC: 2, 2, 5: mean 3, 95% CI half-width t(0.975, 2) = 4.302653 times sd sqrt(3) / sqrt(3)
    # a tie's bound: |3| + the half-width at the Bonferroni level over 24, t(1 - 0.05 / 48, 2) x sd / sqrt(3);
    # with 2 degrees of freedom t(q) = (2q - 1) / sqrt(2 q (1 - q)): 21.87
    q = 1 - 0.05 / 48
    assert rows[2] == (f"| skewness | ANPyC - EWC, before pruning | 3.00 [-1.30, 7.30] | 1 | tie, |d| < "
                       f"{3 + (2 * q - 1) / (2 * q * (1 - q)) ** 0.5:.2f} | 3 |")
    assert rows[4] == "| skewness | EWC - MAS, before pruning | 1.00 [1.00, 1.00] | 0 | higher | 3 |"
    assert rows[5] == "| skewness | EWC, after - before pruning | 0 [0, 0] | 1 | tie, |d| < 0.00 | 3 |"


def test_a_document_that_is_not_there_is_one_line():
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "common.documents", "no-such-document.md"], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert result.stderr.splitlines()[-1].endswith("no document no-such-document.md (paths are from the repository's root, "
                                                   f"{ROOT})")


def test_a_gap_of_four_times_its_spread_is_never_a_tie():
    """With 5 seeds or more, a paired difference of more than 4 sd of its seeds' differences gives t > 8.9
    on 4 degrees of freedom, p < 0.0009: no tie after Holm over up to 55 contrasts. Every campaign of 5
    seeds or more holds to it, in its planned family and among all its pairs; a campaign of 3 seeds
    cannot (t on 2 degrees of freedom), and waits for its seeds."""
    from scipy import stats

    def spread_ties(runs, family):
        found = []
        for p in report.verdicts(runs, family=family):
            sd = p["diff_ci95"] * np.sqrt(p["pairs"]) / stats.t.ppf(0.975, p["pairs"] - 1)
            if p["verdict"] == "tie" and abs(p["diff"]) > 4 * sd:
                found.append(f"{p['first']} vs {p['second']}: {p['diff']:+.2f}, sd {sd:.2f}, {p['pairs']} seeds")
        return found

    from common.documents import runs_of

    checked, found = 0, []
    for folder in sorted((ROOT / "results" / "campaigns").iterdir()):
        runs = runs_of(folder) if folder.is_dir() else []
        if runs and min(len(group) for group in report.by_method(runs).values()) >= 5:
            checked += 1
            found += [f"{folder.name}: {t}" for family in (report.planned(runs, folder), None) for t in spread_ties(runs, family)]
    assert found == []
    # and the check can fail: with 3 seeds and Holm over 10 pairs, a gap of 5 sd (t 8.7, p 0.013) is a tie
    gap = [{"method": m, "seed": s, "summary": {"final_avg_accuracy": 90.0 + (5.0 + d if m == "a" else 0.0),
                                                 "bwt": 0.0, "forgetting": 0.0},
            "config": {"seed": s}, "provenance": [], "path": ROOT, "value": None, "matrix": []}
           for m in "abcde" for s, d in zip(range(3), (-1.0, 0.0, 1.0))]
    assert spread_ties(gap, None) == [f"a vs {m}: +5.00, sd 1.00, 3 seeds" for m in "bcde"]
