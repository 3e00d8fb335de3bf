"""Faults: a killed run resumes to the same numbers, a NaN stops the run cleanly, writes never leave
half a file."""
import errno
import gc
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow as tf

from baselines import ewc, finetuning
from common.errors import UserError
from common.method import Method
from common.results import write_atomic
from common.run import run
from common.training import RunError
from conftest import QUICK, ROOT, configure, quick_run


def start(*argv, log):
    env = os.environ | {"PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, *argv], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env)


def test_killed_run_resumes_to_the_same_matrix(tmp_path):
    # EWC with dropout: the model, optimiser, Fisher, sampling seed and dropout seed must all come back.
    argv = ["baselines/ewc.py", *QUICK, "--dropout", "0.5", "--epochs", "40"]
    with open(tmp_path / "whole.log", "w") as log:
        assert start(*argv, "--out", str(tmp_path / "whole"), log=log).wait(timeout=300) == 0
    log_path = tmp_path / "killed.log"
    with open(log_path, "w") as log:
        process = start(*argv, "--out", str(tmp_path / "killed"), log=log)
        deadline = time.time() + 300
        while "task 2/3  train epoch 10/" not in log_path.read_text():
            assert process.poll() is None and time.time() < deadline, log_path.read_text()
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)
        process.wait()
    summary = json.loads((tmp_path / "killed" / "summary.json").read_text())
    assert summary["tasks_done"] == 1 and not summary["finished"]
    with open(tmp_path / "resumed.log", "w") as log:
        assert start("baselines/ewc.py", "--resume", str(tmp_path / "killed"), log=log).wait(timeout=300) == 0
    assert "resuming after task 1 of 3" in (tmp_path / "resumed.log").read_text()
    whole = (tmp_path / "whole" / "accuracy.csv").read_text()
    assert (tmp_path / "killed" / "accuracy.csv").read_text() == whole
    assert whole.count("\n") == 4
    summary = json.loads((tmp_path / "killed" / "summary.json").read_text())
    assert len(summary["task_seconds"]) == 3 and all(s > 0 for s in summary["task_seconds"])  # carried over the kill
    assert len(summary["resident_mb"]) == 3 and all(100 < mb < 10_000 for mb in summary["resident_mb"])


def test_nan_loss_stops_the_run_and_keeps_finished_tasks(tmp_path):
    class Diverging(Method):
        def penalty(self, model, task, batch):
            return tf.constant(float("nan")) if task == 1 else 0.0

    with pytest.raises(RunError, match=r"the loss became nan in task 2, train epoch 1"):
        quick_run(finetuning, Diverging, tmp_path)
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["tasks_done"] == 1 and not summary["finished"]
    assert (tmp_path / "accuracy.csv").read_text().count("\n") == 2


