"""SGD with a single head shared by all tasks (domain-incremental): fine-tuning without task identity."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # so that `python baselines/sgd_single_head.py` finds common/

from common import cli, protocols  # noqa: E402
from common.method import Method  # noqa: E402

HPARAMS = protocols.AUTHORS | dict(scenario="domain", defines=("scenario",))  # no preset makes it multi-head

if __name__ == "__main__":
    cli.main(Method, HPARAMS, {}, __doc__)
