"""The analysis scripts on a tiny checkpoint made here, and their arithmetic on synthetic data."""
import json
import runpy
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tinygan.infogan import InfoGANConfig
from tinygan.train import TrainConfig, train

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.fixture(scope="module")
def mnist_ckpt(tmp_path_factory):
    out = tmp_path_factory.mktemp("ckpt") / "run"
    cfg = InfoGANConfig(img_size=28, n_noise=4, n_cat=10, n_cont=2, width=4, fc=16)
    x = np.random.default_rng(0).random((32, 1, 28, 28)).astype(np.float32)
    train(cfg, TrainConfig(steps=2, batch_size=8, sample_every=0), x, out, progress=False)
    return out / "checkpoint.npz"


def script(name):
    return runpy.run_path(str(EXAMPLES / name), run_name="not_main")


def test_sample_script(mnist_ckpt, tmp_path):
    main = script("sample.py")["main"]
    assert main(["--checkpoint", str(mnist_ckpt), "--out", str(tmp_path / "s"), "--category", "3",
                 "--code", "0=1.5", "--code", "1=-2", "--n", "5"]) == 0
    lat = np.load(tmp_path / "s" / "latents.npy")
    assert lat.shape == (5, 4 + 10 + 2)
    assert np.all(lat[:, 4:14].argmax(1) == 3) and np.all(lat[:, 14] == 1.5) and np.all(lat[:, 15] == -2)
    assert Image.open(tmp_path / "s" / "samples.png").size == ((5 * 30 + 2) * 2, 32 * 2)


@pytest.mark.parametrize("args,needle", [(["--category", "10"], "--category must be in 0..9"),
                                         (["--code", "2=1"], "out of range"),
                                         (["--code", "x"], "INDEX=VALUE"),
                                         (["--n", "0"], "--n and --nrow must be")])
def test_sample_script_bad_input(mnist_ckpt, tmp_path, args, needle, capsys):
    with pytest.raises(SystemExit):
        script("sample.py")["main"](["--checkpoint", str(mnist_ckpt), "--out", str(tmp_path)] + args)
    assert needle in capsys.readouterr().err


def test_sample_script_missing_checkpoint(tmp_path, capsys):
    with pytest.raises(SystemExit):
        script("sample.py")["main"](["--checkpoint", str(tmp_path / "nope.npz")])
    assert "nope.npz does not exist" in capsys.readouterr().err


def test_tsne_script(mnist_ckpt, tmp_path):
    pytest.importorskip("sklearn")
    from test_data import write_split
    write_split(tmp_path / "mnist", "test", n=40)
    main = script("tsne.py")["main"]
    assert main(["--checkpoint", str(mnist_ckpt), "--out", str(tmp_path / "t"), "--data-dir",
                 str(tmp_path / "mnist"), "--n", "20", "--perplexity", "5"]) == 0
    result = json.loads((tmp_path / "t" / "tsne.json").read_text())
    assert result["n_real"] == 20 and 0 <= result["knn_agreement"] <= 1
    assert (tmp_path / "t" / "figure5_tsne.png").stat().st_size > 5000


def test_knn_agreement_known_answers():
    pytest.importorskip("sklearn")
    knn = script("tsne.py")["knn_agreement"]
    rng = np.random.default_rng(0)
    centres = np.arange(5)[:, None] * np.array([[10.0, 0.0]])
    real_labels = np.repeat(np.arange(5), 20)
    real = centres[real_labels] + rng.normal(0, 0.5, (100, 2))
    fake_labels = np.repeat(np.arange(5), 10)
    fake = centres[fake_labels] + rng.normal(0, 0.5, (50, 2))
    assert knn(real, real_labels, fake, fake_labels) == 1.0
    assert knn(real, real_labels, fake, (fake_labels + 1) % 5) == 0.0


@pytest.fixture(scope="module")
def punks_ckpt(tmp_path_factory):
    out = tmp_path_factory.mktemp("pk") / "run"
    cfg = InfoGANConfig(img_channels=3, img_size=24, output="tanh", n_noise=4, n_cat=3, n_cont=2, width=4, fc=16)
    x = np.random.default_rng(0).uniform(-1, 1, (32, 3, 24, 24)).astype(np.float32)
    train(cfg, TrainConfig(steps=2, batch_size=8, sample_every=0), x, out, progress=False)
    return out / "checkpoint.npz"


