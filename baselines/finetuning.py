"""Fine-tuning: plain SGD on each task in turn, one head per task. The lower bound that forgets."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # so that `python baselines/finetuning.py` finds common/

from common import cli, protocols  # noqa: E402
from common.method import Method  # noqa: E402

HPARAMS = protocols.AUTHORS

if __name__ == "__main__":
    cli.main(Method, HPARAMS, {}, __doc__)
