"""compare.py and plot_results.py on a small slice: two methods, two seeds, sweeps on validation data, Ray."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from types import SimpleNamespace

from common import report
from conftest import ROOT

SLICE = ["--tasks", "2", "--epochs", "2", "--train-subset", "500", "--hidden", "32", "--batch-size", "32"]


def compare(*argv):
    result = subprocess.run([sys.executable, "compare.py", *argv], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_compare_runs_resumes_and_plots(tmp_path):
    argv = ["--out", str(tmp_path), "--methods", "finetuning,anpyc_wo_np", "--seeds", "0,1", "--jobs", "2", "--", *SLICE]
    assert "0 already finished, 4 to go" in compare(*argv)
    runs = report.load_runs(tmp_path)
    assert sorted((r["method"], r["seed"]) for r in runs) == [
        ("anpyc_wo_np", 0), ("anpyc_wo_np", 1), ("finetuning", 0), ("finetuning", 1)]
    share = int(os.environ.get("TF_NUM_INTRAOP_THREADS") or max(1, len(os.sched_getaffinity(0)) // 2))
    assert {json.loads((r["path"] / "provenance.json").read_text())["sessions"][0]["threads"] for r in runs} == {share}
    table = (tmp_path / "table.md").read_text()
    assert "| anpyc_wo_np |" in table and "| finetuning |" in table and table.count("| 2 |") == 2
    assert "4 already finished, 0 to go" in compare(*argv)  # a second invocation only reports

    for png in ("average_accuracy.png", "first_task.png", "table.csv"):
        (tmp_path / png).unlink()
    result = subprocess.run([sys.executable, "plot_results.py", str(tmp_path), "--reference", "finetuning"], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    for name in ("average_accuracy.png", "first_task.png", "learning_accuracy.png", "heatmap_finetuning.png",
                 "costs.png", "table.csv", "table.md"):
        assert (tmp_path / name).stat().st_size > 0
    assert "vs finetuning: difference [95% CI]" in (tmp_path / "table.md").read_text()


def test_runs_that_share_the_cores_share_them_unless_the_environment_says(monkeypatch):
    from common import runner

    monkeypatch.setattr(runner, "cores", lambda: 8)
    for name in runner.THREADS:
        monkeypatch.delenv(name, raising=False)
    assert runner.shared_cores(1) == {}
    assert runner.shared_cores(2) == dict.fromkeys(runner.THREADS, "4")
    assert runner.shared_cores(16) == dict.fromkeys(runner.THREADS, "1")
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert runner.shared_cores(2) == {}


def test_the_table_tools_start_without_tensorflow():
    """plot_results.py and common/documents.py only read run folders: TensorFlow's import would triple
    plot_results.py's start (common/__init__.py)."""
    check = "import sys, plot_results, common.documents; print(sorted({'tensorflow', 'keras'} & set(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", check], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout == "[]\n", result.stdout + result.stderr


@pytest.mark.parametrize("argv,code,message", [
    (["--help"], 0, "usage: plot_results.py"),
    (["no/such/folder"], 2, "plot_results.py: error: no finished runs in no/such/folder"),
    ([], 2, "plot_results.py: error: the following arguments are required: folders"),
])
def test_plot_results_help_and_errors(argv, code, message, monkeypatch, capsys):
    import plot_results

    monkeypatch.setattr(sys, "argv", ["plot_results.py"])  # the program's name in its messages
    with pytest.raises(SystemExit) as stop:
        plot_results.main(argv)
    output = capsys.readouterr()
    assert stop.value.code == code and message in output.out + output.err
    if code:
        assert output.err.count("\n") == 1


