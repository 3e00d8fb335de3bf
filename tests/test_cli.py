"""Bad input ends a run with exit status 2 or 1 and one line on stderr, before any training."""
import os
import shutil
import subprocess
import sys

import pytest

import anpyc_wi_np
import anpyc_wo_np
import compare
from baselines import ewc
from common import cli, data
from conftest import ROOT

BAD_FLAGS = [
    (anpyc_wo_np, ["--lamb", "-1"], "--lamb must be >= 0 (got -1.0)"),
    (anpyc_wi_np, ["--prune-percent", "100"], "--prune-percent must be in [0, 100) (got 100)"),
    (anpyc_wi_np, ["--prune-percent", "-5"], "--prune-percent must be in [0, 100) (got -5)"),
    (anpyc_wo_np, ["--tasks", "0"], "--tasks must be >= 1 (got 0)"),
    (anpyc_wo_np, ["--benchmark", "split", "--tasks", "6"], "--tasks must be at most 5 for split MNIST (got 6)"),
    (anpyc_wo_np, ["--epochs", "-1"], "--epochs must be >= 0 (got -1)"),
    (anpyc_wo_np, ["--batch-size", "0"], "--batch-size must be >= 1 (got 0)"),
    (anpyc_wo_np, ["--model", "resnet"], "argument --model: invalid choice: 'resnet'"),
    (anpyc_wo_np, ["--benchmark", "cifar"], "argument --benchmark: invalid choice: 'cifar'"),
    (anpyc_wo_np, ["--hidden", "512,abc"], "argument --hidden: must be comma-separated positive integers"),
    (anpyc_wo_np, ["--hidden", "0"], "argument --hidden: must be comma-separated positive integers"),
    (anpyc_wo_np, ["--lr", "0"], "--lr must be > 0 (got 0.0)"),
    (anpyc_wo_np, ["--dropout", "1"], "--dropout must be in [0, 1) (got 1.0)"),
    (ewc, ["--gamma", "2"], "--gamma must be in [0, 1] (got 2.0)"),
    (anpyc_wo_np, ["--train-subset", "0"], "--train-subset must be >= 1 (got 0)"),
]


