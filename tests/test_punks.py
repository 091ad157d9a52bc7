"""CryptoPunks: the loader on a small synthetic composite, hash refusal, a few training
steps at 24x24 and 32x32, and the shapes of every figure."""
import hashlib
import json
import runpy
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tinygan.data import DataError
from tinygan.punks import composite, find_or_download, load_attributes, load_punks, split_tiles

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "cryptopunks"


def synthetic_composite(path, rows=2, cols=3, seed=0):
    """A rows x cols grid of 24x24 RGBA tiles; tile i is filled with the value i (and noise)."""
    rng = np.random.default_rng(seed)
    rgba = rng.integers(0, 256, (rows * 24, cols * 24, 4), dtype=np.uint8)
    for i in range(rows * cols):
        r, c = divmod(i, cols)
        rgba[r * 24, c * 24, :3] = i          # a marker in each tile's corner
        rgba[r * 24, c * 24, 3] = 255
    rgba[1, 1, 3] = 0                         # transparent
    rgba[2, 2, 3] = 128                       # half transparent
    Image.fromarray(rgba, "RGBA").save(path)
    return rgba, hashlib.sha256(Path(path).read_bytes()).hexdigest()


def test_tile_order(tmp_path):
    rgba, _ = synthetic_composite(tmp_path / "p.png")
    tiles = split_tiles(rgba)
    assert tiles.shape == (6, 24, 24, 4)
    assert [int(t[0, 0, 0]) for t in tiles] == list(range(6))  # punk i at row i // cols, column i % cols
    np.testing.assert_array_equal(tiles[4], rgba[24:48, 24:48])


def test_alpha_compositing():
    tile = np.zeros((1, 1, 3, 4), np.uint8)
    tile[0, 0, 0] = [200, 100, 0, 255]   # opaque: its own colour
    tile[0, 0, 1] = [200, 100, 0, 0]     # transparent: the background
    tile[0, 0, 2] = [200, 100, 0, 128]   # half: the mix
    out = composite(tile, background=(0, 0, 100))
    np.testing.assert_allclose(out[0, 0, 0], [200, 100, 0])
    np.testing.assert_allclose(out[0, 0, 1], [0, 0, 100])
    a = 128 / 255
    np.testing.assert_allclose(out[0, 0, 2], [200 * a, 100 * a, 100 * (1 - a)], rtol=1e-6)


@pytest.mark.parametrize("size", [24, 32])
def test_load_synthetic(tmp_path, size):
    _, digest = synthetic_composite(tmp_path / "punks.png")
    x = load_punks(path=tmp_path / "punks.png", expected_sha256=digest, size=size, background=(255, 0, 0))
    assert x.shape == (6, 3, size, size) and x.dtype == np.float32
    assert x.min() >= -1 and x.max() <= 1
    if size == 32:  # the padding is the background colour, scaled to [-1, 1]
        np.testing.assert_allclose(x[:, :, 0, 0], np.tile([1.0, -1.0, -1.0], (6, 1)))


def test_hash_refusal(tmp_path):
    synthetic_composite(tmp_path / "punks.png")
    with pytest.raises(DataError, match="SHA-256 does not match"):
        load_punks(path=tmp_path / "punks.png")  # the official hash by default
    (tmp_path / "cp").mkdir()
    (tmp_path / "cp" / "punks.png").write_bytes((tmp_path / "punks.png").read_bytes())
    with pytest.raises(DataError, match="refusing to use it"):
        find_or_download(tmp_path / "cp", download=False)


