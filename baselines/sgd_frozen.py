"""SGD frozen: the trunk learns the first task and is then frozen; later tasks train only their heads.
It cannot forget (old heads and the trunk never change) but cannot learn new features either."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # so that `python baselines/sgd_frozen.py` finds common/

from common import cli, protocols  # noqa: E402
from common.method import Method  # noqa: E402

HPARAMS = protocols.AUTHORS | dict(networks=cli.CLASSIFIERS)  # a classifier's trunk and its heads


class Frozen(Method):
    def trainable_variables(self, model, task):
        return super().trainable_variables(model, task) if task == 0 else model.head(task).trainable_variables


if __name__ == "__main__":
    cli.main(Frozen, HPARAMS, {}, __doc__)
