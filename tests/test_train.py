"""Training loop: a smoke run on synthetic data, exact resume, NaN stop, no clobbering,
and the command-line checks of examples/train_mnist.py."""
import json
import math
import runpy
import sys
from pathlib import Path

import numpy as np
import pytest

from tinygan.infogan import InfoGAN, InfoGANConfig, sample_latent
from tinygan.train import (OutputExists, TrainConfig, TrainingDiverged, load_model, read_checkpoint,
                           train)

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def tiny_cfg():
    return InfoGANConfig(img_size=8, n_noise=4, n_cat=3, n_cont=2, width=4, fc=16)


def synthetic(n=40, seed=0):
    return np.random.default_rng(seed).random((n, 1, 8, 8)).astype(np.float32)


def metrics(out):
    return [json.loads(line) for line in open(Path(out) / "metrics.jsonl")]


def strip(rows):
    """Metrics rows without their wall-clock times, which differ from run to run."""
    return [{k: v for k, v in r.items() if k != "time"} for r in rows]


def test_smoke_run_writes_everything(tmp_path):
    out = tmp_path / "run"
    model = train(tiny_cfg(), TrainConfig(steps=6, batch_size=8, sample_every=3, ckpt_every=3),
                  synthetic(), out, progress=False)
    assert (out / "checkpoint.npz").is_file() and (out / "loss_curve.png").is_file()
    assert sorted(p.name for p in (out / "samples").iterdir()) == ["step_000003.png", "step_000006.png"]
    rows = metrics(out)
    assert [r["step"] for r in rows] == list(range(1, 7))
    assert all(math.isfinite(r["loss_d"]) and math.isfinite(r["loss_g"]) for r in rows)
    arrays, meta = read_checkpoint(out / "checkpoint.npz")
    assert meta["step"] == 6 and meta["config"] == tiny_cfg().to_dict()
    assert "opt_d.g_sum.trunk.0.w" in arrays and "G.buffers.1.running_var" in arrays
    again, _ = load_model(out / "checkpoint.npz")
    np.testing.assert_array_equal(again.G.params["0.w"], model.G.params["0.w"])


def test_resume_reproduces_the_uninterrupted_run(tmp_path):
    cfg, x = tiny_cfg(), synthetic()
    full = TrainConfig(steps=8, batch_size=8, sample_every=0, ckpt_every=4)
    train(cfg, full, x, tmp_path / "a", progress=False)
    train(cfg, TrainConfig(steps=4, batch_size=8, sample_every=0, ckpt_every=4), x, tmp_path / "b", progress=False)
    train(cfg, full, x, tmp_path / "b", resume=True, progress=False)
    a, b = metrics(tmp_path / "a"), metrics(tmp_path / "b")
    assert strip(a) == strip(b)
    assert len(b) == 8


def test_resumed_run_clock_goes_on_from_the_checkpoint(tmp_path):
    """The metrics' training clock of a resumed run continues from the last kept step's, so
    the last line says how long the whole training took, not only its last part."""
    cfg, x = tiny_cfg(), synthetic()
    train(cfg, TrainConfig(steps=4, batch_size=8, sample_every=0, ckpt_every=4), x, tmp_path / "b", progress=False)
    path = tmp_path / "b" / "metrics.jsonl"
    rows = metrics(tmp_path / "b")
    rows[-1]["time"] = 1000.0                        # as if the first part had taken 1000 s
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    train(cfg, TrainConfig(steps=6, batch_size=8, sample_every=0, ckpt_every=4), x, tmp_path / "b",
          resume=True, progress=False)
    times = [r["time"] for r in metrics(tmp_path / "b")]
    assert len(times) == 6 and times[3] == 1000.0
    assert 1000.0 < times[4] <= times[5] < 1000.0 + 60


def test_keep_every_keeps_step_checkpoints(tmp_path):
    """keep_every=2 over 5 steps: checkpoint_step000002 and 000004 beside the latest, each
    the model at its step; --overwrite removes them with the rest of the old run."""
    model = train(tiny_cfg(), TrainConfig(steps=5, batch_size=8, sample_every=0, ckpt_every=0, keep_every=2),
                  synthetic(), tmp_path, progress=False)
    kept = sorted(p.name for p in tmp_path.glob("checkpoint_step*.npz"))
    assert kept == ["checkpoint_step000002.npz", "checkpoint_step000004.npz"]
    at4, meta = load_model(tmp_path / "checkpoint_step000004.npz")
    assert meta["step"] == 4 and read_checkpoint(tmp_path / "checkpoint.npz")[1]["step"] == 5
    assert not np.array_equal(at4.G.params["0.w"], model.G.params["0.w"])
    train(tiny_cfg(), TrainConfig(steps=1, batch_size=8, sample_every=0), synthetic(), tmp_path,
          overwrite=True, progress=False)
    assert not list(tmp_path.glob("checkpoint_step*.npz"))


