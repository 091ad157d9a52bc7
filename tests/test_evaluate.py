"""Hungarian-matched accuracy of discovered categories."""
import numpy as np
import pytest

from tinygan.evaluate import cluster_accuracy, confusion, confusion_figure


def test_permuted_labels_score_one(rng):
    labels = rng.integers(0, 10, 500)
    perm = rng.permutation(10)
    result = cluster_accuracy(perm[labels], labels, 10)
    assert result["accuracy"] == 1.0
    assert [result["mapping"][perm[d]] for d in range(10)] == list(range(10))


def test_known_errors():
    labels = np.array([0, 0, 0, 1, 1, 1, 2, 2, 2, 2])
    pred = np.array([2, 2, 1, 0, 0, 0, 1, 1, 1, 2])   # cat2->0 (2 right), cat0->1 (3), cat1->2 (3)
    result = cluster_accuracy(pred, labels, 3, 3)
    assert result["accuracy"] == pytest.approx(0.8)
    assert result["mapping"] == [1, 2, 0]


def test_merged_digits_cost_accuracy():
    labels = np.repeat(np.arange(4), 10)
    pred = np.where(labels == 3, 2, labels)  # digits 2 and 3 merged into one category
    result = cluster_accuracy(pred, labels, 4, 4)
    assert result["accuracy"] == pytest.approx(0.75)
    assert result["majority_accuracy"] == pytest.approx(0.75)


def test_more_categories_than_classes():
    labels = np.repeat(np.arange(2), 6)
    pred = np.array([0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3])  # each class split over two categories
    result = cluster_accuracy(pred, labels, 4, 2)
    assert result["accuracy"] == pytest.approx(0.5)         # one-to-one: only two categories count
    assert result["majority_accuracy"] == 1.0
    assert sorted(result["mapping"]).count(-1) == 2


def test_confusion_counts_and_figure(tmp_path):
    c = confusion([0, 1, 1], [1, 1, 0], 2, 2)
    assert c.tolist() == [[0, 1], [1, 1]]
    confusion_figure(cluster_accuracy(np.array([0, 1, 1]), np.array([1, 1, 0]), 2, 2), tmp_path / "c.png")
    assert (tmp_path / "c.png").stat().st_size > 1000


def test_bad_input():
    with pytest.raises(ValueError, match="same length"):
        cluster_accuracy(np.zeros(3, int), np.zeros(4, int), 2)