def test_sweep_without_validation_is_refused(tmp_path):
    result = subprocess.run([sys.executable, "compare.py", "--sweep", "lamb=1,2", "--", *SLICE], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 2 and "--validation N" in result.stderr


@pytest.mark.parametrize("argv,message", [
    (["--methods", "nope"], "compare.py: error: unknown method nope"),
    (["--methods", "ewc", "--", "--lamb", "-1"], "compare.py: error: --lamb must be >= 0 (got -1.0)"),
    (["--methods", "finetuning", "--", "--epochs", "x"], "argument --epochs: invalid int value: 'x'"),
    (["--methods", "ewc", "--sweep", "ewc:c=1,2", "--", "--validation", "100"], "--sweep: ewc has no flag --c"),
    (["--methods", "ewc", "--sweep", "ewc:lamb=1,-2", "--", "--validation", "100"], "--lamb must be >= 0 (got -2.0)"),
    (["--sweep", "nope:lamb=1", "--", "--validation", "100"], "--sweep: unknown method 'nope'"),
    (["--sweep", "ewc:lamb=1,10", "--", "--validation", "0"], "--sweep needs --validation N (N > 0)"),
    (["--ray", "--gpus-per-job", "2"], "--gpus-per-job must be in [0, 1] (got 2.0)"),
    (["--ray", "auto", "--jobs", "4"], "--jobs has no effect with --ray ADDRESS"),
    (["--methods", "finetuning,ewc", "--contrasts", "ewc:nope"], "--contrasts: 'ewc:nope' is not A:B or A:*"),
])
def test_bad_input_stops_compare_before_any_run(argv, message, tmp_path, monkeypatch, capsys):
    # In this process (compare.py's plan reads every flag before any run); test_sweep_without_validation_is_refused
    # shows the same one line from a process of its own.
    import compare

    monkeypatch.setattr(sys, "argv", ["compare.py"])  # the program's name in its messages
    with pytest.raises(SystemExit) as stop:
        compare.plan(["--out", str(tmp_path), *argv])
    stderr = capsys.readouterr().err
    assert (stop.value.code, stderr.count("\n")) == (2, 1) and message in stderr
    assert not any(tmp_path.iterdir())


def test_ray_gives_the_same_folders_and_table_as_processes(tmp_path):
    pytest.importorskip("ray")  # optional (requirements-ray.txt); CI installs it, so there this runs
    compare("--out", str(tmp_path / "processes"), "--methods", "finetuning", "--seeds", "0", "--", *SLICE)
    # anpyc_wo_np's explicit step is refused in task 2: a failed run, with the checkpoint of task 1
    refused = "anpyc_wo_np=--penalty-step explicit --lr 1 --lamb 1e6"
    ray = ["--out", str(tmp_path / "ray"), "--ray", "--jobs", "2", "--method-flags", refused,
           "--methods", "finetuning,anpyc_wo_np", "--seeds", "0", "--", *SLICE]
    out = compare(*ray)
    local, remote = tmp_path / "processes" / "finetuning" / "seed0", tmp_path / "ray" / "finetuning" / "seed0"
    assert (remote / "accuracy.csv").read_text() == (local / "accuracy.csv").read_text()
    costs = {"seconds": 0, "task_seconds": 0, "resident_mb": 0}  # the same run's timing and memory vary
    summaries = [json.loads((f / "summary.json").read_text()) | costs for f in (local, remote)]
    assert summaries[0] == summaries[1]
    assert json.loads((remote / "config.json").read_text())["out"] == str(remote)
    assert not (remote / "checkpoint.npz").exists()  # a finished run comes back without it
    threads = int(os.environ.get("TF_NUM_INTRAOP_THREADS", 1))  # a Ray task's one CPU
    assert json.loads((remote / "provenance.json").read_text())["sessions"][0]["threads"] == threads
    assert (tmp_path / "ray" / "table.md").read_text() == (tmp_path / "processes" / "table.md").read_text()
    failed = tmp_path / "ray" / "anpyc_wo_np" / "seed0"
    assert "anpyc_wo_np seed 0: FAILED (anpyc_wo_np.py: error: the explicit penalty step diverges" in out
    assert (failed / "checkpoint.npz").exists()  # a failed run comes back with it, to be resumed
    again = compare(*ray)  # finished runs are skipped; the failed one is resumed on a worker from task 1
    assert "1 already finished, 1 to go" in again and "FAILED" in again
    assert "resuming after task 1 of 2" in (failed / "log.txt").read_text()


def test_ray_across_two_nodes_brings_folders_back_whole_and_survives_a_killed_worker(tmp_path):
    """Ray's own local cluster of two nodes of one CPU each: the two runs of a campaign go one to each
    node, into Ray's copy of the repository (not the driver's folder: its runs record no git commit).
    The worker of one run is killed after its first task: the campaign reports it and goes on. The watcher
    looks for that worker for as long as the campaign runs: on a loaded machine the first task can take
    minutes (a fixed deadline of 300 s once ran out before it)."""
    pytest.importorskip("ray")
    import signal
    import threading
    import time

    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    cluster.add_node(num_cpus=1)
    killed = []

    def kill_the_victims_worker():
        """When the run labelled victim has finished a task, SIGKILL the Ray worker that runs it."""
        while not campaign_over.is_set() and not killed:
            for proc in Path("/proc").iterdir():
                try:
                    argv = (proc / "cmdline").read_bytes().split(b"\0")
                except OSError:
                    continue
                if b"victim" in argv and b"--out" in argv:
                    log = Path(argv[argv.index(b"--out") + 1].decode()) / "log.txt"
                    if log.exists() and "after task 1" in log.read_text():
                        worker = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])  # its parent
                        os.kill(worker, signal.SIGKILL)
                        os.kill(int(proc.name), signal.SIGKILL)
                        killed.append(worker)
                        break
            time.sleep(0.2)

    campaign_over = threading.Event()
    watcher = threading.Thread(target=kill_the_victims_worker)
    watcher.start()
    try:
        out = compare("--out", str(tmp_path), "--ray", cluster.address, "--seeds", "0",
                      "--methods", "finetuning,victim=finetuning", "--method-flags", "victim=--epochs 400",
                      "--", *SLICE)
    finally:
        campaign_over.set()
        watcher.join()
        cluster.shutdown()
    assert killed, "the victim's worker was never found"
    assert "victim seed 0: FAILED (" in out and "finetuning seed 0: done" in out
    folder = tmp_path / "finetuning" / "seed0"
    names = {p.name for p in folder.iterdir()}
    assert {"config.json", "summary.json", "accuracy.csv", "log.txt", "provenance.json", "curves.png"} <= names
    assert "checkpoint.npz" not in names and json.loads((folder / "summary.json").read_text())["finished"]
    assert json.loads((folder / "provenance.json").read_text())["sessions"][0]["commit"] is None  # Ray's copy
    assert "| finetuning |" in (tmp_path / "table.md").read_text()