def test_same_seed_same_losses(tmp_path):
    cfg, x, tc = tiny_cfg(), synthetic(), TrainConfig(steps=3, batch_size=8, sample_every=0)
    train(cfg, tc, x, tmp_path / "a", progress=False)
    train(cfg, tc, x, tmp_path / "b", progress=False)
    assert [r["loss_d"] for r in metrics(tmp_path / "a")] == [r["loss_d"] for r in metrics(tmp_path / "b")]


def test_refuses_to_clobber(tmp_path):
    tc = TrainConfig(steps=2, batch_size=8, sample_every=0)
    train(tiny_cfg(), tc, synthetic(), tmp_path / "r", progress=False)
    with pytest.raises(OutputExists, match="--resume .* --overwrite"):
        train(tiny_cfg(), tc, synthetic(), tmp_path / "r", progress=False)
    train(tiny_cfg(), tc, synthetic(), tmp_path / "r", overwrite=True, progress=False)
    assert len(metrics(tmp_path / "r")) == 2


def test_resume_needs_a_checkpoint_and_the_same_config(tmp_path):
    tc = TrainConfig(steps=2, batch_size=8, sample_every=0)
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        train(tiny_cfg(), tc, synthetic(), tmp_path / "none", resume=True, progress=False)
    train(tiny_cfg(), tc, synthetic(), tmp_path / "r", progress=False)
    other = tiny_cfg()
    other.lambda_cat = 2.0
    with pytest.raises(ValueError, match="lambda_cat"):
        train(other, TrainConfig(steps=4, batch_size=8), synthetic(), tmp_path / "r", resume=True, progress=False)


def test_nan_stops_and_keeps_the_last_good_checkpoint(tmp_path, monkeypatch):
    real_step = InfoGAN.step
    calls = {"n": 0}

    def step(self, real):
        calls["n"] += 1
        out = real_step(self, real)
        if calls["n"] == 5:
            out["loss_g"] = float("nan")
        return out
    monkeypatch.setattr(InfoGAN, "step", step)
    out = tmp_path / "r"
    with pytest.raises(TrainingDiverged, match="step 5: loss loss_g became nan"):
        train(tiny_cfg(), TrainConfig(steps=10, batch_size=8, sample_every=0, ckpt_every=2),
              synthetic(), out, progress=False)
    assert read_checkpoint(out / "checkpoint.npz")[1]["step"] == 4


def test_checkpoint_not_written_over_by_broken_parameters(tmp_path, monkeypatch):
    real_step = InfoGAN.step
    calls = {"n": 0}

    def step(self, real):
        calls["n"] += 1
        out = real_step(self, real)
        if calls["n"] == 4:  # finite losses, but the update broke the weights
            self.G.params["0.w"][0, 0] = np.inf
        return out
    monkeypatch.setattr(InfoGAN, "step", step)
    with pytest.raises(TrainingDiverged, match="parameters"):
        train(tiny_cfg(), TrainConfig(steps=10, batch_size=8, sample_every=0, ckpt_every=2),
              synthetic(), tmp_path / "r", progress=False)
    assert read_checkpoint(tmp_path / "r" / "checkpoint.npz")[1]["step"] == 2


def test_bad_training_config():
    with pytest.raises(ValueError, match="batch size"):
        TrainConfig(batch_size=1).validate()
    with pytest.raises(ValueError, match="steps"):
        TrainConfig(steps=0).validate()


def test_not_a_checkpoint(tmp_path):
    (tmp_path / "x.npz").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="not a readable tinygan checkpoint"):
        read_checkpoint(tmp_path / "x.npz")


# ----------------------------------------------------------------------------- the script
def run_script(name, args, monkeypatch):
    monkeypatch.setattr(sys, "argv", [name] + [str(a) for a in args])
    with pytest.raises(SystemExit) as e:
        runpy.run_path(str(EXAMPLES / name), run_name="__main__")
    return e.value.code


