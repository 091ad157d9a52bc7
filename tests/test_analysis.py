"""The analysis scripts on a tiny checkpoint made here, and their arithmetic on synthetic data."""
import json
import runpy
import sys
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
                                         (["--n", "0"], "--n must be")])
def test_sample_script_bad_input(mnist_ckpt, tmp_path, args, needle, capsys):
    with pytest.raises(SystemExit):
        script("sample.py")["main"](["--checkpoint", str(mnist_ckpt), "--out", str(tmp_path)] + args)
    assert needle in capsys.readouterr().err


def test_sample_script_missing_checkpoint(tmp_path, capsys):
    with pytest.raises(SystemExit):
        script("sample.py")["main"](["--checkpoint", str(tmp_path / "nope.npz")])
    assert "no checkpoint" in capsys.readouterr().err


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
