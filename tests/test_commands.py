"""The results document's commands make the runs it shows: every run folder under results/campaigns is
one that a documented command makes, with the settings that command gives it. A table can then be
reproduced by its command on main, not only recomputed from its folder."""
import json
import re
import subprocess
from pathlib import Path

import compare
from common import cli
from conftest import ROOT

IGNORED = {"out", "overwrite", "resume", "data_dir", "script"}  # where and how a run ran, not what it computed


def documented_calls(document: Path) -> list[list[str]]:
    """Each `python SCRIPT ...` of the document's code blocks, as the argv bash gives it (the blocks run
    in order in one shell, with `python` replaced by a function that records its arguments)."""
    blocks = re.findall(r"^```\n(.*?)^```", document.read_text(), re.MULTILINE | re.DOTALL)
    record = 'python() { printf "%s\\037" "$@"; printf "\\036"; }\n'
    out = subprocess.run(["bash", "-euc", record + "\n".join(blocks)], capture_output=True, text=True, check=True).stdout
    return [call.split("\x1f")[:-1] for call in out.split("\x1e")[:-1]]


def settings(script: str, argv: list[str]) -> tuple[dict, set[str]]:
    """The settings a run of `script` started with `argv` records in its config.json, and those of them
    that its other settings leave without effect (recorded as None)."""
    module = compare.script(next(m for m, path in compare.METHODS.items() if path == script))
    flags = getattr(module, "FLAGS", {})
    config = cli.parse(module.HPARAMS, flags, "", argv)
    return json.loads(json.dumps(vars(config))), cli.inert(config, flags)


def differences(stored: dict, expected: dict, defaults: dict, inert=frozenset()) -> list[str]:
    """Where a run's stored settings differ from what its command gives; a setting that the run lacks
    must be at its default (the flag came later, and tests/test_drift.py holds its default to the old
    behaviour), and one that had no effect (`inert`; runs made before cli.py recorded such a setting
    as None hold the value it was given) is not compared."""
    found = []
    for name in sorted((stored.keys() | expected.keys()) - IGNORED - set(inert)):
        if name not in stored and expected.get(name) == defaults.get(name):
            continue
        if stored.get(name, "(absent)") != expected.get(name, "(absent)"):
            found.append(f"{name}: run {stored.get(name, '(absent)')!r}, command {expected.get(name, '(absent)')!r}")
    return found


def test_every_campaign_run_is_made_by_a_documented_command_with_its_settings():
    calls = documented_calls(ROOT / "results" / "README.md")
    assert len(calls) > 10 and all(call[0].endswith(".py") for call in calls)
    planned, other = {}, {}
    for script, *argv in calls:
        if script == "compare.py":
            planned |= compare.planned_runs(argv)
        else:  # a script writing one folder: its flags must be the run's
            out = argv[argv.index("--out") + 1]
            other[ROOT / out] = (script, argv)
    problems = []
    for path in sorted((ROOT / "results" / "campaigns").rglob("config.json")):
        folder, stored = path.parent, json.loads(path.read_text())
        relative = folder.relative_to(ROOT)
        if relative in planned:
            script, argv = planned[relative]
            expected, inert = settings(script, argv)
            # a flag added since the run must be at its default under the command's protocol (Adam's betas
            # are Keras' under a protocol that uses Adam, and have no effect under one that does not)
            protocol = argv[argv.index("--protocol"):][:2] if "--protocol" in argv else []
            defaults, _ = settings(script, [*protocol, "--seed", str(stored["seed"])])
            problems += [f"{relative}: {d}" for d in differences(stored, expected, defaults, inert)]
        elif folder in other:
            script, argv = other[folder]
            given = {a[2:].replace("-", "_"): v for a, v in zip(argv, argv[1:] + [""]) if a.startswith("--")}
            problems += [f"{relative}: {name} is {stored.get(name)!r}, command {value!r}"
                         for name, value in given.items() if name not in IGNORED and str(stored.get(name)) != value]
        else:
            problems.append(f"{relative}: no documented command makes this run")
    assert problems == []


def test_the_check_finds_a_setting_that_the_command_does_not_give():
    expected = {"lr": 0.1, "epochs": 50, "replay_batch": "split", "out": "a"}
    defaults = {"lr": 0.1, "epochs": 50, "replay_batch": "split"}
    assert differences({"lr": 0.1, "epochs": 50, "out": "b"}, expected, defaults) == []  # older: no replay_batch
    assert differences({"lr": 0.02, "epochs": 50}, expected, defaults) == ["lr: run 0.02, command 0.1"]
    assert differences({"lr": 0.1, "epochs": 50}, expected | {"replay_batch": "full"}, defaults) == [
        "replay_batch: run '(absent)', command 'full'"]
    assert differences({"lr": 0.1, "epochs": 50, "tasks": 5}, expected, defaults) == ["tasks: run 5, command '(absent)'"]
    assert differences({"lr": 0.1, "epochs": 30}, expected | {"epochs": None}, defaults, {"epochs"}) == []
    assert differences({"lr": 0.1, "epochs": 30}, expected | {"epochs": None}, defaults) == ["epochs: run 30, command None"]
