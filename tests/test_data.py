"""The MNIST loader: tiny IDX files written by the tests, bad files, the search order,
and downloads from HTTP servers on 127.0.0.1 (one down, one serving a corrupt file)."""
import gzip
import hashlib
import http.server
import socket
import struct
import threading
from functools import partial
from pathlib import Path

import numpy as np
import pytest

from tinygan import data
from tinygan.data import DataError, load_mnist

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mnist"


def idx_bytes(array, magic):
    a = np.asarray(array, np.uint8)
    return struct.pack(">I", magic) + struct.pack(f">{a.ndim}I", *a.shape) + a.tobytes()


def write_split(folder, split, n=6, gz=True, seed=0):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, n, dtype=np.uint8)
    folder.mkdir(parents=True, exist_ok=True)
    for stem, arr, magic in zip(data.SPLITS[split], (images, labels), (2051, 2049)):
        raw = idx_bytes(arr, magic)
        (folder / (stem + (".gz" if gz else ""))).write_bytes(gzip.compress(raw) if gz else raw)
    return images, labels


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """No real home cache, no TINYGAN_DATA, no mirrors from the environment."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("TINYGAN_DATA", raising=False)
    monkeypatch.delenv("TINYGAN_MNIST_MIRRORS", raising=False)


@pytest.mark.parametrize("gz", [True, False])
def test_loads_tiny_files(tmp_path, gz):
    images, labels = write_split(tmp_path / "d", "test", gz=gz)
    got_i, got_l = load_mnist("test", tmp_path / "d", download=False)
    np.testing.assert_array_equal(got_i, images)
    np.testing.assert_array_equal(got_l, labels)


def test_search_order(tmp_path, monkeypatch):
    _, env_labels = write_split(tmp_path / "env" / "mnist", "train", seed=1)
    _, cache_labels = write_split(tmp_path / "home" / ".cache" / "tinygan" / "mnist", "train", seed=2)
    _, flag_labels = write_split(tmp_path / "flag", "train", seed=3)
    np.testing.assert_array_equal(load_mnist("train", download=False)[1], cache_labels)
    monkeypatch.setenv("TINYGAN_DATA", str(tmp_path / "env"))
    np.testing.assert_array_equal(load_mnist("train", download=False)[1], env_labels)
    np.testing.assert_array_equal(load_mnist("train", tmp_path / "flag", download=False)[1], flag_labels)


def test_missing_offline_says_where(tmp_path):
    with pytest.raises(DataError) as e:
        load_mnist("train", tmp_path / "nothing", download=False)
    msg = str(e.value)
    assert "train-images-idx3-ubyte" in msg and str(tmp_path / "nothing") in msg and "TINYGAN_DATA" in msg


def test_truncated_gzip(tmp_path):
    write_split(tmp_path, "test")
    f = tmp_path / "t10k-images-idx3-ubyte.gz"
    f.write_bytes(f.read_bytes()[:50])
    with pytest.raises(DataError, match=r"t10k-images-idx3-ubyte.gz: corrupt or truncated gzip"):
        load_mnist("test", tmp_path, download=False)


def test_truncated_content(tmp_path):
    write_split(tmp_path, "test", gz=False)
    f = tmp_path / "t10k-images-idx3-ubyte"
    f.write_bytes(f.read_bytes()[:-10])
    with pytest.raises(DataError, match=r"t10k-images-idx3-ubyte: header says 6 items .*truncated"):
        load_mnist("test", tmp_path, download=False)


def test_wrong_magic(tmp_path):
    write_split(tmp_path, "test", gz=False)
    f = tmp_path / "t10k-labels-idx1-ubyte"
    raw = bytearray(f.read_bytes())
    raw[3] = 0x03  # a 3-D file where labels (1-D) are expected
    f.write_bytes(bytes(raw))
    with pytest.raises(DataError, match="t10k-labels-idx1-ubyte: wrong magic number 0x00000803"):
        load_mnist("test", tmp_path, download=False)


def test_count_mismatch(tmp_path):
    write_split(tmp_path, "test", n=6)
    rng = np.random.default_rng(0)
    (tmp_path / "t10k-labels-idx1-ubyte.gz").write_bytes(
        gzip.compress(idx_bytes(rng.integers(0, 10, 5), 2049)))
    with pytest.raises(DataError, match="6 images but 5 labels"):
        load_mnist("test", tmp_path, download=False)


def test_bad_split():
    with pytest.raises(ValueError, match="split"):
        load_mnist("validation")


# ----------------------------------------------------------------------------- downloads
class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def serve():
    servers = []

    def start(folder):
        srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(Quiet, directory=str(folder)))
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        servers.append(srv)
        return f"http://127.0.0.1:{srv.server_address[1]}/"
    yield start
    for srv in servers:
        srv.shutdown()
        srv.server_close()


def dead_url():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    return f"http://127.0.0.1:{port}/"


def patch_checksums(monkeypatch, folder, split):
    """Make the tiny files the 'official' ones, so the real download-and-verify path runs."""
    table = dict(data.MNIST_FILES)
    for stem in data.SPLITS[split]:
        raw = gzip.decompress((folder / (stem + ".gz")).read_bytes())
        size, _, magic, shape = table[stem]
        table[stem] = (len(raw), hashlib.md5(raw).hexdigest(), magic, shape)
    monkeypatch.setattr(data, "MNIST_FILES", table)


def test_download_tries_the_next_mirror(tmp_path, monkeypatch, serve):
    good_dir, bad_dir = tmp_path / "good", tmp_path / "bad"
    images, labels = write_split(good_dir, "test")
    write_split(bad_dir, "test", seed=9)  # well-formed but different content: fails md5
    patch_checksums(monkeypatch, good_dir, "test")
    corrupt = bad_dir / "t10k-labels-idx1-ubyte.gz"
    corrupt.write_bytes(corrupt.read_bytes()[:-5])  # and one truncated
    urls = [dead_url(), serve(bad_dir), serve(good_dir)]
    monkeypatch.setenv("TINYGAN_MNIST_MIRRORS", ",".join(urls))
    got_i, got_l = load_mnist("test")
    np.testing.assert_array_equal(got_i, images)
    np.testing.assert_array_equal(got_l, labels)
    cached = tmp_path / "home" / ".cache" / "tinygan" / "mnist"
    assert sorted(p.name for p in cached.iterdir()) == ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]


def test_download_into_data_dir(tmp_path, monkeypatch, serve):
    write_split(tmp_path / "good", "test")
    patch_checksums(monkeypatch, tmp_path / "good", "test")
    load_mnist("test", tmp_path / "mine", mirror_urls=[serve(tmp_path / "good")])
    assert (tmp_path / "mine" / "t10k-images-idx3-ubyte.gz").is_file()


def test_all_mirrors_fail(tmp_path, monkeypatch, serve):
    write_split(tmp_path / "bad", "test", seed=9)
    write_split(tmp_path / "good", "test")
    patch_checksums(monkeypatch, tmp_path / "good", "test")
    dead, bad = dead_url(), serve(tmp_path / "bad")
    with pytest.raises(DataError) as e:
        load_mnist("test", mirror_urls=[dead, bad])
    msg = str(e.value)
    assert dead in msg and bad in msg and "md5" in msg and "was not found" in msg
    assert not list((tmp_path / "home").rglob("*.gz")) and not list((tmp_path / "home").rglob("*.part"))


@pytest.mark.skipif(not SHARED.is_dir(), reason="no shared MNIST copy next to the project")
def test_real_mnist_if_present(tmp_path, serve):
    images, labels = load_mnist("test", SHARED, download=False)
    assert images.shape == (10000, 28, 28) and labels.shape == (10000,)
    assert np.bincount(labels).tolist()[:3] == [980, 1135, 1032]
    # and the real files verify through the download path too
    load_mnist("test", tmp_path / "dl", mirror_urls=[serve(SHARED)])
