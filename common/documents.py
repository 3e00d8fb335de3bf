"""The documents cannot drift from the data: every table they show is recomputed from its folder of
runs, and every comparative word names a verdict that the campaign's verdict table must give.

    python -m common.documents [DOCUMENT ...]   # default: README.md, results/README.md, docs/importance.md

rewrites every marked table of the documents from its runs (after a campaign lands) and prints what
`check` still finds: comparative sentences without a verdict, and verdicts that the tables contradict,
which only an author can mend. tests/test_documents.py runs `check` on every document.

Conventions (README.md, results/README.md and docs/importance.md):
- `<!-- table: FOLDER [reference=METHOD] -->` on the line before a table: the table of FOLDER's runs,
  as compare.py and plot_results.py write it (a swept method at its value chosen on validation);
- `<!-- verdicts: FOLDER -->` before a table: FOLDER's verdicts on the contrasts it was planned for
  (its contrasts.json, or ANPyC's methods against every other: `report.planned`), Holm over them;
  `<!-- verdicts: FOLDER pairs=all -->`: on every pair, exploratory (Holm over all of them);
- `<!-- scenarios: TASK_FOLDER domain=FOLDER class=FOLDER -->` before a table: the three-scenario
  table of the three campaigns beside Hsu et al.'s numbers;
- `<!-- tasks: FOLDER methods=A,B,... tasks=1,5,... -->` before a table: those tasks' accuracy (a VAE's
  negative ELBO) when learned and at the end, per method (`document_tables.tasks_markdown`);
- `<!-- task-contrasts: FOLDER pair=A,B tasks=1,10,... -->` before a table: method A against B on those
  tasks, when learned and at the end, paired by seed and Holm-adjusted (`document_tables.task_contrasts`);
- `<!-- mergan: FOLDER -->` before a table: the GAN campaign FOLDER beside Memory Replay GANs' Table 1
  (`document_tables.mergan_markdown`);
- `<!-- summary: FOLDER campaigns=A,B,... -->` before a table: one table across the campaigns
  FOLDER/A, FOLDER/B, ... (`document_tables.summary_markdown`);
- `<!-- importance: FOLDER authors=FOLDER -->` before a table: the importance distributions of
  cal_importance_distribution.py's two variants (their stats.json; `document_tables.importance_markdown`);
- `<!-- contrasts: FOLDER -->` before a table: the paired contrasts of one variant's importance
  distributions (`document_tables.importance_contrasts_markdown`);
- a "mean ± sd" quoted in the text must be one that a table of its own section shows, or a marked table
  of a campaign that its sentence or the section's heading names in code (`authors-main`), so that a
  rerun that moves a number leaves no stale copy of it in the prose;
- so must every figure of a reading (the prose after the first table of a section that shows a marked
  table: a number with a decimal point, such as a mean, an sd, a CI's end or a p, and a count of seeds),
  unless its sentence marks it as a citation of a paper, `[cited: Wu et al. 2018, Table 1]`; settings
  written as `code` are not figures;
- `[verdict: A above B]` (or `below`, `tie`) in the text: the verdict of methods A and B (by name, without
  a swept value) in the nearest verdict table above it: a planned contrast of that campaign, or, marked
  `[verdict: A above B, exploratory]`, a pair it was not planned for (Holm over every pair). A tie
  states the largest difference that its family's simultaneous CI allows, as the table prints it:
  `[verdict: A tie B, |d| < 1.31]`; `[verdict: A above B in CAMPAIGN]`: in the
  verdict table of CAMPAIGN, one of the columns of the nearest summary table above it;
  `[verdict: A above B on task 10 learned]` (or `final`): in the nearest task-contrasts table above it;
  `[verdict: A above B in CAMPAIGN on task 10 learned]`: in the task-contrasts table of CAMPAIGN above it
  (its Holm adjustment is over that table's tasks, so a per-task verdict exists only where one is shown).
  A sentence with a comparative word ("above", "below", "beats", "ties", "trails", "higher", "lower",
  "highest", "lowest", "outperforms", "separated") in a section that has a verdict or a summary table
  must carry one.
"""
import argparse
import functools
import json
import re
from pathlib import Path

from common import document_tables, report
from common.provenance import ROOT

