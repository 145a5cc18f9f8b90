"""Tests of minidl.datasets.notmnist and minidl.utils.to_categorical. Never touch the network."""

from __future__ import annotations

import io
import os
import shutil
import tarfile
import urllib.error
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from minidl.datasets import notmnist
from minidl.utils import to_categorical

REAL_DOWNLOAD = notmnist.download_archive  # kept before the autouse fixture below replaces it
# Read before the autouse fixture below clears the variable.
REAL_NPZ = Path(os.environ.get("MINIDL_NOTMNIST") or Path(__file__).resolve().parents[2] / "shared/data/notMNIST.npz")


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch, tmp_path):
    """No test reads the user's env/cache or downloads anything unless it asks for it."""
    monkeypatch.delenv("MINIDL_NOTMNIST", raising=False)
    monkeypatch.setenv("MINIDL_CACHE_DIR", str(tmp_path / "default-cache"))

    def no_network(url, dest):
        raise AssertionError("a test tried to download " + url)

    monkeypatch.setattr(notmnist, "download_archive", no_network)


# --------------------------------------------------------------------------------------- tiny archive


def glyph(value: int) -> np.ndarray:
    """A distinct 28x28 uint8 image: a constant plus a small gradient (so the orientation is checked too)."""
    return ((value + np.arange(28 * 28).reshape(28, 28)) % 256).astype(np.uint8)


