"""Tables and figures of folders of runs (compare.py folders, or any folder holding run folders):

    python plot_results.py results/permuted-10 results/split-5 --reference finetuning

writes into each folder table.md and table.csv (per method: final average accuracy, mean ± sample sd
over seeds and the 95% CI of the mean, BWT, forgetting, and the paired difference to the reference
method with its 95% CI and paired t-test p-value), verdicts.md (every pair of methods: the paired
difference, its 95% CI, p, Holm's p over all pairs, and "above", "below" or "tie"), average_accuracy.png, first_task.png,
learning_accuracy.png, heatmap_<method>.png, where every run recorded them, costs.png (wall time
per task and resident memory after each task), and free_capacity.png for the methods that free weights
for later tasks (PackNet, ANPyC with pruning on an MLP). A method swept with compare.py --sweep is shown at the
value with the best validation score, as compare.py chose it (sweep.md lists every value).
"""
import argparse
from pathlib import Path

from common import figures, report
from common.errors import Parser, UserError


def main(argv=None):
    parser = Parser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folders", nargs="+", type=Path, help="folders of finished runs")
    parser.add_argument("--reference", default="finetuning",
                        help="the method every other is compared with, paired by seed (if it ran)")
    args = parser.parse_args(argv)
    for folder in args.folders:
        runs = report.load_runs(folder) if folder.is_dir() else []
        if not runs:
            parser.error(f"no finished runs in {folder}")
    for folder in args.folders:
        try:
            runs = report.choose_by_validation(report.load_runs(folder), folder)
            table = report.write_tables(report.table_rows(runs, reference=args.reference), folder, args.reference)
        except UserError as error:
            parser.error(f"{folder}: {error}")
        print(f"{folder}:\n{table}\n{report.write_verdicts(runs, folder)}")
        for path in figures.plot_comparison(runs, folder):
            print("wrote", path)


if __name__ == "__main__":
    main()
