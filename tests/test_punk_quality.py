"""The punk measures on known answers, and examples/evaluate_punks.py end to end on a
synthetic composite with known attributes."""
import hashlib
import json
import runpy
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tinygan import punk_quality as pq
from tinygan.infogan import InfoGANConfig
from tinygan.punks import DEFAULT_BACKGROUND
from tinygan.train import TrainConfig, load_model, train

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def palette_images(rng, colours, n=20):
    return colours[rng.integers(0, len(colours), (n, 24, 24))]            # (n, 24, 24, 3) uint8


def test_palette_fidelity_known_answers(rng):
    colours = np.array([[0, 0, 0], [99, 133, 150], [255, 200, 10], [120, 60, 200]], np.uint8)
    imgs = palette_images(rng, colours)
    pal = pq.palette(imgs)
    assert {tuple(c) for c in pal} == {tuple(c) for c in colours}
    exact = pq.palette_fidelity(imgs, pal)
    assert exact["within"] == 1.0 and exact["median_distance"] == 0.0
    near = pq.palette_fidelity(np.clip(imgs.astype(int) + [0, 10, 0], 0, 255).astype(np.uint8), pal)
    assert near["within"] == 1.0 and near["median_distance"] == pytest.approx(10, abs=0.01)   # within 16
    far = pq.palette_fidelity(np.clip(imgs.astype(int) + [20, 0, 0], 0, 255).astype(np.uint8), pal)
    assert far["within"] < 0.5 and far["median_distance"] == pytest.approx(20, abs=0.01)
    speckle = imgs.copy()
    speckle[:, ::2, ::2] = [60, 60, 60]                                     # a quarter of pixels off-palette
    got = pq.palette_fidelity(speckle, pal)
    assert got["within"] == pytest.approx(0.75, abs=1e-9)


def test_edge_fraction_known_answers():
    flat = np.zeros((2, 4, 4, 3), np.uint8)
    assert pq.edge_fraction(flat) == 0.0
    halves = flat.copy()
    halves[:, :, 2:] = [200, 0, 0]                    # one vertical edge: 4 of the 24 pairs per image
    assert pq.edge_fraction(halves) == pytest.approx(4 / 24)
    assert pq.edge_fraction(np.clip(halves.astype(int) + [0, 10, 0] * (np.arange(4) % 2)[:, None], 0, 255)
                            .astype(np.uint8)) == pytest.approx(4 / 24)   # steps of 10 are within 16
    checker = flat.copy()
    checker[:, (np.arange(4)[:, None] + np.arange(4)) % 2 == 1] = [0, 0, 90]
    assert pq.edge_fraction(checker) == 1.0           # speckle in two palette colours: every pair
    assert pq.palette_fidelity(checker, pq.palette(checker))["within"] == 1.0


def test_attribute_names_labels_and_rates():
    acc = [{"pipe", "earring"}, {"earring"}, set(), {"earring", "mohawk"}]
    assert pq.attribute_names(acc, min_count=2) == ["earring"]
    assert pq.attribute_names(acc, min_count=1) == ["earring", "mohawk", "pipe"]
    y, t = pq.labels(["male", "female", "ape", "male"], acc, ["earring", "pipe"])
    assert y.tolist() == [[1, 1], [1, 0], [0, 0], [1, 0]] and t.tolist() == [4, 3, 1, 4]
    r = pq.rates(y, t, ["earring", "pipe"])
    assert r["earring"] == 0.75 and r["pipe"] == 0.25 and r["male"] == 0.5 and r["alien"] == 0.0


def test_coverage_counts_the_attributes_within_twice_their_rate():
    real = {"a": 0.10, "b": 0.05, "c": 0.02, "d": 0.005}
    gen = {"a": 0.19, "b": 0.01, "c": 0.041, "d": 0.0}
    cov = pq.coverage(gen, real)
    assert cov["n_common"] == 3                                             # d is rarer than 1%
    assert cov["n_within_2x"] == 1 and cov["outside_2x"] == ["b", "c"]