def png_bytes(image: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(image, mode="L").save(buf, format="PNG")
    return buf.getvalue()


# Members in tar order (deliberately not sorted). Case-sensitive sorting would put "Banana" before "apple".
TINY_MEMBERS = [
    ("notMNIST_small/C/zeta.png", 70),
    ("notMNIST_small/C/Alpha.png", 60),
    ("notMNIST_small/A/cherry.png", 30),
    ("notMNIST_small/A/Banana.png", 20),
    ("notMNIST_small/A/apple.png", 10),
    ("notMNIST_small/A/empty.png", None),  # empty file: skipped
    ("notMNIST_small/B/Delta.png", 50),
    ("notMNIST_small/B/corrupt.png", "garbage"),  # not a PNG: skipped
    ("notMNIST_small/B/beta.png", 40),
    ("notMNIST_small/README.txt", "not an image"),  # ignored: not in a class directory
    ("other/A/x.png", 99),  # ignored: not under notMNIST_small
]
# Expected rows: classes A..J, names case-insensitively sorted.
TINY_ORDER = [(0, 10), (0, 20), (0, 30), (1, 40), (1, 50), (2, 60), (2, 70)]


def make_archive(path: Path, members=TINY_MEMBERS) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, content in members:
            if content is None:
                data = b""
            elif isinstance(content, str):
                data = content.encode()
            else:
                data = png_bytes(glyph(content))
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


@pytest.fixture
def tiny_archive(tmp_path) -> Path:
    return make_archive(tmp_path / "notMNIST_small.tar.gz")


def write_npz(path: Path, n: int) -> Path:
    """A valid small notMNIST-like file with n rows (the row count tells which file was loaded)."""
    np.savez_compressed(
        path, images=np.stack([glyph(i) for i in range(n)]), labels=(np.arange(n) % 10).astype(np.uint8)
    )
    return path


# --------------------------------------------------------------------------------------------- builder


def test_build_npz_order_labels_pixels(tiny_archive, tmp_path):
    out = tmp_path / "out" / "notMNIST.npz"  # parent dir does not exist yet
    n, skipped = notmnist.build_npz(tiny_archive, out)
    assert n == len(TINY_ORDER)
    assert sorted(skipped) == ["notMNIST_small/A/empty.png", "notMNIST_small/B/corrupt.png"]
    with np.load(out) as data:
        assert sorted(data.files) == ["images", "labels"]
        images, labels = data["images"], data["labels"]
    assert images.dtype == np.uint8 and images.shape == (n, 28, 28)
    assert labels.dtype == np.uint8 and labels.tolist() == [label for label, _ in TINY_ORDER]
    for row, (_, value) in enumerate(TINY_ORDER):
        np.testing.assert_array_equal(images[row], glyph(value))
    # The built file passes load_arrays' checks.
    notmnist.load_arrays(out)


def test_build_npz_writes_atomically(tiny_archive, tmp_path, monkeypatch):
    out_dir = tmp_path / "cache"
    out = out_dir / "notMNIST.npz"
    notmnist.build_npz(tiny_archive, out)
    assert os.listdir(out_dir) == ["notMNIST.npz"]  # no temporary file left behind
    assert out.stat().st_mode & 0o777 == 0o644
    before = out.read_bytes()

    def crash(f, **arrays):  # dies half way through writing, like a full disk or Ctrl-C
        f.write(b"PK partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(notmnist.np, "savez_compressed", crash)
    with pytest.raises(KeyboardInterrupt):
        notmnist.build_npz(tiny_archive, out)
    assert out.read_bytes() == before  # the old file is intact...
    assert os.listdir(out_dir) == ["notMNIST.npz"]  # ...and the partial temporary file is gone


def test_build_npz_bad_archives(tmp_path):
    bad = tmp_path / "bad.tar.gz"
    bad.write_bytes(b"this is not a gzip file")
    with pytest.raises(ValueError, match="bad.tar.gz.*not a readable"):
        notmnist.build_npz(bad, tmp_path / "x.npz")

    truncated = tmp_path / "truncated.tar.gz"
    truncated.write_bytes(make_archive(tmp_path / "full.tar.gz").read_bytes()[:200])
    with pytest.raises(ValueError, match="truncated.tar.gz"):
        notmnist.build_npz(truncated, tmp_path / "x.npz")

    no_pngs = make_archive(tmp_path / "empty.tar.gz", [("notMNIST_small/README.txt", "hi")])
    with pytest.raises(ValueError, match="no notMNIST_small"):
        notmnist.build_npz(no_pngs, tmp_path / "x.npz")

    with pytest.raises(FileNotFoundError):
        notmnist.build_npz(tmp_path / "missing.tar.gz", tmp_path / "x.npz")
    assert not (tmp_path / "x.npz").exists()


# ------------------------------------------------------------------------------------ bad .npz files


def corrupt_middle(path: Path) -> None:
    data = bytearray(path.read_bytes())
    mid = len(data) // 2
    data[mid : mid + 64] = bytes(64)
    path.write_bytes(bytes(data))


def write_variant(path: Path, kind: str) -> None:
    images = np.stack([glyph(i) for i in range(12)])
    labels = (np.arange(12) % 10).astype(np.uint8)
    if kind == "missing key":
        np.savez_compressed(path, images=images, targets=labels)
    elif kind == "float images":
        np.savez_compressed(path, images=images / 255.0, labels=labels)
    elif kind == "wrong image shape":
        np.savez_compressed(path, images=images.reshape(12, 784), labels=labels)
    elif kind == "wrong label count":
        np.savez_compressed(path, images=images, labels=labels[:-1])
    elif kind == "int64 labels":
        np.savez_compressed(path, images=images, labels=labels.astype(np.int64))
    elif kind == "label out of range":
        np.savez_compressed(path, images=images, labels=labels + 5)
    elif kind == "npy not npz":
        with open(path, "wb") as f:
            np.save(f, images)
    elif kind == "garbage":
        path.write_bytes(b"hello, I am not a numpy file at all" * 10)
    elif kind == "empty file":
        path.write_bytes(b"")
    elif kind == "truncated":
        write_npz(path, 12)
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    elif kind == "corrupted":
        np.savez(path, images=images, labels=labels)  # uncompressed: the CRC check catches the damage
        corrupt_middle(path)
    elif kind == "corrupted compressed":
        write_npz(path, 12)
        corrupt_middle(path)
    else:
        raise AssertionError(kind)


BAD_FILES = {
    "missing key": r"missing key\(s\) \['labels'\]",
    "float images": "'images' must be uint8",
    "wrong image shape": r"'images' must be uint8 of shape \(N, 28, 28\)",
    "wrong label count": "'labels' must be uint8 of shape",
    "int64 labels": "'labels' must be uint8",
    "label out of range": "labels must be in 0..9",
    "npy not npz": r"not a .npz \(zip\) file, it is a .npy file",
    "garbage": r"not a .npz \(zip\) file, it starts with b'hell'",
    "empty file": r"not a .npz \(zip\) file, it is empty",
    "truncated": "not a readable .npz file",
    "corrupted": "not a readable .npz file",
    "corrupted compressed": "not a readable .npz file",
}


@pytest.mark.parametrize("kind", list(BAD_FILES))
def test_bad_files_give_clear_value_errors(tmp_path, kind):
    path = tmp_path / "bad_data.npz"
    write_variant(path, kind)
    with pytest.raises(ValueError, match=BAD_FILES[kind]) as info:
        notmnist.load_arrays(path)
    assert str(path) in str(info.value)  # the message names the file
    with pytest.raises(ValueError, match="bad_data.npz"):
        notmnist.load_data(path)


def test_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.npz"):
        notmnist.load_arrays(tmp_path / "nope.npz")


def test_checksum_mismatch(tmp_path):
    # A file with the full data set's shape but wrong contents.
    path = tmp_path / "notMNIST.npz"
    images = np.zeros((notmnist.NUM_EXAMPLES, 28, 28), np.uint8)
    labels = np.zeros(notmnist.NUM_EXAMPLES, np.uint8)
    np.savez_compressed(path, images=images, labels=labels)
    with pytest.raises(
        ValueError,
        match=f"checksum mismatch: expected {notmnist.SHA256}, got {notmnist.checksum(images, labels)}.*delete",
    ):
        notmnist.load_arrays(path)
    with pytest.raises(ValueError, match="checksum mismatch"):
        notmnist.load_data(path)
    (x_train, _), _, (x_test, _) = notmnist.load_data(path, verify=False)
    assert len(x_train) == 10000 and len(x_test) == 2724


def test_checksum_depends_on_labels_and_images():
    images, labels = np.zeros((3, 28, 28), np.uint8), np.zeros(3, np.uint8)
    base = notmnist.checksum(images, labels)
    labels[1] = 1
    assert notmnist.checksum(images, labels) != base
    assert len(base) == 64


# --------------------------------------------------------------------------------------------- split


def global_seed_order(n: int) -> np.ndarray:
    """The README's recipe, restoring NumPy's global state afterwards."""
    state = np.random.get_state()
    try:
        np.random.seed(521)
        order = np.arange(n)
        np.random.shuffle(order)
        return order
    finally:
        np.random.set_state(state)


@pytest.mark.parametrize("n", [1, 7, 100, 18724])
def test_random_state_gives_same_order_as_global_seed(n):
    order = np.arange(n)
    np.random.RandomState(521).shuffle(order)
    np.testing.assert_array_equal(order, global_seed_order(n))


def test_split_small_arrays():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (50, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, 50).astype(np.uint8)
    state = np.random.get_state()
    (xa, ya), (xb, yb), (xc, yc) = notmnist.split(images, labels, "float32", n_train=30, n_valid=15)
    assert np.random.get_state()[1].tolist() == state[1].tolist()  # global random state untouched
    order = global_seed_order(50)
    x, y = images[order] / 255.0, labels[order]
    assert [len(xa), len(xb), len(xc)] == [30, 15, 5]
    assert xa.dtype == np.float32 and ya.dtype == np.int64
    np.testing.assert_array_equal(np.concatenate([xa, xb, xc]), x.astype(np.float32))
    np.testing.assert_array_equal(np.concatenate([ya, yb, yc]), y)
    (x64, _), _, _ = notmnist.split(images, labels, "float64")
    np.testing.assert_array_equal(x64, x)  # exactly images / 255.0 (default sizes: all 50 rows in train)
    with pytest.raises(ValueError, match="float"):
        notmnist.split(images, labels, "int32")
    (raw, _), _, _ = notmnist.split(images, labels)  # no dtype: the uint8 images, as Keras's loaders
    np.testing.assert_array_equal(raw, images[order])
    with pytest.raises(ValueError, match="50 images but 49 labels"):
        notmnist.split(images, labels[:-1])


# -------------------------------------------------------------------------------- where the file is


@pytest.fixture
def places(tmp_path, monkeypatch):
    """Three distinguishable files (5, 6 and 7 rows) and a fake download that serves the tiny archive."""
    arg = write_npz(tmp_path / "arg.npz", 5)
    env = write_npz(tmp_path / "env.npz", 6)
    cache = tmp_path / "cache"
    cache.mkdir()
    cached = write_npz(cache / "notMNIST.npz", 7)
    source = make_archive(tmp_path / "source.tar.gz")
    downloads = []

    def fake_download(url, dest):
        downloads.append((url, Path(dest)))
        shutil.copyfile(source, dest)

    monkeypatch.setattr(notmnist, "download_archive", fake_download)
    return dict(arg=arg, env=env, cache=cache, cached=cached, downloads=downloads)


def n_rows(*args, **kwargs) -> int:
    (x_train, y_train), (x_valid, _), (x_test, _) = notmnist.load_data(*args, **kwargs)
    return len(x_train) + len(x_valid) + len(x_test)


def test_resolution_order(places, monkeypatch, tmp_path):
    monkeypatch.setenv("MINIDL_NOTMNIST", str(places["env"]))
    monkeypatch.setenv("MINIDL_CACHE_DIR", str(places["cache"]))
    assert n_rows(places["arg"]) == 5  # path argument first
    assert n_rows(str(places["arg"]), cache_dir=places["cache"]) == 5
    assert n_rows() == 6  # then the environment variable
    monkeypatch.setenv("MINIDL_NOTMNIST", "")  # (empty means unset)
    assert n_rows() == 7  # then the cache ($MINIDL_CACHE_DIR)
    monkeypatch.delenv("MINIDL_CACHE_DIR")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    default_cache = tmp_path / "home" / ".cache" / "minidl"
    default_cache.mkdir(parents=True)
    write_npz(default_cache / "notMNIST.npz", 8)
    assert n_rows() == 8  # default cache ~/.cache/minidl
    assert n_rows(cache_dir=places["cache"]) == 7  # cache_dir argument
    assert places["downloads"] == []


def test_download_then_cache(places, tmp_path):
    cache = tmp_path / "fresh-cache"
    assert n_rows(cache_dir=cache) == len(TINY_ORDER)  # downloaded and built
    assert places["downloads"] == [(notmnist.ARCHIVE_URL, cache / "notMNIST_small.tar.gz")]
    assert sorted(os.listdir(cache)) == ["notMNIST.npz", "notMNIST_small.tar.gz"]
    assert n_rows(cache_dir=cache, download=False) == len(TINY_ORDER)  # now from the cache
    assert len(places["downloads"]) == 1

    # An archive already in the cache is built without downloading, even with download=False.
    (cache / "notMNIST.npz").unlink()
    assert n_rows(cache_dir=cache, download=False) == len(TINY_ORDER)
    assert len(places["downloads"]) == 1


def test_download_archive_without_network(tmp_path, monkeypatch):
    """The real download function, fed by a fake HTTP response."""
    payload = bytes(range(256)) * 1000

    class FakeResponse(io.BytesIO):
        headers = {"Content-Length": str(len(payload))}

    opened = []

    def fake_urlopen(url, timeout):
        opened.append(url)
        return FakeResponse(payload)

    monkeypatch.setattr(notmnist.urllib.request, "urlopen", fake_urlopen)
    dest = tmp_path / "dl" / "notMNIST_small.tar.gz"
    REAL_DOWNLOAD(notmnist.ARCHIVE_URL, dest)  # (the autouse fixture replaced notmnist.download_archive)
    assert opened == [notmnist.ARCHIVE_URL]
    assert dest.read_bytes() == payload
    assert os.listdir(dest.parent) == [dest.name]


def test_not_found_message(tmp_path):
    cache = tmp_path / "empty-cache"
    with pytest.raises(FileNotFoundError) as info:
        notmnist.load_data(cache_dir=cache, download=False)
    message = str(info.value)
    for part in [
        "path argument",
        "MINIDL_NOTMNIST",
        str(cache / "notMNIST.npz"),
        "MINIDL_CACHE_DIR",
        notmnist.ARCHIVE_URL,
        "download=False",
        "download=True",
    ]:
        assert part in message, part
    assert not cache.exists() or not any(cache.iterdir())


def test_download_failure_is_reported(tmp_path, monkeypatch):
    def offline(url, dest):
        raise urllib.error.URLError("no route to host")

    monkeypatch.setattr(notmnist, "download_archive", offline)
    with pytest.raises(FileNotFoundError, match="(?s)MINIDL_NOTMNIST.*failed: .*no route to host"):
        notmnist.load_data(cache_dir=tmp_path / "c")


def test_explicit_missing_paths_are_errors(tmp_path, monkeypatch, places):
    with pytest.raises(FileNotFoundError, match="typo.npz.*path argument"):
        notmnist.load_data(tmp_path / "typo.npz")
    monkeypatch.setenv("MINIDL_NOTMNIST", str(tmp_path / "stale.npz"))
    with pytest.raises(FileNotFoundError, match="stale.npz.*MINIDL_NOTMNIST"):
        notmnist.load_data(cache_dir=places["cache"])
    assert places["downloads"] == []


# ------------------------------------------------------------------------------------ the real file


@pytest.fixture(scope="module")
def real_file() -> Path:
    if not REAL_NPZ.is_file():
        pytest.skip(f"real notMNIST.npz not found at {REAL_NPZ} (set MINIDL_NOTMNIST to run this test)")
    return REAL_NPZ


def test_real_data(real_file):
    (x_train, y_train), (x_valid, y_valid), (x_test, y_test) = notmnist.load_data(real_file)
    assert x_train.shape == (10000, 28, 28) and y_train.shape == (10000,)
    assert x_valid.shape == (6000, 28, 28) and y_valid.shape == (6000,)
    assert x_test.shape == (2724, 28, 28) and y_test.shape == (2724,)
    for x, y in [(x_train, y_train), (x_valid, y_valid), (x_test, y_test)]:
        assert x.dtype == np.uint8 and y.dtype == np.int64  # as keras.datasets loaders: x / 255 is the user's
        assert x.min() == 0 and x.max() == 255
        assert set(np.unique(y)) == set(range(10))

    images, labels = notmnist.load_arrays(real_file)  # verify=True: checksum checked
    assert notmnist.checksum(images, labels) == notmnist.SHA256
    assert images.shape == (notmnist.NUM_EXAMPLES, 28, 28)

    # The README's recipe, exactly (float64), and its float32 cast.
    order = global_seed_order(len(images))
    x, y = images[order] / 255.0, labels[order]
    (a, _), (b, _), (c, _) = notmnist.load_data(real_file, dtype="float64")
    np.testing.assert_array_equal(a, x[:10000])
    np.testing.assert_array_equal(b, x[10000:16000])
    np.testing.assert_array_equal(c, x[16000:])
    np.testing.assert_array_equal(x_train / 255.0, x[:10000])
    (x_train32, _), _, _ = notmnist.load_data(real_file, dtype="float32")
    np.testing.assert_array_equal(x_train32, x[:10000].astype(np.float32))
    np.testing.assert_array_equal(y_train, y[:10000])
    np.testing.assert_array_equal(y_valid, y[10000:16000])
    np.testing.assert_array_equal(y_test, y[16000:])

    onehot = to_categorical(y_train, 10)
    assert onehot.shape == (10000, 10) and onehot.dtype == np.float32
    np.testing.assert_array_equal(onehot.argmax(axis=1), y_train)


def test_real_data_via_env_var(real_file, monkeypatch):
    monkeypatch.setenv("MINIDL_NOTMNIST", str(real_file))
    (x_train, _), _, _ = notmnist.load_data(download=False)
    assert x_train.shape == (10000, 28, 28)


# --------------------------------------------------------------------------------- to_categorical


def test_to_categorical():
    out = to_categorical([0, 2, 1, 2])
    assert out.dtype == np.float32 and out.shape == (4, 3)
    np.testing.assert_array_equal(out, np.eye(3)[[0, 2, 1, 2]])
    assert to_categorical(np.array([[1], [3]]), 5).shape == (2, 5)  # column of labels
    assert to_categorical(np.array([[1, 0], [0, 1]]), 2).shape == (2, 2, 2)
    assert to_categorical(3, 4).tolist() == [0, 0, 0, 1]  # scalar
    assert to_categorical([1.0, 0.0]).tolist() == [[0, 1], [1, 0]]  # whole-valued floats
    assert to_categorical([1], 2, dtype="float64").dtype == np.float64
    assert to_categorical(np.array([], dtype=np.int64), 3).shape == (0, 3)
    assert to_categorical([1], np.int64(2)).shape == (1, 2)


@pytest.mark.parametrize(
    "y, num_classes, message",
    [
        ([0, -1], None, "non-negative"),
        ([0, 3], 3, "out of range"),
        ([0.5], None, "whole numbers"),
        ([np.nan], 2, "whole numbers"),
        (["a"], 2, "integers"),
        ([], None, "empty"),
        ([0], 0, "positive"),
        ([0], 2.0, "integer"),
    ],
)
def test_to_categorical_errors(y, num_classes, message):
    with pytest.raises(ValueError, match=message):
        to_categorical(y, num_classes)