@pytest.mark.parametrize("args,needle", [
    (["--steps", "0"], "--steps: must be a positive integer"),
    (["--batch-size", "1"], "batch size must be >= 2"),
    (["--lr-d", "-1"], "--lr-d: must be a positive number"),
    (["--lambda-cat", "nan"], "--lambda-cat: must be a number >= 0"),
    (["--n-cat", "0"], "--n-cat: must be a positive integer"),
    (["--resume", "--overwrite"], "cannot be used together"),
    (["--backend", "torch"], "invalid choice"),
    (["--cat-warmup", "-5"], "--cat-warmup: must be >= 0"),
    (["--lr-g-late", "100.5", "1e-4"], "--lr-g-late STEP must be a whole number"),
    (["--lr-g-late", "inf", "1e-4"], "--lr-g-late STEP must be a whole number"),
    (["--lr-g-late", "100", "0"], "lr_g_late and lr_g_late_from go together"),
    (["--beta1", "1"], "beta1 must be in [0, 1), got 1.0"),
    (["--beta1", "-0.5"], "--beta1: must be a number >= 0"),
])
def test_script_rejects_bad_flags(args, needle, monkeypatch, capsys):
    assert run_script("train_mnist.py", args, monkeypatch) == 2
    assert needle in capsys.readouterr().err


def test_script_help_lists_every_flag(monkeypatch, capsys):
    assert run_script("train_mnist.py", ["--help"], monkeypatch) == 0
    text = capsys.readouterr().out
    for flag in ["--backend", "--data-dir", "--out", "--steps", "--batch-size", "--seed", "--n-cat", "--n-cont",
                 "--lambda-cat", "--lambda-cont", "--lr-d", "--lr-g", "--sample-every", "--ckpt-every",
                 "--resume", "--overwrite", "--lambda-aug", "--eval-every",
                 "--fidelity-n", "--g-average", "--lr-g-late", "--beta1"]:
        assert flag in text


def test_script_end_to_end_on_tiny_idx_files(tmp_path, monkeypatch, capsys):
    from test_data import write_split
    write_split(tmp_path / "mnist", "train", n=20)
    write_split(tmp_path / "mnist", "test", n=12)
    out = tmp_path / "run"
    args = ["--data-dir", tmp_path / "mnist", "--out", out, "--steps", 2, "--batch-size", 8,
            "--sample-every", 1, "--eval-every", 1, "--no-progress", "--fidelity-n", 40, "--g-average", 0.9]
    monkeypatch.setattr(sys, "argv", ["train_mnist.py"] + [str(a) for a in args])
    runpy.run_path(str(EXAMPLES / "train_mnist.py"), run_name="not_main")["main"]()
    log = [json.loads(line) for line in (out / "eval_log.jsonl").read_text().splitlines()]
    assert [e["step"] for e in log] == [1, 2]
    assert all(np.array(e["counts"]).shape == (10, 10) and np.sum(e["counts"]) == 12 for e in log)
    assert all(e["frechet_distance"] > 0 and e["frechet_distance_trained_weights"] > 0 for e in log)
    assert (out / "figure4_code0.png").is_file() and (out / "figure4_code1.png").is_file()
    result = json.loads((out / "eval.json").read_text())
    assert result["n_images"] == 12 and 0 <= result["accuracy"] <= 1
    assert result["fidelity"]["n_generated"] == 40 and result["fidelity"]["frechet_distance"] > 0
    assert "frechet_distance_trained_weights" in result["fidelity"]         # --g-average: both measured
    assert "Fréchet distance of 40 generated digits" in capsys.readouterr().out
    assert (out / "confusion.png").is_file()
    # evaluate_mnist.py --figure4 redraws the run's Figure 4 from its checkpoint, pixel for pixel
    again = tmp_path / "again"
    evaluate = runpy.run_path(str(EXAMPLES / "evaluate_mnist.py"), run_name="not_main")["main"]
    assert evaluate(["--checkpoint", str(out / "checkpoint.npz"), "--data-dir", str(tmp_path / "mnist"),
                     "--out", str(again), "--fidelity-n", "0", "--figure4"]) == 0
    for i in (0, 1):
        assert (again / f"figure4_code{i}.png").read_bytes() == (out / f"figure4_code{i}.png").read_bytes()
    # a second run into the same folder is refused with a message, exit code 1
    assert run_script("train_mnist.py", args, monkeypatch) == 1
    assert "already holds a training run" in capsys.readouterr().err


