"""Every run records the code that produced it, and a resumed run adds its own session."""
import json
import subprocess
import sys

import tensorflow as tf

from common import provenance
from conftest import ROOT

ARGV = ["--tasks", "2", "--epochs", "1", "--train-subset", "100", "--hidden", "16"]


def test_a_run_records_its_code_and_a_resume_adds_a_session(tmp_path):
    subprocess.run([sys.executable, "baselines/ewc.py", *ARGV, "--out", str(tmp_path)], cwd=ROOT, check=True,
                   capture_output=True)
    (session,) = json.loads((tmp_path / "provenance.json").read_text())["sessions"]
    files = session["source_files"]
    assert "baselines/ewc.py" in files and "common/consolidation.py" in files and "compare.py" not in files
    assert session["source_hash"] == provenance.source_hash([ROOT / name for name in files])
    assert session["tensorflow"] == tf.__version__ and session["device"] == "CPU"
    assert session["cpu"] == provenance.cpu_model() and session["cpu"]  # the machine's, e.g. "AMD EPYC"
    assert session["cpu_kind"] == provenance.cpu_kind()  # e.g. "AuthenticAMD-25-17"
    assert session["commit"] == provenance.git("rev-parse", "HEAD")
    assert isinstance(session["uncommitted_changes"], bool)

    summary = json.loads((tmp_path / "summary.json").read_text())
    (tmp_path / "summary.json").write_text(json.dumps(summary | {"finished": False}))  # as if killed after task 1...
    (tmp_path / "accuracy.csv").write_text("\n".join((tmp_path / "accuracy.csv").read_text().splitlines()[:2]) + "\n")
    subprocess.run([sys.executable, "baselines/ewc.py", "--resume", str(tmp_path)], cwd=ROOT, check=True,
                   capture_output=True)
    sessions = json.loads((tmp_path / "provenance.json").read_text())["sessions"]
    assert len(sessions) == 2 and sessions[1]["source_hash"] == session["source_hash"]
    assert json.loads((tmp_path / "summary.json").read_text())["finished"]


def test_the_source_hash_changes_with_the_code_and_not_with_comments_or_docstrings(tmp_path, monkeypatch):
    a, b = tmp_path / "a.py", tmp_path / "b.py"
    a.write_text("x = 1\n")
    b.write_text("y = 2\n")
    monkeypatch.setattr(provenance, "ROOT", tmp_path)
    before = provenance.source_hash([a, b])
    b.write_text('"""A docstring."""\n# a comment\ny  =  2\n')  # the same code
    assert provenance.source_hash([a, b]) == before
    b.write_text("y = 3\n")
    assert provenance.source_hash([a, b]) != before
    assert provenance.source_hash([a]) != provenance.source_hash([b])


def test_packages_of_a_virtual_environment_inside_the_repository_are_not_the_projects_code(monkeypatch):
    import types

    for name, path in (("fake_site_package", ROOT / ".venv/lib/python3.11/site-packages/fake.py"),
                       ("fake_test_helper", ROOT / "tests/fake.py")):
        module = types.ModuleType(name)
        module.__file__ = str(path)
        monkeypatch.setitem(sys.modules, name, module)
    files = [str(path.relative_to(ROOT)) for path in provenance.source_files()]
    assert "common/provenance.py" in files
    assert not [name for name in files if name.startswith((".venv", "tests"))]