MARKER = re.compile(r"<!-- (table|verdicts|scenarios|summary|mergan|tasks|task-contrasts|importance|contrasts): (\S+)((?: \w+=\S+)*) -->")
DOCUMENTS = ["README.md", "results/README.md", "docs/importance.md"]
VERDICT = re.compile(r"\[verdict: ([^\s\],]+) (above|below|tie) ([^\s\],]+)(?: in ([^\s\],]+))?"
                     r"(?: on task (\d+) (learned|final))?(?:, \|d\| < (\d+\.\d+))?(, exploratory)?\]")
MEAN_SD = re.compile(r"-?\d+\.\d+ ± \d+\.\d+")  # "mean ± sd", as the tables print it
FIGURE = re.compile(r"(?<![\w.])[-+−]?(\d+\.\d+)(?![\w.]*\d)|\b(\d+) seeds\b")
NUMBER = re.compile(r"(?<![\w.])[-+]?(\d+(?:\.\d+)?)(?![\w])")
CITED = "[cited:"
CODE = re.compile(r"`([^`]*)`")
NAMED = re.compile(r"\{([^{}\s]+)\}")  # a campaign named in a reading's sentence
COMPARATIVE = re.compile(r"\b(above|below|beats?|ties?|tied|trails?|higher|lower|highest|lowest|outperforms?|separated)\b",
                         re.IGNORECASE)


def runs_of(folder: Path) -> list:
    runs = report.load_runs(folder)
    return report.choose_by_validation(runs, folder) if any(run["value"] for run in runs) else runs


def expected(kind: str, folder: Path, options: dict, load=runs_of) -> str:
    """The table that a marker asks for; `load` gives a folder's runs (runs_of, or a cached copy)."""
    if kind == "summary":
        return document_tables.summary_markdown({name: load(folder / name) for name in options["campaigns"].split(",")})
    if kind in ("importance", "contrasts"):
        stats = [json.loads((part / "stats.json").read_text()) for part in stats_folders(kind, folder, options)]
        table = document_tables.importance_markdown if kind == "importance" else document_tables.importance_contrasts_markdown
        return table(*stats)
    runs = load(folder)
    if kind == "scenarios":
        others = {scenario: load(folder.parent / options[scenario]) for scenario in ("domain", "class")}
        return document_tables.scenario_markdown({"task": runs} | others)
    if kind == "verdicts":
        return report.verdicts_markdown(runs, None if options.get("pairs") == "all" else report.planned(runs, folder))
    if kind == "mergan":
        return document_tables.mergan_markdown(runs)
    if kind == "tasks":
        return document_tables.tasks_markdown(runs, options["methods"].split(","), task_list(options))
    if kind == "task-contrasts":
        return document_tables.task_contrasts_markdown(runs, *options["pair"].split(","), task_list(options))
    reference = options.get("reference")
    return report.table_markdown(report.table_rows(runs, reference=reference), reference)


def parse(marker: re.Match, base: Path) -> tuple[str, Path, dict]:
    """A marker's kind, its folder (relative to `base`) and its options."""
    return marker.group(1), base / marker.group(2), dict(option.split("=", 1) for option in marker.group(3).split())


def task_list(options: dict) -> list[int]:
    """A marker's tasks=1,5,10 option."""
    return [int(t) for t in options["tasks"].split(",")]


def stats_folders(kind: str, folder: Path, options: dict) -> list[Path]:
    """The folders of cal_importance_distribution.py whose stats.json an importance marker reads."""
    return [folder] + ([folder.parent / options["authors"]] if kind == "importance" else [])