def test_a_campaign_names_its_contrasts_once_before_it_runs(tmp_path, capsys):
    import compare as campaign

    parser, plan = campaign.plan(["--out", str(tmp_path), "--methods", "anpyc_wi_np,finetuning,ewc"])
    assert plan.contrasts == "anpyc_wi_np:*"  # by default ANPyC against every other method
    campaign.name_contrasts(tmp_path, plan.contrasts, parser)
    assert report.read_contrasts(tmp_path) == "anpyc_wi_np:*"
    assert report.contrast_family("anpyc_wi_np:*", ["anpyc_wi_np", "finetuning", "ewc"]) == {
        frozenset(("anpyc_wi_np", "finetuning")), frozenset(("anpyc_wi_np", "ewc"))}
    campaign.name_contrasts(tmp_path, "anpyc_wi_np:*", parser)  # the same family: fine
    with pytest.raises(SystemExit):
        campaign.name_contrasts(tmp_path, "ewc:finetuning", parser)  # another one, after the runs: refused
    assert "a campaign names them once, before it runs" in capsys.readouterr().err


def test_ray_missing_is_one_line(tmp_path):
    (tmp_path / "ray.py").write_text("raise ImportError('No module named ray')\n")
    result = subprocess.run([sys.executable, "compare.py", "--out", str(tmp_path / "out"), "--ray", "--methods",
                             "finetuning", "--", *SLICE], cwd=ROOT, capture_output=True, text=True,
                            env=os.environ | {"PYTHONPATH": str(tmp_path)})
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert "compare.py: error: --ray needs Ray: pip install -r requirements-ray.txt" in result.stderr


def test_sweep_on_one_seed_then_the_chosen_value_on_the_others(tmp_path):
    out = compare("--out", str(tmp_path), "--methods", "anpyc_wo_np,finetuning,si", "--seeds", "0,1", "--sweep-seeds", "0", "--jobs", "2",
                  "--sweep", "lamb=0,1000", "--sweep", "si:c=0,10", "--", *SLICE, "--validation", "200")
    assert "anpyc_wo_np (lamb=" in out and "si (c=" in out and "| finetuning |" in out
    runs = report.load_runs(tmp_path)
    swept = sorted((r["path"].parent.name, r["seed"]) for r in runs if r["method"] == "anpyc_wo_np")
    scores = {r["path"].parent.name: r["summary"]["validation"]["final_avg_accuracy"] for r in runs
              if r["method"] == "anpyc_wo_np" and r["seed"] == 0}
    best = max(scores, key=scores.get)
    assert swept == sorted([("lamb=0", 0), ("lamb=1000", 0), (best, 1)])  # the other value never runs on seed 1
    assert sorted(r["seed"] for r in runs if r["method"] == "finetuning") == [0, 1]
    sweep = (tmp_path / "sweep.md").read_text()
    assert f"| anpyc_wo_np | {best} (chosen) |" in sweep
    assert sweep.count("| anpyc_wo_np |") == 2 and sweep.count("| si |") == 2 and sweep.count("(chosen)") == 2
    assert "finetuning" not in sweep  # no --lamb: run once, not swept
    assert f"| anpyc_wo_np ({best}) |" in (tmp_path / "table.md").read_text()
    table, sweep = (tmp_path / "table.md").read_text(), (tmp_path / "sweep.md").read_text()
    for name in ("table.md", "sweep.md"):
        (tmp_path / name).unlink()
    redraw = [sys.executable, "plot_results.py", str(tmp_path), "--reference", "finetuning"]
    assert subprocess.run(redraw, cwd=ROOT, capture_output=True).returncode == 0
    assert (tmp_path / "table.md").read_text() == table  # redrawn at the value chosen on seed 0, not pooled
    assert (tmp_path / "sweep.md").read_text() == sweep
    subprocess.run(redraw[:-1] + ["anpyc_wo_np"], cwd=ROOT, check=True, capture_output=True)
    assert f"| anpyc_wo_np ({best}) | " in (redrawn := (tmp_path / "table.md").read_text())
    assert "(reference)" in redrawn and "vs anpyc_wo_np: difference" in redrawn  # a swept method as the reference