def test_script_missing_data_is_a_clear_error(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("TINYGAN_DATA", raising=False)
    monkeypatch.setenv("TINYGAN_MNIST_MIRRORS", "http://127.0.0.1:9/")
    assert run_script("train_mnist.py", ["--data-dir", tmp_path / "empty", "--out", tmp_path / "o"],
                      monkeypatch) == 1
    err = capsys.readouterr().err
    assert "was not found and could not be downloaded" in err and "Traceback" not in err


SHARED_MNIST = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mnist"


@pytest.mark.slow
@pytest.mark.skipif(not SHARED_MNIST.is_dir(), reason="no MNIST copy next to the project")
def test_short_real_training_beats_chance(tmp_path):
    """300 steps on real MNIST with the full Table I model and the default MNIST recipe
    (lambda_cont 0.1, consistency term on): Q's categories must already carry digit
    information on the test set (chance is about 0.11; full runs pass 0.95, docs/07-mnist.md)."""
    from tinygan.data import load_mnist
    from tinygan.evaluate import evaluate_mnist
    images, _ = load_mnist("train", SHARED_MNIST, download=False)
    x = (images[:20000].astype(np.float32) / 255.0)[:, None]
    model = train(InfoGANConfig(lambda_cont=0.1, lambda_aug=1.0), TrainConfig(steps=300, batch_size=64, sample_every=0),
                  x, tmp_path / "r", progress=False)
    acc = evaluate_mnist(model, *load_mnist("test", SHARED_MNIST, download=False))["accuracy"]
    assert acc > 0.3, acc


def test_fork_run_continues_a_run_under_changed_settings(tmp_path, capsys):
    fork = runpy.run_path(str(EXAMPLES.parent / "benchmarks" / "fork_run.py"), run_name="not_main")["main"]
    cfg, x = tiny_cfg(), synthetic()
    full = TrainConfig(steps=8, batch_size=8, sample_every=0, ckpt_every=4)
    train(cfg, full, x, tmp_path / "a", progress=False)
    train(cfg, TrainConfig(steps=4, batch_size=8, sample_every=0, ckpt_every=4), x, tmp_path / "b", progress=False)
    argv = sys.argv
    try:
        sys.argv = ["fork_run.py", "--from", str(tmp_path / "b"), "--out", str(tmp_path / "same")]
        fork()
        sys.argv = ["fork_run.py", "--from", str(tmp_path / "b"), "--out", str(tmp_path / "pal"),
                    "--set", "lambda_cont=0.5"]
        fork()
        with pytest.raises(SystemExit, match="exists"):
            fork()
        sys.argv = ["fork_run.py", "--from", str(tmp_path / "b"), "--out", str(tmp_path / "c"), "--set", "n_cat=4"]
        with pytest.raises(SystemExit, match="shapes"):
            fork()
    finally:
        sys.argv = argv
    # the control fork continues exactly as the uninterrupted run
    train(cfg, full, x, tmp_path / "same", resume=True, progress=False)
    assert strip(metrics(tmp_path / "same")) == strip(metrics(tmp_path / "a"))
    # the changed fork resumes only under its new settings, and then trains with them
    with pytest.raises(ValueError, match="lambda_cont"):
        train(cfg, full, x, tmp_path / "pal", resume=True, progress=False)
    changed = InfoGANConfig(**dict(cfg.to_dict(), lambda_cont=0.5))
    train(changed, full, x, tmp_path / "pal", resume=True, progress=False)
    rows, a = strip(metrics(tmp_path / "pal")), strip(metrics(tmp_path / "a"))
    assert [r["step"] for r in rows] == list(range(1, 9))
    assert rows[:4] == a[:4] and rows[4]["loss_g"] != a[4]["loss_g"]    # the same past, a new weight


def test_fork_run_continues_an_earlier_kept_checkpoint(tmp_path):
    """--checkpoint checkpoint_step000004.npz forks from step 4 of a finished 8-step run: the
    control continues exactly as the run itself did from there."""
    fork = runpy.run_path(str(EXAMPLES.parent / "benchmarks" / "fork_run.py"), run_name="not_main")["main"]
    cfg, x = tiny_cfg(), synthetic()
    full = TrainConfig(steps=8, batch_size=8, sample_every=0, ckpt_every=4, keep_every=4)
    train(cfg, full, x, tmp_path / "a", progress=False)
    argv = sys.argv
    try:
        sys.argv = ["fork_run.py", "--from", str(tmp_path / "a"), "--out", str(tmp_path / "b"),
                    "--checkpoint", "checkpoint_step000004.npz"]
        fork()
        sys.argv = ["fork_run.py", "--from", str(tmp_path / "a"), "--out", str(tmp_path / "c"),
                    "--checkpoint", "checkpoint_step000005.npz"]
        with pytest.raises(SystemExit, match="not found"):
            fork()
    finally:
        sys.argv = argv
    assert read_checkpoint(tmp_path / "b" / "checkpoint.npz")[1]["step"] == 4    # not the last one's 8
    train(cfg, full, x, tmp_path / "b", resume=True, progress=False)
    assert strip(metrics(tmp_path / "b")) == strip(metrics(tmp_path / "a"))


def test_config_overrides_types_each_value_as_its_field():
    from tinygan.cli import config_overrides
    assert config_overrides(["lambda_cont=0.5", "n_cat=20", "fixed_std=false"]) == \
        {"lambda_cont": 0.5, "n_cat": 20, "fixed_std": False}
    for bad, msg in [("lambda_cont", "expected KEY=VALUE"), ("nope=1", "no field"),
                     ("n_cat=two", "expected a int"), ("fixed_std=maybe", "expected a bool")]:
        with pytest.raises(SystemExit, match=msg):
            config_overrides([bad])


def test_switch_flags_take_the_scripts_default_and_turn_both_ways():
    from tinygan.cli import configs_from_args, training_parser
    fixed = {"img_channels": 1, "img_size": 8}
    for default in (False, True):
        parser = training_parser("", {"out": "runs/x", "g_modulation": default})
        for argv, want in [([], default), (["--g-modulation"], True), (["--no-g-modulation"], False)]:
            model_cfg, _ = configs_from_args(parser.parse_args(argv), fixed)
            assert model_cfg.g_modulation is want, (default, argv)


def test_gpu_runs_script_runs_a_list_side_by_side(tmp_path):
    """benchmarks/gpu_runs.sh on the CPU (BACKEND=numpy): two tiny MNIST runs two at a time,
    each logged with its exit status, checkpoints removed with KEEP_CKPT=0; a missing script
    stops it before anything runs."""
    import os
    import subprocess
    from test_data import write_split
    data = tmp_path / "data"
    write_split(data / "mnist", "train", n=20)
    write_split(data / "mnist", "test", n=12)
    root = EXAMPLES.parent
    flags = "--steps 2 --batch-size 8 --sample-every 0 --no-eval"
    env = dict(os.environ, TINYGAN_DATA=str(data), OUT=str(tmp_path / "out"), BACKEND="numpy", PARALLEL="2",
               KEEP_CKPT="0", HOME=str(tmp_path / "home"), PYTHONPATH=str(root),
               RUNS=f"a|examples/train_mnist.py|--seed 0 {flags}\nb|examples/train_mnist.py|--seed 1 {flags}")
    done = subprocess.run(["bash", "benchmarks/gpu_runs.sh"], cwd=root, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    for name in ("a", "b"):
        log = (tmp_path / "out" / f"{name}.log").read_text()
        assert f"exit 0 (run {name})" in log and "[run_measured] examples/train_mnist.py: exit 0" in log
        assert (tmp_path / "out" / name / "metrics.jsonl").is_file()
        assert not (tmp_path / "out" / name / "checkpoint.npz").exists()
    assert "== a:" in done.stdout and "== b:" in done.stdout
    env["RUNS"] = "c|examples/no_such_script.py|"
    bad = subprocess.run(["bash", "benchmarks/gpu_runs.sh"], cwd=root, env=env, capture_output=True, text=True,
                         timeout=60)
    assert bad.returncode == 2 and "no script examples/no_such_script.py" in bad.stderr
    assert not (tmp_path / "out" / "c.log").exists()


def test_early_variety_sees_a_g_that_ignores_its_latent():
    """benchmarks/early_variety.py: a fresh G draws different images for different latents;
    a G whose first layer reads nothing of the latent draws one image for all (variety 0)."""
    mod = runpy.run_path(str(EXAMPLES.parent / "benchmarks" / "early_variety.py"), run_name="not_main")
    cfg = mod["punk_config"](n_noise=3, n_cat=2, n_cont=1, width=4, fc=8, img_size=8)
    images = np.random.default_rng(0).uniform(-1, 1, (16, 3, 8, 8)).astype(np.float32)
    rows = mod["early_variety"](cfg, images, steps=2, seed=0, every=1, batch_size=8)
    assert [r[0] for r in rows] == [0, 1, 2]
    assert all(s > 0 and v > 0 for _, s, v in rows)
    latent = sample_latent(cfg, 64, np.random.default_rng(1))[0]
    model = InfoGAN(cfg, seed=0)
    assert mod["pixel_std_and_variety"](model, latent)[1] > 1e-3
    model.G[0].params["w"][...] = 0                     # G's first layer now ignores the latent
    model.G[-2].params["b"][...] = np.array([0.1, -0.2, 0.3])   # and draws one flat colour
    std, variety = mod["pixel_std_and_variety"](model, latent)
    assert std > 1e-3 and variety < 1e-6