def test_absurd_learning_rate_is_reported_in_one_line(tmp_path):
    result = subprocess.run([sys.executable, "baselines/finetuning.py", *QUICK, "--lr", "1e9", "--out", str(tmp_path)],
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 1
    assert "the loss became nan in task 1, train epoch 1 (lr 1e+09): try a smaller --lr" in result.stderr
    assert result.stderr.count("\n") == 1


def test_failed_write_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "summary.json"
    write_atomic(path, "old")

    def full_disk(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(UserError, match=f"cannot write {path}: No space left on device"):
        write_atomic(path, "new")
    assert path.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["summary.json"]


def test_unwritable_output_folder_is_one_line(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(UserError, match="cannot create"):
        quick_run(ewc, ewc.EWC, blocker / "run")


def test_tensorboard_reads_the_event_files_of_a_run(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    matrix = quick_run(finetuning, Method, tmp_path, "--epochs", "2", "--train-subset", "300")
    events = EventAccumulator(str(tmp_path))
    events.Reload()
    tags = events.Tags()["tensors"]
    assert {"train/loss", "train/lr", "test_accuracy/task_1", "test_accuracy/average"} <= set(tags)
    average = [tf.make_ndarray(e.tensor_proto).item() for e in events.Tensors("test_accuracy/average")]
    assert average == pytest.approx([sum(row) / len(row) for row in matrix], abs=1e-4)
    assert [e.step for e in events.Tensors("test_accuracy/task_3")] == [3]
    assert len(events.Tensors("train/loss")) == 3 * 2  # every epoch of the 3 tasks


def test_memory_stays_flat_from_task_to_task(tmp_path):
    # Each task holds its permuted training set (20,000 x 784 float32 here, 63 MB) only while it trains:
    # a graph that kept it (the bug this guards against) added 63 MB per task.
    argv = ["--protocol", "authors-pruning", "--tasks", "5", "--epochs", "1", "--train-subset", "20000"]
    result = subprocess.run([sys.executable, "baselines/finetuning.py", *argv, "--out", str(tmp_path)],
                            cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    memory = json.loads((tmp_path / "summary.json").read_text())["resident_mb"]
    assert memory[4] - memory[1] < 63, memory


def test_the_graphs_a_run_keeps_do_not_grow_with_its_tasks(tmp_path):
    # Two causes made them grow, about 1.9 and 1.8 MB a task in a fine-tuning run (docs/speed.md): Keras'
    # optimisers put a custom gradient in TensorFlow's global registry for every graph that calls `apply`,
    # which kept each task's epoch graph for good (common/training.py, OneReplica); and evaluation traced
    # a graph per task.
    def graphs():
        gc.collect()
        return sum(type(o).__name__ == "FuncGraph" for o in gc.get_objects())

    kept = []
    config = configure(finetuning, "--train-subset", "256", "--epochs", "1", "--tasks", "4", out=tmp_path)
    run(Method, config, log=lambda line, **_: kept.append(graphs()) if line.startswith("after task") else None)
    assert len(kept) == 4 and kept[1] == kept[2] == kept[3], kept


def test_importance_distribution_into_an_unwritable_folder_is_one_line(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    result = subprocess.run([sys.executable, "cal_importance_distribution.py", "--seeds", "1", "--epochs", "0",
                             "--train-subset", "100", "--out", str(blocker / "out")], cwd=ROOT, capture_output=True, text=True)
    assert (result.returncode, result.stderr.count("\n")) == (1, 1), result.stderr
    assert "cannot create" in result.stderr and "Traceback" not in result.stderr


def test_a_checkpoint_of_other_shapes_is_refused_in_one_line(tmp_path):
    argv = ["baselines/finetuning.py", *QUICK, "--tasks", "2", "--epochs", "1", "--train-subset", "100", "--out", str(tmp_path)]
    with open(tmp_path.parent / "first.log", "w") as log:
        assert start(*argv, log=log).wait(timeout=300) == 0
    config = json.loads((tmp_path / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps(config | {"hidden": [100, 50]}))  # same names, other shapes
    summary = json.loads((tmp_path / "summary.json").read_text())
    (tmp_path / "summary.json").write_text(json.dumps(summary | {"finished": False}))
    result = subprocess.run([sys.executable, "baselines/finetuning.py", "--resume", str(tmp_path)], cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    assert (result.returncode, result.stderr.count("\n")) == (1, 1), result.stderr
    assert "model/dense_1/kernel is float32 (100, 100) there and float32 (100, 50) in this run" in result.stderr


def test_checkpoints_restore_each_variable_by_its_name(tmp_path, monkeypatch):
    from common import checkpoint, data
    from common.run import network
    from conftest import configure
    from common.training import Trainer

    config = configure(ewc, "--tasks", "2", "--train-subset", "100", out=tmp_path)
    tasks = data.make_benchmark("permuted", 2, 0, subset=100)
    trainers = [Trainer(network(config, tasks), tasks, ewc.EWC(config), config, log=lambda *_: None) for _ in range(2)]
    saved = {name: v.numpy().copy() for name, v in checkpoint._variables(trainers[0]).items()}
    checkpoint.save(tmp_path, trainers[0], {"matrices": {}})
    # the second trainer lists its variables in the opposite order: by position, same-shaped ones would swap
    original = checkpoint._variables
    monkeypatch.setattr(checkpoint, "_variables", lambda trainer: dict(reversed(list(original(trainer).items()))))
    checkpoint.load(tmp_path, trainers[1])
    monkeypatch.undo()
    restored = checkpoint._variables(trainers[1])
    assert "model/head_0/kernel" in restored and "optimizer/iteration" in restored and "method/omega/dense_0/kernel" in restored
    for name, value in saved.items():
        np.testing.assert_array_equal(restored[name].numpy(), value, err_msg=name)


def test_a_run_is_marked_finished_only_after_its_last_checkpoint(tmp_path, monkeypatch):
    from common import checkpoint

    def full_disk(folder, trainer, progress):
        if len(progress["matrices"]["accuracy"]) == 3:
            raise UserError("cannot write checkpoint.npz: No space left on device")
        real(folder, trainer, progress)

    real = checkpoint.save
    monkeypatch.setattr(checkpoint, "save", full_disk)
    with pytest.raises(UserError):
        quick_run(finetuning, Method, tmp_path, "--epochs", "1", "--train-subset", "100")
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["tasks_done"] == 2 and not summary["finished"]


def open_files() -> list[str]:
    """The paths this process holds open (Linux)."""
    paths = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            paths.append(os.readlink(f"/proc/self/fd/{fd}"))
        except OSError:  # the listing's own descriptor, closed by now
            pass
    return paths


def test_a_failed_run_closes_its_tensorboard_file_with_every_scalar(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    class FailsInTask2(Method):
        def before_epoch(self, trainer, task, lr):
            if task == 1 and trainer._epochs_done == 3:
                raise RunError("stop")

    with pytest.raises(RunError) as caught:  # its traceback holds the run's frames, as a notebook's would
        quick_run(finetuning, FailsInTask2, tmp_path, "--epochs", "4", "--train-subset", "100")
    assert not [path for path in open_files() if str(tmp_path) in path], caught  # the writer closed its event file
    events = EventAccumulator(str(tmp_path), size_guidance={"tensors": 0})
    events.Reload()
    assert len(events.Tensors("train/loss")) == 4 + 2  # task 1's epochs, and task 2's two before it stopped