def test_plot_results_refuses_a_row_that_pools_different_settings(tmp_path):
    for seed, tasks in ((0, "1"), (1, "2")):
        subprocess.run([sys.executable, "baselines/finetuning.py", "--tasks", tasks, "--epochs", "0", "--seed", str(seed),
                        "--out", str(tmp_path / f"seed{seed}")], cwd=ROOT, check=True, capture_output=True)
    result = subprocess.run([sys.executable, "plot_results.py", str(tmp_path)], cwd=ROOT, capture_output=True, text=True)
    assert (result.returncode, result.stderr.count("\n")) == (2, 1), result.stderr
    assert "finetuning: seeds 0 and 1 differ in tasks (1 and 2): a row pools runs that differ in their seed only" in result.stderr


def test_a_job_that_raises_is_reported_and_the_campaign_goes_on(tmp_path, capsys):
    import compare as campaign

    def runner(script, folder, seed, argv):
        if seed == 0:
            raise RuntimeError("worker died\nmore detail")
        folder.mkdir(parents=True)
        (folder / "log.txt").write_text("after task 1: fine\n")
        return 0, False

    args = SimpleNamespace(out=tmp_path, jobs=1, ray=None)
    jobs = [("finetuning", "finetuning", seed, tmp_path / f"seed{seed}", []) for seed in (0, 1)]
    campaign.execute(jobs, args, [0, 1], parser=None, runner=runner)
    out = capsys.readouterr().out
    assert "[1/2] finetuning seed 0: FAILED (RuntimeError: worker died) in" in out
    assert "[2/2] finetuning seed 1: done in" in out


def test_ray_results_are_written_whole_and_the_checkpoint_kept_until_then(tmp_path, monkeypatch):
    from common import runner as runners

    folder = tmp_path / "seed0"
    folder.mkdir()
    (folder / "checkpoint.npz").write_bytes(b"task 1")
    (folder / "summary.json").write_text('{"tasks_done": 1}')
    returned = {"summary.json": b'{"tasks_done": 2, "finished": true}', "accuracy.csv": b"after_task,task_1\n",
                "config.json": b'{"out": "/scratch/run", "seed": 0}'}
    ray = SimpleNamespace(get=lambda result: result)
    ray_runner = object.__new__(runners.RayRunner)
    ray_runner.ray, ray_runner.task = ray, SimpleNamespace(remote=lambda *args: (0, True, dict(returned)))
    real, calls = runners.write_atomic, []

    def full_disk_at_the_second_file(path, content):
        calls.append(path.name)
        if len(calls) == 2:
            raise OSError("No space left on device")
        real(path, content)

    monkeypatch.setattr(runners, "write_atomic", full_disk_at_the_second_file)
    with pytest.raises(OSError):
        ray_runner("baselines/finetuning.py", folder, 0, [])
    assert (folder / "checkpoint.npz").read_bytes() == b"task 1"  # the interrupted run can still be resumed
    monkeypatch.setattr(runners, "write_atomic", real)
    assert ray_runner("baselines/finetuning.py", folder, 0, []) == (0, True)
    assert not (folder / "checkpoint.npz").exists()  # spent, once the finished run's files are in place
    assert json.loads((folder / "summary.json").read_text())["finished"]
    assert json.loads((folder / "config.json").read_text())["out"] == str(folder)


def test_a_labelled_variant_runs_beside_its_method(tmp_path):
    out = compare("--out", str(tmp_path), "--methods", "finetuning,longer=finetuning", "--method-flags",
                  "longer=--extra-epochs 2,2", "--", *SLICE)
    assert "| finetuning |" in out and "| longer |" in out
    config = json.loads((tmp_path / "longer" / "seed0" / "config.json").read_text())
    assert (config["label"], config["script"], config["extra_epochs"]) == ("longer", "finetuning.py", [2, 2])
