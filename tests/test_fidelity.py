"""The Fréchet distance (known answers, an independent matrix square root) and the MNIST
digit classifier behind it: trained, cached, reloaded, and used by the scripts."""
import json
import os
from pathlib import Path

import numpy as np
import pytest

from tinygan import evaluate
from tinygan.classifier import fit_digits
from tinygan.evaluate import digit_classifier, frechet_distance, gaussian_stats

SHARED_MNIST = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"


def test_a_set_against_itself_is_zero(rng):
    f = rng.standard_normal((500, 8)) @ rng.standard_normal((8, 8))
    assert abs(frechet_distance(f, f)) < 1e-9 * np.trace(gaussian_stats(f)[1])


def test_diagonal_gaussians_known_answer():
    # commuting covariances: d^2 = |mu_a - mu_b|^2 + sum_i (sqrt(a_i) - sqrt(b_i))^2
    a, b = np.array([1.0, 4.0, 9.0]), np.array([4.0, 1.0, 9.0])
    mu_a, mu_b = np.zeros(3), np.array([1.0, 2.0, 0.0])
    got = frechet_distance((mu_a, np.diag(a)), (mu_b, np.diag(b)))
    assert got == pytest.approx(5.0 + 1.0 + 1.0 + 0.0, rel=1e-12)


def test_matches_scipy_sqrtm_on_general_covariances(rng):
    from scipy.linalg import sqrtm
    A, B = rng.standard_normal((6, 6)), rng.standard_normal((6, 6))
    ca, cb = A @ A.T, B @ B.T + 0.1 * np.eye(6)          # do not commute
    mu_a, mu_b = rng.standard_normal(6), rng.standard_normal(6)
    want = (mu_a - mu_b) @ (mu_a - mu_b) + np.trace(ca) + np.trace(cb) - 2 * np.trace(sqrtm(ca @ cb)).real
    assert frechet_distance((mu_a, ca), (mu_b, cb)) == pytest.approx(want, rel=1e-9)


def test_a_shifted_set_is_farther_and_grows_with_the_shift(rng):
    f = rng.standard_normal((2000, 5))
    g = rng.standard_normal((2000, 5))
    d = [frechet_distance(f, g + s) for s in (0.0, 0.5, 1.0, 2.0)]
    assert d[0] < 0.05 and d[0] < d[1] < d[2] < d[3]
    assert d[3] == pytest.approx(5 * 4.0, rel=0.05)       # |shift|^2 = 5 * 2^2


def test_bad_features_are_refused():
    with pytest.raises(ValueError, match="n >= 2"):
        gaussian_stats(np.zeros((1, 3)))
    with pytest.raises(ValueError, match="feature sizes differ"):
        frechet_distance(np.zeros((4, 3)), np.zeros((4, 2)))


def synthetic_digits(rng, n):
    """Ten classes a classifier can tell apart: class k is a bright bar in row block k, with noise."""
    y = rng.integers(0, 10, n)
    x = (rng.random((n, 28, 28)) * 60).astype(np.uint8)
    for k in range(10):
        x[y == k, 2 + 2 * k:4 + 2 * k, 4:24] = 255
    return x, y


def test_digit_classifier_learns_and_is_cached(tmp_path, rng, monkeypatch):
    monkeypatch.setitem(evaluate.DIGIT_CLASSIFIER, "steps", 60)
    train, test = synthetic_digits(rng, 600), synthetic_digits(rng, 200)
    clf, info = digit_classifier(train, test, [tmp_path / "cache"], progress=False)
    assert info["test_accuracy"] > 0.9
    assert info["path"] == str(tmp_path / "cache" / "digit_classifier.npz")
    assert info["floor"] > 0                                   # two samples of one distribution: small, not 0
    x = evaluate._pixels(test[0][:50])
    mtime = os.path.getmtime(info["path"])
    again, info2 = digit_classifier(train, test, [tmp_path / "cache"], progress=False)
    assert os.path.getmtime(info2["path"]) == mtime           # loaded, not trained again
    np.testing.assert_array_equal(clf.features(x), again.features(x))
    assert info2["floor"] == info["floor"] and info2["test_accuracy"] == info["test_accuracy"]
    monkeypatch.setitem(evaluate.DIGIT_CLASSIFIER, "steps", 61)   # other settings: trained again
    _, info3 = digit_classifier(train, test, [tmp_path / "cache"], progress=False)
    assert os.path.getmtime(info3["path"]) >= mtime
    assert json.loads(np.load(info3["path"])["__meta__"].tobytes())["key"]["steps"] == 61


def test_no_writable_cache_still_works(tmp_path, rng):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    train, test = synthetic_digits(rng, 100), synthetic_digits(rng, 50)
    msgs = []
    _, info = digit_classifier(train, test, [blocker], progress=False, log=msgs.append)
    assert info["path"] is None and "no writable folder" in msgs[0]


def test_real_digits_score_near_the_floor_and_noise_far(tmp_path, rng, monkeypatch):
    monkeypatch.setitem(evaluate.DIGIT_CLASSIFIER, "steps", 60)
    train, test = synthetic_digits(rng, 600), synthetic_digits(rng, 300)
    clf, info = digit_classifier(train, test, [tmp_path], progress=False)
    real = frechet_distance(clf.features(evaluate._pixels(synthetic_digits(rng, 300)[0])), info["test_stats"])
    noise = frechet_distance(clf.features(rng.random((300, 1, 28, 28)).astype(np.float32)), info["test_stats"])
    assert real < 3 * info["floor"] + 1e-3 and noise > 10 * real


@pytest.mark.slow
@pytest.mark.skipif(not (SHARED_MNIST / "train-images-idx3-ubyte.gz").exists(), reason="needs the MNIST files")
def test_digit_classifier_on_real_mnist(tmp_path):
    from tinygan.data import load_mnist
    train, test = load_mnist("train", SHARED_MNIST, download=False), load_mnist("test", SHARED_MNIST, download=False)
    clf, info = digit_classifier(train, test, [tmp_path], progress=False)
    assert info["test_accuracy"] > 0.98
    assert info["floor"] < 1.0


@pytest.mark.skipif(not (SHARED_MNIST / "train-images-idx3-ubyte.gz").exists(), reason="needs the MNIST files")
def test_digit_classifier_on_a_small_real_subset():
    """200 steps on 5,000 real digits already read 1,000 test digits above 90%."""
    from tinygan.data import load_mnist
    (xtr, ytr), (xte, yte) = load_mnist("train", SHARED_MNIST, download=False), load_mnist("test", SHARED_MNIST, download=False)
    clf = fit_digits(evaluate._pixels(xtr[:5000]), ytr[:5000], steps=200, batch=64)
    assert (clf.predict(evaluate._pixels(xte[:1000])) == yte[:1000]).mean() > 0.9