@pytest.mark.parametrize("script,argv,message", BAD_FLAGS)
def test_bad_flag_is_one_line(script, argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.parse(script.HPARAMS, script.FLAGS, "", argv)
    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and message in error


def run_script(*argv, env=None):
    result = subprocess.run(
        [sys.executable, *argv], cwd=ROOT, capture_output=True, text=True, env=os.environ | (env or {}), timeout=120
    )
    return result.returncode, result.stderr


@pytest.fixture
def corrupt_data(tmp_path):
    source = data.local_folder(data.DATASETS["mnist"])
    for name in data.IDX_FILES.values():
        shutil.copy(source / name, tmp_path / name)
    (tmp_path / "t10k-images-idx3-ubyte.gz").write_bytes(b"not a gzip file")
    return tmp_path


def test_scripts_report_user_errors_in_one_line(tmp_path, corrupt_data):
    cases = [
        (["anpyc_wo_np.py", "--lamb", "-1"], 2, "--lamb must be >= 0"),
        (["baselines/ewc.py", "--data-dir", str(tmp_path / "none")], 1, "does not exist"),
        (["anpyc_wi_np.py", "--data-dir", str(corrupt_data)], 1, "t10k-images-idx3-ubyte.gz is corrupt or truncated"),
        (["anpyc_wo_np.py", "--train-subset", "70000"], 1, "--train-subset must be in [1, 60000]"),
    ]
    for argv, code, message in cases:
        returncode, stderr = run_script(*argv, "--out", str(tmp_path / "out"))
        assert (returncode, stderr.count("\n")) == (code, 1), stderr
        assert message in stderr and "Traceback" not in stderr


def test_a_finished_run_is_not_overwritten(tmp_path):
    argv = ["baselines/finetuning.py", "--tasks", "1", "--epochs", "0", "--out", str(tmp_path)]
    assert run_script(*argv)[0] == 0
    returncode, stderr = run_script(*argv)
    assert returncode == 1 and "holds a finished run: pass --overwrite" in stderr
    assert run_script(*argv, "--overwrite")[0] == 0


PRESETS = [
    ("vdv2019-split", dict(benchmark="split", tasks=5, hidden=[400, 400], optimizer="adam", lr=0.001,
                           batch_size=128, iters=2000, epochs=None, scenario="task", dropout=0.0)),
    ("vdv2019-permuted", dict(benchmark="permuted", tasks=10, hidden=[1000, 1000], optimizer="adam", lr=0.0001,
                              batch_size=128, iters=5000, epochs=None, dropout=0.0)),
    ("hsu2018-split", dict(benchmark="split", tasks=5, hidden=[400, 400], optimizer="adam", lr=0.001,
                           batch_size=128, epochs=4, iters=None, scenario="task", dropout=0.0)),
    ("authors-sgd-frozen", dict(benchmark="permuted", tasks=10, hidden=[512, 256], init="authors", dropout=0.5,
                                dropout_layers=[2], optimizer="sgd", lr=0.001, lr_decay=1.0, batch_size=256,
                                iters=10000, epochs=None, validation=5000)),
]


@pytest.mark.parametrize("name,expected", PRESETS)
@pytest.mark.parametrize("script", [anpyc_wo_np, anpyc_wi_np, ewc])
def test_protocol_presets_resolve_to_their_documented_settings(name, expected, script):
    retraining = ["--retrain-epochs", "3"] if script is anpyc_wi_np and name == "authors-sgd-frozen" else []
    config = cli.parse(script.HPARAMS, script.FLAGS, "", ["--protocol", name, *retraining])
    assert {key: getattr(config, key) for key in expected} == expected
    assert config.lamb == script.HPARAMS["lamb"]  # method hyperparameters stay the script's


def test_explicit_flags_override_a_preset():
    config = cli.parse(ewc.HPARAMS, ewc.FLAGS, "", ["--lr", "0.01", "--protocol", "vdv2019-split", "--hidden", "100"])
    assert (config.lr, config.hidden, config.optimizer, config.iters) == (0.01, [100], "adam", 2000)
    authors = cli.parse(anpyc_wi_np.HPARAMS, anpyc_wi_np.FLAGS, "", ["--protocol", "authors"])
    assert (authors.hidden, authors.lr, authors.epochs, authors.iters) == ([64, 32], 0.02, 30, None)


@pytest.mark.parametrize("preset,retrain", [("authors", 30), ("authors-pruning", 30), ("hsu2018-split", 4),
                                            ("vdv2019-split", 5), ("vdv2019-permuted", 5)])
def test_presets_name_the_retraining_rounds_of_pruning(preset, retrain, capsys):
    config = cli.parse(anpyc_wi_np.HPARAMS, anpyc_wi_np.FLAGS, "", ["--protocol", preset])
    assert config.retrain_epochs == retrain
    with pytest.raises(SystemExit):  # a preset that names none: the user says how long
        cli.parse(anpyc_wi_np.HPARAMS, anpyc_wi_np.FLAGS, "", ["--protocol", "authors-sgd-frozen"])
    assert "--retrain-epochs: --protocol authors-sgd-frozen gives it no value here: give one" in capsys.readouterr().err


INERT = [  # a flag that the run's other settings leave without effect, and why
    ("anpyc_wi_np.py", ["--protocol", "vdv2019-split", "--epochs", "5"], "--epochs has no effect here: --iters 2000"),
    ("baselines/ewc.py", ["--epochs", "3", "--iters", "100"], "--epochs has no effect here: --iters 100"),
    ("anpyc_gan.py", ["--dropout", "0.3"], "--dropout has no effect here: --model gan has no dropout"),
    ("anpyc_gan.py", ["--scenario", "domain"], "--scenario has no effect here: the GAN is conditioned"),
    ("anpyc_vae.py", ["--dropout", "0.3"], "--dropout has no effect here: --model vae has no dropout"),
    ("anpyc_wo_np.py", ["--latent", "8"], "--latent has no effect here: --model mlp is a classifier"),
    ("baselines/si.py", ["--optimizer", "adam", "--penalty-step", "explicit"], "--penalty-step has no effect here"),
    ("anpyc_wi_np.py", ["--prune-percent", "0", "--retrain-epochs", "5"], "--retrain-epochs has no effect here"),
    ("baselines/lwf.py", ["--scenario", "domain", "--old-heads", "trained"], "--old-heads has no effect here"),
    ("baselines/finetuning.py", ["--protocol", "hsu2018-split", "--lr-decay-epochs", "2"], "--lr-decay-epochs has no"),
    ("baselines/finetuning.py", ["--dropout", "0", "--dropout-layers", "1"], "--dropout-layers has no effect here"),
    ("baselines/mas.py", ["--protocol", "vae"], "--model vae: "),
    ("baselines/sgd_frozen.py", ["--protocol", "gan"], "is defined for --model mlp or cnn"),
    ("baselines/replay.py", ["--protocol", "gan"], "--model gan: "),
    ("anpyc_gan.py", ["--protocol", "vae"], "is defined for --model gan or mergan or mergan-mlp"),
    ("baselines/generative_replay.py", ["--protocol", "mergan"], "--model mergan: "),  # MeRGAN's: mergan_jtr.py
    ("baselines/joint.py", ["--protocol", "mergan-mlp"], "--model mergan-mlp: "),  # their JT: --benchmark all
]


@pytest.mark.parametrize("script,argv,message", INERT)
def test_a_flag_without_effect_is_refused_in_one_line(script, argv, message, capsys):
    module = compare.script(next(m for m, path in compare.METHODS.items() if path == script))
    with pytest.raises(SystemExit) as exit_info:
        cli.parse(module.HPARAMS, getattr(module, "FLAGS", {}), "", argv)
    error = capsys.readouterr().err
    assert exit_info.value.code == 2 and error.count("\n") == 1 and message in error


def test_config_records_none_for_what_the_run_does_not_use():
    config = cli.parse(anpyc_wi_np.HPARAMS, anpyc_wi_np.FLAGS, "", ["--protocol", "vdv2019-split", "--prune-percent", "0"])
    assert (config.epochs, config.iters, config.lr_decay_epochs, config.latent, config.retrain_epochs) == (
        None, 2000, None, None, None)
    assert config.penalty_step is None  # Adam
    assert cli.inert(config, anpyc_wi_np.FLAGS) >= {"epochs", "lr_decay_epochs", "latent", "retrain_epochs", "penalty_step"}


@pytest.mark.parametrize("preset", ["vdv2019-split", "hsu2018-split", "vae", "authors-pruning"])
def test_no_preset_changes_what_defines_a_script(preset):
    import anpyc_vae
    from baselines import sgd_single_head

    assert cli.parse(sgd_single_head.HPARAMS, {}, "", ["--protocol", preset]).scenario == "domain"
    if preset != "vdv2019-permuted":
        assert cli.parse(anpyc_vae.HPARAMS, anpyc_vae.FLAGS, "", ["--protocol", preset]).model == "vae"


def test_a_flag_that_contradicts_a_scripts_definition_is_one_line(capsys):
    from baselines import sgd_single_head

    with pytest.raises(SystemExit) as exit_info:
        cli.parse(sgd_single_head.HPARAMS, {}, "", ["--scenario", "task"])
    error = capsys.readouterr().err
    assert exit_info.value.code == 2 and error.count("\n") == 1
    assert "--scenario task: " in error and "is defined by scenario domain" in error


def test_resume_with_other_flags_is_one_line(tmp_path):
    returncode, stderr = run_script("baselines/finetuning.py", "--resume", str(tmp_path), "--lr", "0.5", "--epochs=3")
    assert (returncode, stderr.count("\n")) == (2, 1)
    assert "--resume continues a run with the settings it started with: drop --lr, --epochs" in stderr


def test_overwrite_deletes_the_old_run_before_anything_is_written(tmp_path):
    argv = ["baselines/finetuning.py", "--tasks", "2", "--epochs", "1", "--train-subset", "100", "--batch-size", "10",
            "--out", str(tmp_path)]
    assert run_script(*argv)[0] == 0
    # the new run fails in its first task: nothing of the old one may be left beside it
    returncode, stderr = run_script(*argv, "--overwrite", "--lr", "1e9")
    assert returncode == 1 and "the loss became nan in task 1" in stderr
    left = sorted(p.name for p in tmp_path.iterdir())
    assert not [name for name in left if name.startswith(("summary", "accuracy", "checkpoint", "curves"))], left
    assert len([name for name in left if name.startswith("events.out")]) == 1


def test_a_folder_holding_an_unfinished_run_is_refused_without_resume_or_overwrite(tmp_path):
    argv = ["baselines/finetuning.py", "--tasks", "2", "--epochs", "1", "--train-subset", "100", "--batch-size", "10",
            "--out", str(tmp_path)]
    assert run_script(*argv, "--lr", "1e9")[0] == 1  # stopped in task 1: config.json, no result
    returncode, stderr = run_script(*argv)
    assert (returncode, stderr.count("\n")) == (1, 1)
    assert "holds an unfinished run (continue it with --resume DIR): pass --overwrite to replace it" in stderr


def test_negative_seed_is_one_line(capsys):
    with pytest.raises(SystemExit):
        cli.parse(anpyc_wo_np.HPARAMS, anpyc_wo_np.FLAGS, "", ["--seed", "-1"])
    assert "--seed must be >= 0 (got -1)" in capsys.readouterr().err


def test_extra_epochs_and_dropout_layers_are_checked(capsys):
    config = cli.parse(anpyc_wo_np.HPARAMS, anpyc_wo_np.FLAGS, "", ["--tasks", "3", "--extra-epochs", "5,0,2"])
    assert config.extra_epochs == [5, 0, 2]
    for argv, message in ((["--tasks", "3", "--extra-epochs", "5,0"], "--extra-epochs needs one number per task: 3 (got 2)"),
                          (["--dropout-layers", "3"], "--dropout-layers must number hidden layers 1 to 2 (got 3)")):
        with pytest.raises(SystemExit):
            cli.parse(anpyc_wo_np.HPARAMS, anpyc_wo_np.FLAGS, "", argv)
        assert message in capsys.readouterr().err


def test_extra_epochs_train_each_task_that_much_longer(tmp_path):
    from baselines import finetuning
    from common.method import Method
    from conftest import quick_run

    counted = []

    class Counting(Method):
        def after_task(self, trainer, task):
            counted.append(int(trainer.optimizer.iterations))

    quick_run(finetuning, Counting, tmp_path, "--epochs", "1", "--train-subset", "320", "--extra-epochs", "2,0,1")
    assert counted == [30, 40, 60]  # 10 batches an epoch: 1 + 2, 1 + 0, 1 + 1 epochs
