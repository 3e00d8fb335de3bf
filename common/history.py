"""Provenance, inferred from git history, for the runs made before runs recorded their own.

    python -m common.history results/readme

For every run folder (config.json and summary.json) without provenance.json: the commit that added its
summary.json, and the source hash of the files its script would have loaded at that commit (the
script and, transitively, every module of this repository it imports, read from that commit's tree).
The entry is marked "inferred": the run may have been made from an earlier commit than the one that
added it, and the files loaded are found by reading imports, not by running. Two runs whose inferred
hashes differ were added under different code; a row that pools them is refused (common/report.py).
"""
import ast
import json
import subprocess
import sys
from pathlib import Path

from common.errors import UserError
from common.provenance import FILE, ROOT, git, hash_contents
from common.results import write_json


def show(commit: str, path: str) -> bytes | None:
    """The bytes of the file at `path` in `commit`'s tree, or None."""
    result = subprocess.run(["git", "-C", str(ROOT), "show", f"{commit}:{path}"], capture_output=True)
    return result.stdout if result.returncode == 0 else None


def module_paths(name: str) -> list[str]:
    """Where module `name` (dotted) may live in the repository, with the packages on its way."""
    parts = name.split(".")
    packages = ["/".join(parts[:i]) + "/__init__.py" for i in range(1, len(parts))]
    return packages + ["/".join(parts) + ".py", "/".join(parts) + "/__init__.py"]


def imported(source: bytes) -> set[str]:
    """Every module name that `source` imports (at any depth: function-level imports included), with
    `from X import y` also giving X.y, which is a module when X is a package."""
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
    return names


def closure(script: str, commit: str) -> dict[str, bytes]:
    """{path: content} of `script` and every repository module it imports, transitively, at `commit`."""
    files, pending = {}, [script]
    while pending:
        path = pending.pop()
        if path in files:
            continue
        content = show(commit, path)
        if content is None:
            continue
        files[path] = content
        for name in imported(content):
            pending += [p for p in module_paths(name) if p not in files]
    return files


def script_path(script: str, commit: str) -> str:
    for path in (script, f"baselines/{script}"):
        if show(commit, path) is not None:
            return path
    raise UserError(f"no script {script} in commit {commit}")


def infer(folder: Path) -> dict:
    """The inferred session of the run in `folder` (not written)."""
    relative = (folder / "summary.json").resolve().relative_to(ROOT)
    added = git("log", "--diff-filter=A", "--format=%H", "--", str(relative))
    if not added:
        raise UserError(f"{folder}: its summary.json was never committed, so git cannot tell its code")
    commit = added.splitlines()[-1]
    script = json.loads((folder / "config.json").read_text())["script"]
    files = closure(script_path(script, commit), commit)
    return {"inferred": True, "commit": commit, "uncommitted_changes": None,
            "source_hash": hash_contents(sorted(files.items())), "source_files": sorted(files),
            "python": None, "tensorflow": None, "keras": None, "numpy": None, "device": None, "started": None}


def main(argv: list[str]) -> None:
    for top in argv or ["results"]:
        for summary in sorted(Path(top).rglob("summary.json")):
            folder = summary.parent
            if (folder / "config.json").exists() and not (folder / FILE).exists():
                session = infer(folder)
                write_json(folder / FILE, {"sessions": [session]})
                print(f"{folder}: added in {session['commit'][:10]}, source {session['source_hash'][:12]} (inferred)")


if __name__ == "__main__":
    try:
        main(sys.argv[1:])
    except UserError as error:
        sys.exit(f"history: error: {error}")
