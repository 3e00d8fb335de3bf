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
