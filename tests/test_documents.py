"""The documents cannot drift from the data: every table they show is recomputed from its folder of
runs, and every comparative word names a verdict that the campaign's verdict table must give.

Conventions (README.md and results/README.md):
- `<!-- table: FOLDER [reference=METHOD] -->` on the line before a table: the table of FOLDER's runs,
  as compare.py and plot_results.py write it (a swept method at its value chosen on validation);
- `<!-- verdicts: FOLDER -->` before a table: FOLDER's verdict table;
- `<!-- scenarios: TASK_FOLDER domain=FOLDER class=FOLDER -->` before a table: the three-scenario
  table of the three campaigns beside Hsu et al.'s numbers;
- `<!-- summary: FOLDER campaigns=A,B,... -->` before a table: one table across the campaigns
  FOLDER/A, FOLDER/B, ... (`report.summary_markdown`);
- `[verdict: A above B]` (or `below`, `tie`) in the text: the verdict of methods A and B (by name, without
  a swept value) in the nearest verdict table above it. A sentence with a comparative word ("above",
  "below", "beats", "ties", "trails", "higher", "lower", "outperforms") in a section that has a verdict
  table must carry one.
"""
import re
from pathlib import Path

import pytest

from common import report
from conftest import ROOT

DOCUMENTS = [ROOT / "README.md", ROOT / "results" / "README.md"]
MARKER = re.compile(r"<!-- (table|verdicts|scenarios|summary): (\S+)((?: \w+=\S+)*) -->")
VERDICT = re.compile(r"\[verdict: (\S+) (above|below|tie) (\S+)\]")
COMPARATIVE = re.compile(r"\b(above|below|beats?|ties?|tied|trails?|higher|lower|outperforms?)\b", re.IGNORECASE)


def runs_of(folder: Path) -> list:
    runs = report.load_runs(folder)
    return report.choose_by_validation(runs, folder) if any(run["value"] for run in runs) else runs


def expected(kind: str, folder: Path, options: dict) -> str:
    if kind == "summary":
        return report.summary_markdown({name: runs_of(folder / name) for name in options["campaigns"].split(",")})
    runs = runs_of(folder)
    if kind == "scenarios":
        others = {scenario: runs_of(folder.parent / options[scenario]) for scenario in ("domain", "class")}
        return report.scenario_markdown({"task": runs} | others)
    if kind == "verdicts":
        return report.verdicts_markdown(runs)
    reference = options.get("reference")
    return report.table_markdown(report.table_rows(runs, reference=reference), reference)


def block_after(lines: list[str], index: int) -> str:
    """The table that starts on the line after `index`, up to the first line that is not a table row."""
    block = []
    for line in lines[index + 1:]:
        if not line.startswith("|"):
            break
        block.append(line)
    return "\n".join(block) + "\n"


def check(document: str, base: Path) -> list[str]:
    """Every way `document` disagrees with its data, one line each (folders relative to `base`)."""
    problems, lines, verdicts = [], document.splitlines(), None
    for section in re.split(r"\n(?=#)", document):
        if "<!-- verdicts:" not in section:
            continue
        prose = re.sub(r"\|.*\|", "", re.sub(r"<!--.*?-->", "", section))  # without tables and markers
        for sentence in re.split(r"(?<=[.;!?])\s+|\n\s*\n", prose):
            if COMPARATIVE.search(sentence) and not VERDICT.search(sentence) and not sentence.lstrip().startswith("#"):
                problems.append(f"a comparative sentence without a [verdict: ...]: {sentence.strip()[:100]}")
    for i, line in enumerate(lines):
        marker = MARKER.search(line)
        if marker:
            kind, folder = marker.group(1), base / marker.group(2)
            options = dict(option.split("=", 1) for option in marker.group(3).split())
            parts = [folder / name for name in options["campaigns"].split(",")] if kind == "summary" else [folder]
            if not all(report.load_runs(part) for part in parts):
                problems.append(f"{marker.group(2)}: a folder without finished runs")
                continue
            if block_after(lines, i) != expected(kind, folder, options):
                problems.append(f"the {kind} of {marker.group(2)} (line {i + 2}) is not what its runs give")
            if kind == "verdicts":
                verdicts = {(p["first"].split(" (")[0], p["second"].split(" (")[0]): p["verdict"]
                            for p in report.verdicts(runs_of(folder))}
        for a, word, b in VERDICT.findall(re.sub(r"`[^`]*`", "", line)):  # not in `code`: an example
            if verdicts is None:
                problems.append(f"line {i + 1}: [verdict: {a} {word} {b}] before any verdict table")
                continue
            flipped = {"above": "below", "below": "above", "tie": "tie"}
            got = verdicts.get((a, b)) or flipped.get(verdicts.get((b, a)))
            if got != word:
                problems.append(f"line {i + 1}: [verdict: {a} {word} {b}], but the verdict table says {got}")
    return problems


@pytest.mark.parametrize("path", DOCUMENTS, ids=[p.name if p.parent == ROOT else "results/README.md" for p in DOCUMENTS])
def test_every_table_and_verdict_in_the_documents_comes_from_its_runs(path):
    assert check(path.read_text(), ROOT) == []


def test_the_check_finds_a_wrong_cell_a_wrong_verdict_and_an_untagged_comparison(tmp_path):
    import subprocess
    import sys

    for method in ("finetuning", "sgd_frozen"):
        for seed in (0, 1):
            subprocess.run([sys.executable, f"baselines/{method}.py", "--tasks", "2", "--epochs", "1",
                            "--train-subset", "200", "--hidden", "16", "--seed", str(seed),
                            "--out", str(tmp_path / "campaign" / method / f"seed{seed}")],
                           cwd=ROOT, check=True, capture_output=True)
    runs = report.load_runs(tmp_path / "campaign")
    table = report.table_markdown(report.table_rows(runs, reference="finetuning"), "finetuning")
    verdicts = report.verdicts_markdown(runs)
    (first, second, verdict), = [(p["first"], p["second"], p["verdict"]) for p in report.verdicts(runs)]
    good = (f"## A campaign\n\n<!-- table: campaign reference=finetuning -->\n{table}\n"
            f"<!-- verdicts: campaign -->\n{verdicts}\nSo {first} sits where it sits [verdict: {first} {verdict} {second}].\n")
    summary = report.summary_markdown({"campaign": runs})
    good += f"\n<!-- summary: . campaigns=campaign -->\n{summary}"
    assert summary.count("**") == (4 if verdict == "tie" else 2)  # the best in bold, and the other if it ties
    assert check(good, tmp_path) == []
    best_row = summary.splitlines()[2] if "**" in summary.splitlines()[2] else summary.splitlines()[3]
    unbold = good.replace(best_row, best_row.replace("**", ""))
    assert any("the summary of . " in problem for problem in check(unbold, tmp_path))
    row = table.splitlines()[2]  # the first method's row: its accuracy cell made 0.00
    cells = row.split(" | ")
    wrong_cell = good.replace(row, " | ".join([cells[0], "0.00", *cells[2:]]))
    assert "the table of campaign (line 4) is not what its runs give" in check(wrong_cell, tmp_path)
    other = {"above": "below", "below": "tie", "tie": "above"}[verdict]
    wrong_verdict = good.replace(f"[verdict: {first} {verdict} {second}]", f"[verdict: {first} {other} {second}]")
    assert any("but the verdict table says" in problem for problem in check(wrong_verdict, tmp_path))
    untagged = good + "\nfinetuning ends higher than sgd_frozen.\n"
    assert any("a comparative sentence without" in problem for problem in check(untagged, tmp_path))