def has_runs(kind: str, folder: Path, options: dict) -> bool:
    """Whether every folder that a marker names holds finished runs."""
    if kind in ("importance", "contrasts"):
        return all((part / "stats.json").exists() for part in stats_folders(kind, folder, options))
    parts = [folder / name for name in options["campaigns"].split(",")] if kind == "summary" else [folder]
    return all(report.load_runs(part) for part in parts)


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
    problems, lines, verdicts, summary, per_task, per_task_of = [], document.splitlines(), None, {}, None, {}
    load = functools.cache(runs_of)  # a folder's runs, read once per check (a verdicts marker uses them twice)
    verdicts_of = functools.cache(lambda folder: pair_verdicts(load(folder), folder))  # a campaign's, once per check
    problems += unsupported_figures(document)
    for section in re.split(r"\n(?=#)", document):
        if "<!-- verdicts:" not in section and "<!-- summary:" not in section:
            continue
        prose = re.sub(r"^\|.*\|$", "", re.sub(r"<!--.*?-->", "", section), flags=re.MULTILINE)  # no tables, markers
        for sentence in re.split(r"(?<=[.;!?])\s+|\n\s*\n", prose):
            if COMPARATIVE.search(sentence) and not VERDICT.search(sentence) and not sentence.lstrip().startswith("#"):
                problems.append(f"a comparative sentence without a [verdict: ...]: {sentence.strip()[:100]}")
    for i, line in enumerate(lines):
        marker = MARKER.match(line)  # a line of its own: not one quoted in the text
        if marker:
            kind, folder, options = parse(marker, base)
            if not has_runs(kind, folder, options):
                problems.append(f"{marker.group(2)}: a folder without finished runs")
                continue
            if block_after(lines, i) != expected(kind, folder, options, load):
                problems.append(f"the {kind} of {marker.group(2)} (line {i + 2}) is not what its runs give")
            if kind == "verdicts":
                verdicts = verdicts_of(folder)
            if kind == "summary":
                summary = {name: folder / name for name in options["campaigns"].split(",")}
            if kind == "task-contrasts":
                a, b = options["pair"].split(",")
                per_task = {(a, b, str(c["task"]), c["phase"]): (c["verdict"], c.get("bound") and report.cell(c["bound"]), True)
                            for c in document_tables.task_contrasts(load(folder), a, b, task_list(options))}
                per_task_of.setdefault(folder.name, {}).update(per_task)  # a campaign may show several pairs
        prose = re.sub(r"`[^`]*`", "", line)  # not in `code`: an example
        if prose.count("[verdict:") != len(VERDICT.findall(prose)):
            problems.append(f"line {i + 1}: a [verdict: ...] that is not one whole tag on one line")
        for tag, a, word, b, campaign, task, phase, bound, exploratory in ((m.group(0), *m.groups())
                                                                           for m in VERDICT.finditer(prose)):
            if campaign and task and campaign not in per_task_of:
                problems.append(f"line {i + 1}: {tag}, but no task-contrasts table of {campaign} is above it")
                continue
            if campaign and not task and campaign not in summary:
                problems.append(f"line {i + 1}: {tag}, but no summary table above it has {campaign}")
                continue
            table, key = ((per_task_of[campaign] if campaign else per_task, (task, phase)) if task
                          else (verdicts_of(summary[campaign]) if campaign else verdicts, ()))
            if table is None:
                problems.append(f"line {i + 1}: {tag} before any {'task-contrasts' if task else 'verdict'} table")
                continue
            found = table.get((a, b, *key)) or flip(table.get((b, a, *key)))
            got, kept, planned = found or (None, None, True)
            if got != word:
                problems.append(f"line {i + 1}: {tag}, but the verdict table says {got}")
            elif word == "tie" and bound != kept:
                problems.append(f"line {i + 1}: {tag}, but a tie states its bound, as its table does: |d| < {kept}")
            elif planned == bool(exploratory):
                problems.append(f"line {i + 1}: {tag}: " + ("a planned contrast is not exploratory" if planned else
                                                            "not a planned contrast of the campaign: mark it exploratory"))
    return problems


def unsupported_figures(document: str) -> list[str]:
    """The quoted figures that no table they may come from holds (`sourced_sentences`): every "mean ± sd"
    of the text, and every figure of a reading (a section's prose after its first table, in a section that
    shows a marked table) unless its sentence cites a paper."""
    problems = []
    for sentence, tables, reading, named in sourced_sentences(document):
        where = f"in no table of its section{' or of ' + ', '.join(sorted(named)) if named else ''}"
        problems += [f"{quoted} in the text is {where}" for quoted in MEAN_SD.findall(sentence)
                     if not any(quoted in table for table in tables)]
        if reading and CITED not in sentence:
            held = set().union(*map(numbers, tables))
            problems += [f"{m.group(0)} in a reading is {where}: {sentence.strip()[:80]}" for m in FIGURE.finditer(sentence)
                         if (m.group(1) or m.group(2)) not in held]
    return problems


