"""Continual-learning metrics on hand-made accuracy matrices."""
import pytest

from common import metrics

# After task 1: 90; after task 2: 80 on task 1, 95 on task 2; after task 3: 70, 85, 99.
MATRIX = [[90.0], [80.0, 95.0], [70.0, 85.0, 99.0]]


def test_average_and_learning_accuracy():
    assert metrics.average_accuracy(MATRIX) == pytest.approx([90.0, 87.5, 84.6666667])
    assert metrics.learning_accuracy(MATRIX) == [90.0, 95.0, 99.0]


def test_backward_transfer():
    # ((70 - 90) + (85 - 95)) / 2
    assert metrics.backward_transfer(MATRIX) == pytest.approx(-15.0)
    assert metrics.backward_transfer([[50.0], [60.0, 40.0]]) == pytest.approx(10.0)  # positive transfer
    assert metrics.backward_transfer([[90.0]]) is None


def test_forgetting_is_the_drop_from_the_best_accuracy():
    # task 1: best 90 -> 70 (20); task 2: best 95 -> 85 (10)
    assert metrics.forgetting(MATRIX) == pytest.approx(15.0)
    # task 1 improves to 95 after task 2, then drops to 91: forgetting 4, while BWT says +1
    rising = [[90.0], [95.0, 80.0], [91.0, 80.0, 70.0]]
    assert metrics.forgetting(rising) == pytest.approx((4.0 + 0.0) / 2)
    assert metrics.backward_transfer(rising) == pytest.approx((1.0 + 0.0) / 2)


def test_summary_has_every_metric():
    summary = metrics.summarise(MATRIX)
    assert summary["final_avg_accuracy"] == pytest.approx(84.6666667)
    assert set(summary) == {"avg_accuracy", "final_avg_accuracy", "bwt", "forgetting", "learning_accuracy"}


def run(method, seed, final):
    return {"method": method, "seed": seed, "summary": {"final_avg_accuracy": final, "bwt": -1.0, "forgetting": 1.0}}


def test_table_statistics_match_hand_computation():
    from common import report

    # 1, 2, 3, 6: mean 3, sample sd sqrt(14/3); 95% CI half-width t(0.975, 3) = 3.182446 times sd / 2
    assert report.mean_std([1.0, 2.0, 3.0, 6.0]) == pytest.approx((3.0, (14 / 3) ** 0.5))
    assert report.ci95([1.0, 2.0, 3.0, 6.0]) == pytest.approx(3.182446 * (14 / 3) ** 0.5 / 2, rel=1e-6)
    # Paired by seed: differences 1, 3, 1 (seed 3 has no reference and is left out): mean 5/3, sd
    # sqrt(4/3), t = 2.5 on 2 degrees of freedom, two-sided p = 1 - 2.5 / sqrt(8.25) = 0.12961.
    runs = [run("a", 0, 91.0), run("a", 1, 93.0), run("a", 2, 92.0), run("a", 3, 99.0),
            run("ref", 0, 90.0), run("ref", 1, 90.0), run("ref", 2, 91.0)]
    rows = {r["method"]: r for r in report.table_rows(runs, reference="ref")}
    assert rows["a"]["diff"] == pytest.approx(5 / 3) and rows["a"]["pairs"] == 3
    assert rows["a"]["diff_ci95"] == pytest.approx(4.302653 * (4 / 3) ** 0.5 / 3 ** 0.5, rel=1e-6)
    assert rows["a"]["p_value"] == pytest.approx(1 - 2.5 / 8.25**0.5, rel=1e-5)
    assert rows["ref"]["reference"] and "diff" not in rows["ref"] and rows["a"]["final_avg_accuracy_sd"] == pytest.approx((38.75 / 3) ** 0.5)


def test_vae_tables_pair_and_rank_by_negative_elbo():
    from common import report

    def vae(method, seed, nll, accuracy):
        summary = {"final_avg_accuracy": accuracy, "bwt": 0.0, "forgetting": 0.0,
                   "nll": {"final_avg": nll, "bwt": 0.0, "forgetting": 0.0}}
        return {"method": method, "seed": seed, "summary": summary}

    # lower ELBO first, though its sample accuracy is lower; differences -10, -12: mean -11
    runs = [vae("a", 0, 120.0, 90.0), vae("a", 1, 118.0, 91.0), vae("ref", 0, 130.0, 95.0), vae("ref", 1, 130.0, 96.0)]
    rows = report.table_rows(runs, reference="ref")
    assert [r["method"] for r in rows] == ["a", "ref"] and rows[0]["diff"] == pytest.approx(-11.0)
