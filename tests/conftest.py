"""Shared test set-up: import paths, a quick protocol on a slice of real MNIST, cached runs.

MNIST and Fashion-MNIST come from $ANPYC_DATA_DIR (CI points it at ../shared, which holds mnist/ and
fashion-mnist/) or the loader's other sources.
"""
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from common import cli  # noqa: E402
from common.run import run  # noqa: E402

# 3 permuted tasks of 2,000 images, 20 epochs: fine-tuning visibly forgets task 1 (about 7 points here).
# The VAE and the GAN have no dropout (the flag is refused there): QUICK_GENERATIVE leaves it out.
QUICK_GENERATIVE = ["--tasks", "3", "--train-subset", "2000", "--epochs", "20", "--batch-size", "32", "--hidden", "100,100"]
QUICK = [*QUICK_GENERATIVE, "--dropout", "0"]


def configure(script, *argv, out):
    """The settings `script` (a module with HPARAMS and FLAGS) would get from the command line, after QUICK."""
    given = dict(zip(argv, argv[1:]))
    chosen = {script.HPARAMS.get("model"), given.get("--model"), given.get("--protocol")}
    generative = chosen & set(cli.GENERATIVE)
    quick = QUICK_GENERATIVE if generative else QUICK
    return cli.parse(script.HPARAMS, getattr(script, "FLAGS", {}), "", [*quick, *argv, "--out", str(out)])


def quick_run(script, method_cls, tmp_path, *argv):
    return run(method_cls, configure(script, *argv, out=tmp_path), log=lambda *_: None)["accuracy"]


@pytest.fixture(scope="session", autouse=True)
def quick_mergan_judge():
    """MeRGAN's judge of samples (common/mergan.py) trains one epoch in the tests, not five: enough to
    tell the digits of short runs apart. Trained once, it serves every run of the session."""
    from common import mergan

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(mergan, "JUDGE_EPOCHS", 1)
        mergan.mergan_judge.cache_clear()
        yield
    mergan.mergan_judge.cache_clear()


@pytest.fixture(scope="session")
def finetuning_matrix(tmp_path_factory):
    from baselines import finetuning
    from common.method import Method

    return quick_run(finetuning, Method, tmp_path_factory.mktemp("finetuning"))


def cut_and_resumed(script, method_cls, folder, *argv, at_task: int) -> dict:
    """Run `method_cls` in `folder` until task `at_task` (from 0) begins, stop it there as a kill
    would, then resume it with `--resume`; returns the resumed run's result matrices."""

    class Cut(method_cls):
        def before_task(self, trainer, task):
            if task == at_task:
                raise KeyboardInterrupt
            super().before_task(trainer, task)

    with pytest.raises(KeyboardInterrupt):
        run(Cut, configure(script, *argv, out=folder), log=lambda *_: None)
    resumed = cli.parse(script.HPARAMS, getattr(script, "FLAGS", {}), "", ["--resume", str(folder)])
    return run(method_cls, resumed, log=lambda *_: None)