def test_vector_addition_by_hand(punks_ckpt, tmp_path):
    main = script("vector_addition.py")["main"]
    out = tmp_path / "va"
    assert main(["--checkpoint", str(punks_ckpt), "--out", str(out), "--pool", "16"]) == 0
    assert (out / "pool.png").is_file() and not (out / "vector_addition.png").exists()
    assert main(["--checkpoint", str(punks_ckpt), "--out", str(out), "--pool", "16",
                 "--with", "1,2,3", "--without", "4,5", "--targets", "6,7,8"]) == 0
    from tinygan.infogan import sample_latent
    from tinygan.train import load_model
    cfg = load_model(punks_ckpt)[0].cfg
    pool = sample_latent(cfg, 16, np.random.default_rng(0))[0]
    np.testing.assert_allclose(np.load(out / "direction.npy"), pool[[1, 2, 3]].mean(0) - pool[[4, 5]].mean(0))
    assert main(["--checkpoint", str(punks_ckpt), "--out", str(out), "--pool", "16", "--strength", "2",
                 "--with", "1,2,3", "--without", "4,5", "--targets", "6,7,8"]) == 0
    np.testing.assert_allclose(np.load(out / "direction.npy"), 2 * (pool[[1, 2, 3]].mean(0) - pool[[4, 5]].mean(0)),
                               rtol=1e-6)
    w, h = Image.open(out / "vector_addition.png").size
    assert (w, h) == ((2 * 28 + 8) * 4, (3 * 26 + 2) * 4)  # two columns of three 24px punks, upscaled 4x


def test_vector_addition_bad_indices(punks_ckpt, tmp_path, capsys):
    with pytest.raises(SystemExit):
        script("vector_addition.py")["main"](["--checkpoint", str(punks_ckpt), "--out", str(tmp_path),
                                              "--pool", "8", "--with", "1,9", "--without", "2", "--targets", "3"])
    assert "--with: indices must be in 0..7" in capsys.readouterr().err


def test_vector_addition_auto(punks_ckpt, tmp_path, monkeypatch):
    """--auto end to end on a synthetic composite whose attributes are known."""
    import hashlib
    rng = np.random.default_rng(1)
    rgba = rng.integers(0, 256, (5 * 24, 10 * 24, 4), dtype=np.uint8)
    (tmp_path / "cp").mkdir()
    Image.fromarray(rgba, "RGBA").save(tmp_path / "cp" / "punks.png")
    monkeypatch.setattr("tinygan.punks.PUNKS_SHA256",
                        hashlib.sha256((tmp_path / "cp" / "punks.png").read_bytes()).hexdigest())
    types = ["alien", "ape", "zombie", "female", "male"]
    rows = ["id,type,accessories"] + [f"{i},{types[i % 5]},{'cigarette' if i % 2 else 'earring/pipe'}"
                                      for i in range(50)]
    (tmp_path / "cp" / "attributes.csv").write_text("\n".join(rows) + "\n")
    import tinygan.punk_quality as pq
    monkeypatch.setattr(pq, "MIN_COUNT", 5)
    monkeypatch.setitem(pq.CLASSIFIER, "steps", 5)
    main = script("vector_addition.py")["main"]
    assert main(["--checkpoint", str(punks_ckpt), "--out", str(tmp_path / "auto"), "--auto", "--data-dir",
                 str(tmp_path / "cp"), "--holdout", "10", "--n-generated", "60", "--n-apply", "10",
                 "--strength", "2"]) == 0
    report = json.loads((tmp_path / "auto" / "auto.json").read_text())
    assert (report["strength"], report["n_generated"], report["n_apply"], report["seed"]) == (2.0, 60, 10, 0)
    assert report["classifier"]["n_held_out"] == 10 and (tmp_path / "cp" / "punk_classifier.npz").is_file()
    assert set(report["attributes"]) == {"cigarette", "pipe", "mohawk", "earring", *types}
    for e in report["attributes"].values():
        assert "skipped" in e or (0 <= e["success"] <= 1 and 0 <= e["random_direction"] <= 1)


def test_auto_directions_with_a_known_classifier(punks_ckpt, tmp_path):
    """auto_directions with a stand-in classifier that sees a cigarette on every punk brighter
    than the median: every entry filled in, the palette of the punks before the addition 1.0
    when the palette is their own colours, and the figures written."""
    from tinygan.punk_quality import palette
    from tinygan.train import load_model
    va = script("vector_addition.py")
    model = load_model(punks_ckpt)[0]
    model.G.params["10.w"] *= 50          # the 2-step G draws flat grey; larger last weights vary its punks
    latent, _, _ = va["sample_latent"](model.cfg, 60, np.random.default_rng([0, 7]))   # as auto_directions draws
    u8 = va["render"](model, latent)
    cut = np.median(u8.mean(axis=(1, 2, 3)))
    names = ["cigarette"]

    def classify(clf, images):          # cigarette: brighter than the median; type: female (3) for all
        return (images.mean(axis=(1, 2, 3)) > cut)[:, None].astype(float), np.full(len(images), 3)
    va["auto_directions"].__globals__["classify"] = classify
    report = va["auto_directions"](model, None, names, 60, 10, 0, tmp_path, 1, 2.0, palette(u8))
    e = report["cigarette"]
    assert e["generated_with"] == 30 and e["n_applied"] == 10
    assert e["palette_before"] == 1.0
    assert 0 <= e["palette_after"] <= 1 and 0 <= e["random_palette_after"] <= 1
    assert 0 <= e["success"] <= 1 and (tmp_path / "va_cigarette.png").is_file()
    assert "skipped" in report["pipe"] and "skipped" in report["female"]     # nobody lacks / has them