@pytest.fixture
def punk_data(tmp_path, monkeypatch):
    """50 synthetic punks whose 'pipe' is a bright block in a corner, and their attributes."""
    rng = np.random.default_rng(3)
    rgba = np.zeros((5 * 24, 10 * 24, 4), np.uint8)
    rgba[..., :3] = rng.integers(0, 4, rgba.shape[:2] + (3,)) * 60       # a few flat colours
    rgba[..., 3] = 255
    types = ["alien", "ape", "zombie", "female", "male"]
    rows = ["id,type,accessories"]
    for i in range(50):
        r, c = divmod(i, 10)
        pipe = i % 3 == 0
        if pipe:
            rgba[r * 24 + 18:r * 24 + 22, c * 24 + 2:c * 24 + 8, :3] = 240
        rows.append(f"{i},{types[i % 5]},{'pipe/earring' if pipe else 'earring'}")
    (tmp_path / "cp").mkdir()
    Image.fromarray(rgba, "RGBA").save(tmp_path / "cp" / "punks.png")
    (tmp_path / "cp" / "attributes.csv").write_text("\n".join(rows) + "\n")
    monkeypatch.setattr("tinygan.punks.PUNKS_SHA256", hashlib.sha256((tmp_path / "cp" / "punks.png").read_bytes()).hexdigest())
    monkeypatch.setattr(pq, "MIN_COUNT", 5)
    monkeypatch.setitem(pq.CLASSIFIER, "steps", 30)
    return tmp_path / "cp"


def tiny_punk_run(punk_data, out, steps, **cfg):
    """A tiny punk model trained for `steps` on noise into `out`; evaluate_punks' main and
    the arguments that evaluate it on the synthetic punks."""
    cfg = InfoGANConfig(img_channels=3, img_size=24, output="tanh", n_noise=4, n_cat=3, n_cont=2, width=4, fc=16,
                        **cfg)
    x = np.random.default_rng(0).uniform(-1, 1, (32, 3, 24, 24)).astype(np.float32)
    train(cfg, TrainConfig(steps=steps, batch_size=8, sample_every=0), x, out, progress=False)
    main = runpy.run_path(str(EXAMPLES / "evaluate_punks.py"), run_name="not_main")["main"]
    return main, ["--checkpoint", str(out / "checkpoint.npz"), "--data-dir", str(punk_data), "--holdout", "10",
                  "--n", "200", "--no-progress"]