def sourced_sentences(document: str):
    """Each sentence of the document's prose (without markers, links, verdict tags, whose bounds are checked
    against their verdict tables, or `code`, which is a setting), with the tables it may quote: those of its
    own section, and the marked tables of the campaigns that it or its section's heading names in code
    (`authors-main`), wherever they are. Where a figure may come from is that narrow so that a stale copy
    does not pass because another campaign's table happens to print it. Yields (sentence, those tables'
    rows, one text per section or campaign, whether it is in a reading, the campaigns named)."""
    sections = re.split(r"\n(?=#)", re.sub(r"^```.*?^```", "", document, flags=re.MULTILINE | re.DOTALL))
    of_campaign = {}  # a marked table's folder name -> its tables' rows, in every section
    for section in sections:
        lines = section.splitlines()
        for i, line in enumerate(lines):
            if marker := MARKER.match(line):
                name = Path(marker.group(2)).name
                of_campaign[name] = of_campaign.get(name, "") + block_after(lines, i)
    for section in sections:
        lines = section.splitlines()
        first = next((i for i, line in enumerate(lines) if line.startswith("|")), None)
        if first is None or not MARKER.search(section):  # not a section of results: no reading
            first = len(lines)
        own = "\n".join(line for line in lines if line.startswith("|"))
        heading = set(CODE.findall(lines[0])) if lines and lines[0].startswith("#") else set()
        for part, reading in ((lines[:first], False), (lines[first:], True)):
            prose = " ".join(line for line in part if not line.startswith("|"))
            prose = VERDICT.sub(" ", re.sub(r"<!--.*?-->|\]\([^)]*\)", " ", prose))
            prose = CODE.sub(lambda m: f" {{{m.group(1)}}} " if m.group(1) in of_campaign else " ", prose)
            for sentence in re.split(r"(?<=[.;!?])\s+(?=[A-Z(\[-])", re.sub(r"\s+", " ", prose)):
                named = heading | set(NAMED.findall(sentence))
                yield NAMED.sub(" ", sentence), (own, *(of_campaign.get(name, "") for name in named)), reading, named


@functools.cache  # a section's or a campaign's tables, read once for all the sentences that may quote them
def numbers(text: str) -> frozenset:
    """The numbers that the table rows of `text` print, without their signs."""
    return frozenset(m.group(1) for line in text.splitlines() if line.startswith("|") for m in NUMBER.finditer(line))


def pair_verdicts(runs, folder: Path) -> dict:
    """(A, B) -> (the verdict of A against B, a tie's bound as printed, whether the pair is one of the
    campaign's planned contrasts), by method names without a swept value: the planned family's verdict
    where it has the pair, else the exploratory one over every pair (`report.verdicts`)."""
    family = report.planned(runs, folder)
    found = {}
    for pairs, planned in ((report.verdicts(runs), False), (report.verdicts(runs, family=family), True)):
        for p in pairs:
            bound = report.cell(p["bound"]) if "bound" in p else None
            found[(report.method_name(p["first"]), report.method_name(p["second"]))] = (p["verdict"], bound, planned)
    return found


def flip(found):
    """The verdict of B against A, from A's against B."""
    if found is None:
        return None
    word, bound, planned = found
    return {"above": "below", "below": "above"}.get(word, word), bound, planned


def refresh(document: str, base: Path) -> str:
    """`document` with every marked table replaced by what its runs give (markers whose folders have no
    finished runs are left alone)."""
    lines, out, skip = document.splitlines(), [], 0
    for i, line in enumerate(lines):
        if skip:
            skip -= 1
            continue
        out.append(line)
        marker = MARKER.match(line)  # a line of its own: not one quoted in the text
        if marker:
            kind, folder, options = parse(marker, base)
            if has_runs(kind, folder, options):
                old = block_after(lines, i)
                skip = old.count("\n") if old.strip() else 0
                out.append(expected(kind, folder, options).rstrip("\n"))
    return "\n".join(out) + ("\n" if document.endswith("\n") else "")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Rewrite every marked table of the documents from its runs, "
                                                 "then print what `check` still finds.")
    parser.add_argument("documents", nargs="*", default=DOCUMENTS, metavar="DOCUMENT",
                        help=f"paths from the repository's root (default: {', '.join(DOCUMENTS)})")
    for name in parser.parse_args().documents:
        path = ROOT / name
        if not path.is_file():
            parser.error(f"no document {name} (paths are from the repository's root, {ROOT})")
        path.write_text(refresh(path.read_text(), ROOT))
        for problem in check(path.read_text(), ROOT):
            print(f"{name}: {problem}")