def test_direction_arithmetic():
    from tinygan.classifier import direction
    lat = np.array([[1.0, 0], [3.0, 0], [0, 2.0], [0, 4.0]])
    np.testing.assert_allclose(direction(lat, [True, True, False, False]), [2.0, -3.0])
    with pytest.raises(ValueError, match="both"):
        direction(lat, [True] * 4)


def test_classifier_learns_a_visible_attribute():
    """A bright top-left corner is 'the attribute': the classifier must find it on held-out images."""
    from tinygan.classifier import fit
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 0, (400, 3, 8, 8)).astype(np.float32)
    y = (rng.random(400) < 0.5).astype(np.float32)
    x[y == 1, :, :3, :3] = 1.0
    t = (rng.random(400) < 0.5).astype(int)  # a second, 'type' label: a bright bottom-right corner
    x[t == 1, :, 5:, 5:] = 1.0
    clf = fit(x[:300], y[:300, None], t[:300], 2, steps=150, batch=32)
    pb, pt = clf.predict(x[300:])
    assert ((pb[:, 0] > 0.5) == (y[300:] == 1)).mean() > 0.95
    assert (pt == t[300:]).mean() > 0.8


def test_evaluate_script(mnist_ckpt, tmp_path, capsys):
    from test_data import write_split
    write_split(tmp_path / "mnist", "test", n=30)
    write_split(tmp_path / "mnist", "train", n=40, seed=1)
    assert script("evaluate_mnist.py")["main"](["--checkpoint", str(mnist_ckpt), "--out", str(tmp_path / "e"),
                                                "--data-dir", str(tmp_path / "mnist"), "--fidelity-n", "50",
                                                "--no-progress"]) == 0
    r = json.loads((tmp_path / "e" / "eval.json").read_text())
    assert r["n_images"] == 30 and sorted(m for m in r["mapping"] if m >= 0) == sorted(set(r["mapping"]) - {-1})
    f = r["fidelity"]
    assert f["n_generated"] == 50 and f["frechet_distance"] > 0 and f["floor"] > 0
    assert f["ratio_to_floor"] == pytest.approx(f["frechet_distance"] / f["floor"])
    assert (tmp_path / "mnist" / "digit_classifier.npz").exists()          # cached next to the data
    out = capsys.readouterr().out
    assert "test accuracy" in out and "Fréchet distance of 50 generated digits" in out and "floor" in out


def test_sample_script_draws_with_the_average_unless_told(tmp_path):
    out = tmp_path / "run"
    cfg = InfoGANConfig(img_size=28, n_noise=4, n_cat=10, n_cont=2, width=4, fc=16, g_average=0.5)
    x = np.random.default_rng(0).random((32, 1, 28, 28)).astype(np.float32)
    train(cfg, TrainConfig(steps=3, batch_size=8, sample_every=0), x, out, progress=False)
    main = script("sample.py")["main"]
    for name, extra in (("avg", []), ("trained", ["--trained-weights"])):
        assert main(["--checkpoint", str(out / "checkpoint.npz"), "--out", str(tmp_path / name), "--n", "6",
                     "--nrow", "3"] + extra) == 0
    a, b = (np.asarray(Image.open(tmp_path / name / "samples.png")) for name in ("avg", "trained"))
    assert a.shape == b.shape == ((2 * 30 + 2) * 2, (3 * 30 + 2) * 2) and not np.array_equal(a, b)


def test_vector_addition_kept_known_answer():
    """kept(): the share of punks whose other attributes and type did not change; pixel_change()."""
    va = script("vector_addition.py")
    names = ["cigarette", "earring", "mole"]

    def labels(u8):  # as classify() returns them: attributes read off the first three pixels, the type the fourth
        return u8[:, 0, :3, 0] / 255.0, u8[:, 0, 3, 0].astype(int)
    before = np.zeros((4, 1, 4, 3), np.uint8)
    after = before.copy()
    after[:, 0, 0, 0] = 255                 # every punk gains a cigarette
    after[1, 0, 1, 0] = 255                 # punk 1 also gains an earring
    after[2, 0, 3, 0] = 4                   # punk 2 changes type
    assert va["kept"](names, labels(before), labels(after), "cigarette") == 0.5     # punks 0 and 3
    assert va["pixel_change"](before, after) == pytest.approx((4 * 255 + 255 + 4) / before.size)
    assert va["kept"](names, labels(before), labels(after), "male") == 0.0     # a type target: the cigarettes count
    after[:, 0, 0, 0] = 0
    assert va["kept"](names, labels(before), labels(after), "male") == 0.75    # ... its own change of type does not
    has = va["has_attributes"](names, labels(after))                            # groups, then a one-hot type
    assert has.shape == (4, len(va["GROUPS"]) + len(va["TYPES"]))
    assert has[1, list(va["GROUPS"]).index("earring")] and not has[0, list(va["GROUPS"]).index("earring")]
