"""Tables and figures of a folder of runs (a compare.py folder, or any folder holding run folders):

    python plot_results.py results/permuted-10

writes there table.md, table.csv (method, final average accuracy mean ± std over seeds, BWT,
forgetting, number of seeds), average_accuracy.png, first_task.png and heatmap_<method>.png.
"""
import sys
from pathlib import Path

from common import report


def main():
    if len(sys.argv) != 2 or sys.argv[1].startswith("-"):
        sys.exit(__doc__)
    folder = Path(sys.argv[1])
    runs = report.load_runs(folder) if folder.is_dir() else []
    if not runs:
        sys.exit(f"plot_results.py: error: no finished runs in {folder}")
    print(report.write_tables(report.table_rows(runs), folder))
    for path in report.plot_comparison(runs, folder):
        print("wrote", path)


if __name__ == "__main__":
    main()