def test_evaluate_punks_script(punk_data, tmp_path, capsys):
    out = tmp_path / "run"
    main, args = tiny_punk_run(punk_data, out, 2)
    assert main(args) == 0
    r = json.loads((out / "eval.json").read_text())
    assert r["frechet_distance"] > r["floor"] >= 0                          # noise is farther than real halves
    assert r["palette"]["real"] == 1.0 and 0 <= r["palette"]["within"] <= 1
    assert 0 <= r["edges"]["real"] <= 1 and 0 <= r["edges"]["generated"] <= 1 and r["edges"]["tolerance"] == 16
    assert set(r["coverage"]["rates"]) == {"earring", "pipe", *pq.TYPES}
    assert r["coverage"]["rates"]["pipe"]["real"] == pytest.approx(17 / 50)
    assert len(r["codes"]) == 2 and all(e["pixel_change"] >= 0 for e in r["codes"])
    assert set(r["code_readout"]) == {"generated", "snapped_to_palette", "n"}
    cats = r["categories"]["categories"]
    assert [e["category"] for e in cats] == [0, 1, 2] and 1 <= r["categories"]["n_distinct_names"] <= 3
    assert all(0 <= e["rate"] <= 1 and e["name"] in r["coverage"]["rates"] for e in cats)
    assert len(r["code_readout"]["generated"]["continuous_r2"]) == 2
    assert r["classifier"]["n_held_out"] == 10 and (punk_data / "punk_classifier.npz").is_file()
    text = capsys.readouterr().out
    assert "Fréchet distance" in text and "palette fidelity" in text and "edges:" in text and "code 0:" in text
    assert main(args) == 0                                                   # second time: the cached classifier
    table = runpy.run_path(str(EXAMPLES.parent / "benchmarks" / "punk_table.py"), run_name="not_main")["main"]
    capsys.readouterr()
    assert table([str(out)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3 and lines[2].startswith("| run | 2 |") and f"{r['floor']:.2f}" in lines[2]
    assert table([str(tmp_path / "nowhere")]) == 2


def test_evaluate_punks_measures_the_average_and_the_trained_weights(punk_data, tmp_path, capsys):
    out = tmp_path / "run"
    main, args = tiny_punk_run(punk_data, out, 3, g_average=0.9)
    assert main(args) == 0
    avg = json.loads((out / "eval.json").read_text())
    assert avg["averaged_weights"] and "G's own weights" in capsys.readouterr().out
    own = avg["trained_weights"]["frechet_distance"]
    assert own != pytest.approx(avg["frechet_distance"])                    # the average is other weights
    assert main(args + ["--trained-weights"]) == 0
    tw = json.loads((out / "eval.json").read_text())
    assert not tw["averaged_weights"] and "trained_weights" not in tw
    # the same latents and real halves: the side measure is the full measure of G's own weights
    assert tw["frechet_distance"] == pytest.approx(own)
    assert tw["palette"]["within"] == pytest.approx(avg["trained_weights"]["palette"]["within"])


def test_snap_to_palette():
    pal = np.array([[0, 0, 0], [200, 100, 50]], np.uint8)
    img = np.array([[[[3, 1, 0], [190, 110, 40]], [[120, 60, 30], [0, 0, 0]]]], np.uint8)   # (1, 2, 2, 3)
    snapped = pq.snap_to_palette(img, pal)
    assert snapped.shape == img.shape and snapped.dtype == np.uint8
    np.testing.assert_array_equal(snapped[0].reshape(-1, 3), pal[[0, 1, 1, 0]])
    assert pq.palette_fidelity(snapped, pal, tolerance=0)["within"] == 1.0


def test_code_readout_known_answers(monkeypatch):
    """A Q that reads everything exactly scores 1; one that reads nothing scores 0."""
    cat = np.array([0, 1, 2, 1])
    cont = np.array([[0.5, -1.0], [-0.5, 0.0], [1.0, 1.0], [0.0, 0.5]], np.float32)

    class Model:
        cfg = InfoGANConfig(img_channels=3, img_size=8, output="tanh", n_cat=3, n_cont=2)
        answer = (cat, cont)

        def read_codes(self, images):
            assert images.shape == (4, 3, 8, 8)
            return self.answer
    m = Model()
    imgs = np.zeros((4, 8, 8, 3), np.uint8)
    r = pq.code_readout(m, imgs, cat, cont)
    assert r == {"category_accuracy": 1.0, "continuous_r2": [1.0, 1.0]}
    m.answer = (np.array([1, 1, 1, 1]), np.broadcast_to(cont.mean(axis=0), cont.shape))
    r = pq.code_readout(m, imgs, cat, cont)
    assert r["category_accuracy"] == 0.5 and r["continuous_r2"] == pytest.approx([0.0, 0.0], abs=1e-6)


def test_category_profiles_known_answer(monkeypatch):
    """Category k draws attribute k % 2 always (and nothing else): the names and the count."""
    cfg = InfoGANConfig(img_channels=3, img_size=8, output="tanh", n_noise=2, n_cat=3, n_cont=1)

    class Model:
        pass
    m = Model()
    m.cfg = cfg
    # "render" passes the category through as a pixel value; "classify" reads it back
    monkeypatch.setattr(pq, "render", lambda model, lat, batch, averaged: lat[:, 2:5].argmax(1))
    monkeypatch.setattr(pq, "classify", lambda clf, k: (np.eye(2)[k % 2], np.full(len(k), 4)))
    r = pq.category_profiles(m, None, ["a", "b"], n=10)
    assert [e["name"] for e in r["categories"]] == ["a", "b", "a"]
    assert r["categories"][1]["rate"] == 1.0 and r["categories"][1]["rate_overall"] == pytest.approx(1 / 3)
    assert r["n_distinct_names"] == 2


def test_latent_variety_known_answer(monkeypatch):
    """A "G" that draws only its first continuous code, as a grey level of 100 * c: the
    noise and the category change nothing, the codes change the pixels by the std of
    100 * U(-1, 1) (57.7), up to the sampling error of 8 draws."""
    cfg = InfoGANConfig(img_channels=3, img_size=4, output="tanh", n_noise=5, n_cat=3, n_cont=2)

    class Model:
        pass
    m = Model()
    m.cfg = cfg

    def render(model, lat, batch, averaged):
        grey = 100 * lat[:, 8].astype(np.float64)                          # the first continuous code
        return np.broadcast_to(grey[:, None, None, None], (len(lat), 4, 4, 3))
    monkeypatch.setattr(pq, "render", render)
    v = pq.latent_variety(m, n=400, draws=8)
    assert v["noise"] == 0 and v["category"] == 0
    # the std of 8 draws (ddof 0) of U(-100, 100) averages about 0.91 * 57.7 = 52.6
    assert 48 < v["continuous"] < 57
    assert v["all"] == pytest.approx(v["continuous"], rel=0.1)
    same = np.full((16, 4, 4, 3), 7, np.uint8)
    assert pq.real_variety(same) == 0
    two = np.concatenate([same, same + 10])                             # half 7s, half 17s
    assert 0 < pq.real_variety(two) <= 5


def test_live_codes_and_targets():
    codes = [{"code": 0, "pixel_change": 30.0, "name_change": -0.5},
             {"code": 1, "pixel_change": 30.0, "name_change": 0.1},       # changes pixels, no attribute
             {"code": 2, "pixel_change": 5.0, "name_change": 0.4},        # too small a change
             {"code": 3, "pixel_change": 15.0, "name_change": 0.2}]
    assert pq.live_codes(codes) == [0, 3]
    r = {"palette": {"within": 0.95}, "coverage": {"n_within_2x": 80, "n_common": 80}, "codes": [codes[0], codes[3]],
         "memorisation": {"n": 300, "generated_median": 2.0, "held_out_median": 1.3}}
    assert pq.targets(r) == {"palette": True, "coverage": True, "codes": True, "memorisation": True}
    r["palette"]["within"], r["coverage"]["n_within_2x"], r["codes"] = 0.94, 79, codes
    r["memorisation"]["generated_median"] = 1.0
    assert pq.targets(r) == {"palette": False, "coverage": False, "codes": False, "memorisation": False}


def test_d_heldout_known_answer(punk_data, tmp_path, capsys):
    out = tmp_path / "run"
    tiny_punk_run(punk_data, out, 2)
    (out / "data.json").write_text(json.dumps({"size": 24, "background": list(DEFAULT_BACKGROUND), "holdout": 10}))
    script = runpy.run_path(str(EXAMPLES.parent / "benchmarks" / "d_heldout.py"), run_name="not_main")
    assert script["main"](["--run", str(out), "--data-dir", str(punk_data), "--n", "10"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["n"] == 10 and r["step"] == 2
    assert all(0 < r[k] < 1 for k in ("training", "held_out", "generated"))
    # a D head that ignores its input (weights 0, bias 2) says sigmoid(2) to every punk
    model, _ = load_model(out / "checkpoint.npz")
    model.d_head.params["0.w"][...] = 0
    model.d_head.params["0.b"][...] = 2.0
    x = np.random.default_rng(0).uniform(-1, 1, (30, 3, 24, 24)).astype(np.float32)
    assert script["mean_d"](model, x, batch=7) == pytest.approx(1 / (1 + np.exp(-2.0)))
    with pytest.raises(SystemExit):
        script["main"](["--run", str(out), "--data-dir", str(punk_data), "--n", "11"])   # more than held out


def test_variety_script(punk_data, tmp_path, capsys):
    out = tmp_path / "run"
    tiny_punk_run(punk_data, out, 2)
    script = runpy.run_path(str(EXAMPLES.parent / "benchmarks" / "variety.py"), run_name="not_main")
    assert script["main"]([str(out), str(out / "checkpoint.npz"), "--data-dir", str(punk_data), "--n", "20"]) == 0
    lines = capsys.readouterr().out.splitlines()
    a, b = (list(map(float, line.split()[1:])) for line in lines[1:3])
    assert len(a) == 4 and a == b and all(v >= 0 for v in a)              # the folder and its checkpoint agree
    assert lines[3].startswith("real punks") and float(lines[3].split()[-1]) > 0
    with pytest.raises(SystemExit, match="no checkpoint"):
        script["main"]([str(tmp_path / "nothing")])


def test_palette_steps_script(punk_data, tmp_path, capsys):
    out = tmp_path / "run"
    tiny_punk_run(punk_data, out, 2)
    script = runpy.run_path(str(EXAMPLES.parent / "benchmarks" / "palette_steps.py"), run_name="not_main")
    assert script["main"]([str(out), str(out / "checkpoint.npz"), "--data-dir", str(punk_data), "--n", "20"]) == 0
    lines = capsys.readouterr().out.splitlines()
    a, b = (list(map(float, line.split()[1:])) for line in lines[1:3])
    assert len(a) == 4 and a == b and all(0 <= v <= 1 for v in a)          # the folder and its checkpoint agree
    with pytest.raises(SystemExit):
        script["main"]([str(tmp_path / "nothing"), "--data-dir", str(punk_data)])
    assert "no checkpoint" in capsys.readouterr().err


def test_snapped_coverage_script(punk_data, tmp_path, capsys):
    out = tmp_path / "run"
    tiny_punk_run(punk_data, out, 2)
    (out / "data.json").write_text(json.dumps({"size": 24, "background": list(DEFAULT_BACKGROUND), "holdout": 10}))
    script = runpy.run_path(str(EXAMPLES.parent / "benchmarks" / "snapped_coverage.py"), run_name="not_main")
    assert script["main"]([str(out), "--data-dir", str(punk_data), "--n", "40"]) == 0
    r = json.loads((out / "snapped_coverage.json").read_text())
    assert r["n"] == 40 and set(r["as_drawn"]["rates"]) == {"earring", "pipe", *pq.TYPES}
    assert r["as_drawn"]["rates"]["pipe"]["real"] == r["snapped_to_palette"]["rates"]["pipe"]["real"]
    assert "snapped to the palette" in capsys.readouterr().out
    # known answer: punks already on the palette are unchanged by snapping, so both rates agree
    d = pq.labelled_punks(punk_data, None, 24, DEFAULT_BACKGROUND, 10, progress=False)
    real_u8 = pq.to_uint8(d["punks"], "tanh")
    pal = pq.palette(real_u8)
    drawn, snapped = script["snapped_rates"](d["clf"], real_u8, pal, d["names"])
    assert drawn == snapped
    with pytest.raises(SystemExit, match="does not exist"):
        script["main"]([str(tmp_path / "nothing"), "--data-dir", str(punk_data)])


def test_code_speckle_script(punk_data, tmp_path, capsys):
    out = tmp_path / "run"
    tiny_punk_run(punk_data, out, 2)
    (out / "data.json").write_text(json.dumps({"size": 24, "background": list(DEFAULT_BACKGROUND), "holdout": 10}))
    script = runpy.run_path(str(EXAMPLES.parent / "benchmarks" / "code_speckle.py"), run_name="not_main")
    assert script["main"]([str(out), "--data-dir", str(punk_data), "--n", "20", "--values=-1,0,1",
                           "--scales", "1,0"]) == 0
    r = json.loads((out / "code_speckle.json").read_text())
    assert len(r["by_code"]["codes"]) == 2 and all(len(row) == 3 for row in r["by_code"]["codes"])
    # known answers: a code set to 0 (the middle column) is the all-zero latent; scale 0 is it too
    assert [row[1] for row in r["by_code"]["codes"]] == [r["by_code"]["all_zero"]] * 2
    assert r["scaled"][1]["palette"] == r["by_code"]["all_zero"]
    assert [s["scale"] for s in r["scaled"]] == [1.0, 0.0] and "Fréchet" in capsys.readouterr().out
    # scale 1 draws the latents unchanged
    model, _ = load_model(out / "checkpoint.npz")
    lat = np.random.default_rng(0).uniform(-1, 1, (6, model.cfg.latent_dim)).astype(np.float32)
    np.testing.assert_array_equal(script["with_codes"](model.cfg, lat, lat[:, -2:]), lat)
    with pytest.raises(SystemExit):
        script["main"]([str(out), "--values", "a,b"])
    assert "separated by commas" in capsys.readouterr().err
    with pytest.raises(SystemExit, match="does not exist"):
        script["main"]([str(tmp_path / "nothing"), "--data-dir", str(punk_data)])


def test_code_direction_script(punk_data, tmp_path, capsys):
    script = runpy.run_path(str(EXAMPLES.parent / "benchmarks" / "code_direction.py"), run_name="not_main")
    share = script["facing_share"]
    # known answers: with_ quartiles 0.7 / 0.8 / 0.9 (of 0.6 .. 1.0); without at -0.5 .. 0.5
    with_, without = np.linspace(0.6, 1.0, 5), np.linspace(-0.5, 0.5, 11)
    assert share(with_, without, 0.0) == (pytest.approx(0.7), 0.0)         # no shift: none past 0.7
    edge, s = share(with_, without, 0.75)                                   # moved to 0.25 .. 1.25: 0.75 .. 1.25 past
    assert edge == pytest.approx(0.7) and s == pytest.approx(6 / 11)
    edge, s = share(-with_, -without, -0.75)                                # the mirror image: the upper quartile
    assert edge == pytest.approx(-0.7) and s == pytest.approx(6 / 11)
    parts = script["direction_parts"]
    v = np.array([3.0, 4.0, 0.0, -0.2, 0.6, 0.1, 1.0, 0.0, 0.0])          # z (2) | c (4) | c' (3)
    nz, nc, ncodes, top = parts(v, 2, 4)
    assert (nz, nc, ncodes, top) == (pytest.approx(5.0), pytest.approx(np.sqrt(0.41)), pytest.approx(1.0), 2)
    out = tmp_path / "run"
    tiny_punk_run(punk_data, out, 2)
    (out / "data.json").write_text(json.dumps({"size": 24, "background": list(DEFAULT_BACKGROUND), "holdout": 10}))
    with pytest.raises(SystemExit):
        script["main"]([str(out), "--attribute", "pipe", "--code", "5", "--data-dir", str(punk_data)])
    assert "--code must be in 0 .. 1" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        script["main"]([str(out), "--attribute", "pip", "--code", "0", "--data-dir", str(punk_data)])
    assert "not one of the classifier's" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        script["main"]([str(tmp_path / "nothing"), "--attribute", "pipe", "--code", "0"])
    assert "does not exist" in capsys.readouterr().err