def test_missing_offline(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("TINYGAN_DATA", raising=False)
    with pytest.raises(DataError, match="punks.png was not found"):
        find_or_download(tmp_path / "none", download=False)
    with pytest.raises(DataError, match="could not download"):
        find_or_download(tmp_path / "none", urls=["http://127.0.0.1:9/punks.png"])


def test_bad_options(tmp_path):
    with pytest.raises(ValueError, match="size"):
        load_punks(path=tmp_path / "x.png", size=28)
    with pytest.raises(ValueError, match="background"):
        load_punks(path=tmp_path / "x.png", background=(0, 0, 300))


def test_attributes(tmp_path):
    (tmp_path / "a.csv").write_text("id,type,accessories\n0,male,smile/mohawk\n1,alien,\n")
    types, acc = load_attributes(tmp_path / "a.csv")
    assert types == ["male", "alien"] and acc == [{"smile", "mohawk"}, set()]
    (tmp_path / "b.csv").write_text("name\nx\n")
    with pytest.raises(DataError, match="columns"):
        load_attributes(tmp_path / "b.csv")


@pytest.mark.skipif(not (SHARED / "punks.png").is_file(), reason="no shared CryptoPunks copy")
def test_official_file_if_present():
    x = load_punks(SHARED, download=False)
    assert x.shape == (10000, 3, 24, 24)
    types, _ = load_attributes(SHARED / "attributes.csv")
    assert types.count("alien") == 9


@pytest.mark.parametrize("size", [24, 32])
def test_script_trains_and_draws(tmp_path, monkeypatch, size):
    """A few steps through examples/train_cryptopunks.py on a synthetic composite."""
    rgba = np.random.default_rng(0).integers(0, 256, (10 * 24, 10 * 24, 4), dtype=np.uint8)
    (tmp_path / "cp").mkdir()
    Image.fromarray(rgba, "RGBA").save(tmp_path / "cp" / "punks.png")
    digest = hashlib.sha256((tmp_path / "cp" / "punks.png").read_bytes()).hexdigest()
    monkeypatch.setattr("tinygan.punks.PUNKS_SHA256", digest)
    monkeypatch.setattr(sys, "argv", ["train_cryptopunks.py", "--data-dir", str(tmp_path / "cp"),
                                      "--out", str(tmp_path / "run"), "--steps", "2", "--batch-size", "8",
                                      "--size", str(size), "--holdout", "8", "--no-progress",
                                      "--sample-every", "2"])
    ns = runpy.run_path(str(EXAMPLES / "train_cryptopunks.py"), run_name="not_main")
    assert ns["main"]() == 0
    out = tmp_path / "run"
    s = 4  # figure upscaling
    fig6 = Image.open(out / "figure6.png")
    grid_px = 8 * (size + 2) + 2
    assert fig6.size == ((2 * grid_px + 12) * s, grid_px * s)
    for i in range(4):
        assert Image.open(out / f"figure9_code{i}.png").size == ((10 * (size + 2) + 2) * s, (10 * (size + 2) + 2) * s)
    assert Image.open(out / "figure9_sheet.png").size == ((2 * (10 * (size + 2) + 2) + 12) * s,) * 2
    codes = json.loads((out / "codes.json").read_text())["sweep_end_to_end_mean_abs_pixel_change"]
    assert len(codes) == 4 and all(0 <= c <= 255 for c in codes)
    mem = json.loads((out / "memorisation.json").read_text())
    assert mem["n_held_out"] == 8 and mem["generated_to_nearest_train"]["median"] > 0
    cfg = json.loads((out / "config.json").read_text())        # the recipe of docs/08-cryptopunks.md
    assert cfg["model"]["cat_warmup"] == 500 and cfg["model"]["real_target"] == 0.9 and cfg["model"]["g_average"] == 0.99
    assert cfg["model"]["d_norm"] == "spectral" and cfg["model"]["lr_g_late_from"] == 20000
    assert cfg["model"]["lr_d"] == 6e-4 and cfg["model"]["g_modulation"] is True
    assert ns["DEFAULTS"]["steps"] == 30000 and ns["DEFAULTS"]["batch_size"] == 32   # --steps 2 above


def test_download_from_a_local_server(tmp_path, monkeypatch):
    """The download path for real: a server on 127.0.0.1 serves the composite; a wrong file
    from the first URL is refused by its hash and the next URL is used."""
    import http.server
    import threading
    from functools import partial
    good, bad = tmp_path / "good", tmp_path / "bad"
    good.mkdir()
    bad.mkdir()
    _, digest = synthetic_composite(good / "punks.png")
    synthetic_composite(bad / "punks.png", seed=5)

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass
    servers = []
    for folder in (bad, good):
        srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(Quiet, directory=str(folder)))
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        servers.append(srv)
    try:
        monkeypatch.setenv("HOME", str(tmp_path / "home"))
        monkeypatch.delenv("TINYGAN_DATA", raising=False)
        urls = [f"http://127.0.0.1:{s.server_address[1]}/punks.png" for s in servers]
        path = find_or_download(urls=urls, expected_sha256=digest)
        assert path == tmp_path / "home" / ".cache" / "tinygan" / "cryptopunks" / "punks.png"
        assert hashlib.sha256(path.read_bytes()).hexdigest() == digest
        monkeypatch.setenv("HOME", str(tmp_path / "home2"))  # an empty cache: only the bad URL
        with pytest.raises(DataError, match="SHA-256 does not match"):
            find_or_download(tmp_path / "elsewhere", urls=urls[:1], expected_sha256=digest)
        assert not (tmp_path / "elsewhere" / "punks.png").exists()
    finally:
        for srv in servers:
            srv.shutdown()
            srv.server_close()


def test_punk_betas_keeps_an_average_per_beta(tmp_path, monkeypatch):
    """benchmarks/punk_betas.py on a synthetic composite: the beta the run keeps itself is
    reproduced exactly, another beta gives another average of the same trained weights, and
    a resumed run says from which step its averages start."""
    (tmp_path / "cp").mkdir()
    _, digest = synthetic_composite(tmp_path / "cp" / "punks.png", rows=10, cols=10)
    monkeypatch.setattr("tinygan.punks.PUNKS_SHA256", digest)
    script = runpy.run_path(str(EXAMPLES.parent / "benchmarks" / "punk_betas.py"), run_name="not_main")
    run = ["--data-dir", str(tmp_path / "cp"), "--out", str(tmp_path / "run"), "--batch-size", "8",
           "--holdout", "8", "--no-progress", "--no-eval", "--sample-every", "0"]
    assert script["main"](["--betas", "0.99", "0.3", "--", "--steps", "4"] + run) == 0
    result = json.loads((tmp_path / "run" / "betas.json").read_text())
    assert result["own_average_max_abs_difference"] == 0.0 and result["averages_from_step"] == 0
    from tinygan.train import load_model
    own, _ = load_model(tmp_path / "run" / "checkpoint.npz")
    m99, _ = load_model(tmp_path / "run" / "checkpoint_beta_0.99.npz")
    m3, meta = load_model(tmp_path / "run" / "checkpoint_beta_0.3.npz")
    assert m3.cfg.g_average == 0.3 and meta["step"] == 4 == m3.g_average.t
    np.testing.assert_array_equal(m99.g_average.avg, own.g_average.avg)
    np.testing.assert_array_equal(m3.g_flat.params, own.g_flat.params)          # the same training
    assert np.abs(m3.g_average.avg - own.g_average.avg).max() > 0                # another average
    assert script["main"](["--betas", "0.3", "--", "--steps", "6", "--resume"] + run) == 0
    assert json.loads((tmp_path / "run" / "betas.json").read_text())["averages_from_step"] == 4
    with pytest.raises(SystemExit, match="no training step ran"):
        script["main"](["--betas", "0.3", "--", "--steps", "6", "--resume"] + run)
    with pytest.raises(SystemExit):
        script["main"](["--betas", "1.5", "--"] + run)
