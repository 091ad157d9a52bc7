"""Files: atomic writes, verified downloads (from file:// mirrors), and the checks of the
paths a user gives, down to the one-line message a script prints."""
import json
import os
import runpy
import sys
from pathlib import Path

import numpy as np
import pytest

from tinygan.io import (PathError, atomic_save_npz, atomic_write, check_data_dir, check_in_file, check_out_dir,
                        run_checkpoint, sha256, verified_download, write_json, writable_dir)

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_atomic_write_replaces_whole_and_leaves_nothing_behind(tmp_path):
    p = tmp_path / "f.txt"
    atomic_write(p, "old")
    atomic_write(p, b"new")
    assert p.read_text() == "new" and os.listdir(tmp_path) == ["f.txt"]


def test_a_failed_write_keeps_the_old_file(tmp_path, monkeypatch):
    p = tmp_path / "f.json"
    write_json(p, {"a": 1})

    def broken_replace(src, dst):
        raise OSError("disk full")
    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        write_json(p, {"a": 2})
    monkeypatch.undo()
    assert json.loads(p.read_text()) == {"a": 1} and os.listdir(tmp_path) == ["f.json"]


def test_atomic_save_npz_round_trip(tmp_path):
    atomic_save_npz(tmp_path / "a.npz", {"k": [1, 2]}, x=np.arange(3))
    with np.load(tmp_path / "a.npz") as z:
        assert json.loads(z["__meta__"].tobytes()) == {"k": [1, 2]} and z["x"].tolist() == [0, 1, 2]


def test_verified_download_takes_the_first_good_mirror(tmp_path):
    bad, good = tmp_path / "bad.bin", tmp_path / "good.bin"
    bad.write_bytes(b"corrupt")
    good.write_bytes(b"payload")
    urls = [(tmp_path / "missing.bin").as_uri(), bad.as_uri(), good.as_uri()]
    check = lambda raw: None if sha256(raw) == sha256(b"payload") else "checksum differs"  # noqa: E731
    target = verified_download(urls, check, tmp_path / "out" / "file.bin")
    assert target.read_bytes() == b"payload"
    with pytest.raises(OSError) as e:
        verified_download(urls[:2], check, tmp_path / "out" / "other.bin")
    assert "missing.bin" in str(e.value) and "checksum differs" in str(e.value)
    assert not (tmp_path / "out" / "other.bin").exists()


def test_path_checks(tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(PathError, match="is a file, not a folder"):
        check_out_dir(f)
    with pytest.raises(PathError, match="is a file, not a folder"):
        check_out_dir(f / "sub" / "run")                       # a file where a parent folder should be
    with pytest.raises(PathError, match="is a file, not a folder"):
        check_data_dir(f)
    with pytest.raises(PathError, match="does not exist"):
        check_in_file(tmp_path / "nope.npz")
    with pytest.raises(PathError, match="is a folder, not a file"):
        check_in_file(tmp_path)
    assert check_out_dir(tmp_path / "new" / "deeper") == tmp_path / "new" / "deeper"   # creatable
    assert not (tmp_path / "new").exists()                                          # nothing created
    assert check_data_dir(tmp_path / "to-download-into") == tmp_path / "to-download-into"
    assert writable_dir([f, None, tmp_path / "cache"]) == tmp_path / "cache" and (tmp_path / "cache").is_dir()


def test_run_checkpoint_reads_a_folder_as_its_checkpoint(tmp_path):
    assert run_checkpoint(tmp_path) == tmp_path / "checkpoint.npz"
    assert run_checkpoint(tmp_path / "step.npz") == tmp_path / "step.npz"
    assert run_checkpoint(str(tmp_path / "missing")) == tmp_path / "missing"       # a path, not checked


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
def test_a_folder_that_cannot_be_written(tmp_path):
    """No write bit: refused, also for root, whom the system would let write."""
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        with pytest.raises(PathError, match="not writable"):
            check_out_dir(ro)
        with pytest.raises(PathError, match="cannot be created"):
            check_out_dir(ro / "run")
    finally:
        ro.chmod(0o700)


def run(name, argv, monkeypatch):
    monkeypatch.setattr(sys, "argv", [name] + [str(a) for a in argv])
    try:
        return runpy.run_path(str(EXAMPLES / name), run_name="not_main")["main"]()
    except SystemExit as e:
        return e.code


@pytest.mark.parametrize("name,argv,needle", [
    ("train_mnist.py", ["--out", "{file}"], "--out {file} is a file, not a folder"),
    ("train_mnist.py", ["--data-dir", "{file}", "--out", "{tmp}/o"], "--data-dir {file} is a file, not a folder"),
    ("train_cryptopunks.py", ["--out", "{file}/run"], "is a file, not a folder"),
    ("evaluate_mnist.py", ["--checkpoint", "{tmp}"], "is a folder, not a file"),
    ("sample.py", ["--checkpoint", "{tmp}/none.npz"], "does not exist"),
    ("tsne.py", ["--checkpoint", "{file}", "--out", "{file}"], "--out {file} is a file, not a folder"),
])
def test_scripts_refuse_bad_paths_in_one_line(tmp_path, monkeypatch, capsys, name, argv, needle):
    f = tmp_path / "file"
    f.write_text("x")
    fill = lambda s: s.format(file=f, tmp=tmp_path)  # noqa: E731
    assert run(name, [fill(a) for a in argv], monkeypatch) == 2
    err = capsys.readouterr().err
    assert fill(needle) in err and "Traceback" not in err
    assert len([line for line in err.splitlines() if line.startswith("error") or ": error:" in line]) == 1
