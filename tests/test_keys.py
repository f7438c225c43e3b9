import math
import os
import stat

import numpy as np
import pytest

from keys.derive import derive_dataset_id, derive_permutations, derive_seed_words
from keys.master import KeyError_, fingerprint, generate_key, load_key, write_key

KEY = bytes(range(32))
DSID = b"\x01" * 16


def test_write_and_load_key(tmp_path):
    key = generate_key()
    path = write_key(key, tmp_path / "k" / "master.key")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_key(path) == key
    assert len(key) == 32 and key != generate_key()


def test_write_key_never_overwrites(tmp_path):
    path = write_key(generate_key(), tmp_path / "master.key")
    before = path.read_bytes()
    with pytest.raises(FileExistsError, match="--overwrite"):
        write_key(generate_key(), path)
    assert path.read_bytes() == before


@pytest.mark.parametrize(
    "content, message",
    [("abc", "64 hex digits"), ("00" * 16, "holds 16 bytes"), ("zz" * 32, "64 hex digits")],
)
def test_malformed_key_files(tmp_path, content, message):
    path = tmp_path / "bad.key"
    path.write_text(content)
    os.chmod(path, 0o600)
    with pytest.raises(KeyError_, match=message):
        load_key(path)


def test_missing_key_file(tmp_path):
    with pytest.raises(KeyError_, match="does not exist"):
        load_key(tmp_path / "nope.key")


def test_world_readable_key_warns(tmp_path):
    path = write_key(generate_key(), tmp_path / "master.key")
    os.chmod(path, 0o644)
    with pytest.warns(UserWarning, match="readable by others"):
        load_key(path)


def test_fingerprint_is_stable_and_distinct():
    assert fingerprint(KEY) == fingerprint(KEY)
    assert fingerprint(KEY) != fingerprint(bytes(32))
    assert len(fingerprint(KEY)) == 16 and KEY.hex()[:16] not in fingerprint(KEY)


def test_permutations_are_permutations_and_keyed():
    ids = np.arange(500)
    p = derive_permutations(KEY, DSID, "train", ids, 0, (4, 4))
    assert p.shape == (500, 16)
    assert (np.sort(p, axis=1) == np.arange(16)).all()
    # deterministic, and independent of how the batch is cut
    q = np.concatenate([derive_permutations(KEY, DSID, "train", ids[i : i + 7], 0, (4, 4))
                        for i in range(0, 500, 7)])
    assert np.array_equal(p, q)
    # every input of the derivation changes the result
    others = [
        derive_permutations(bytes(32), DSID, "train", ids, 0, (4, 4)),
        derive_permutations(KEY, b"\x02" * 16, "train", ids, 0, (4, 4)),
        derive_permutations(KEY, DSID, "test", ids, 0, (4, 4)),
        derive_permutations(KEY, DSID, "train", ids + 1, 0, (4, 4)),
        derive_permutations(KEY, DSID, "train", ids, 1, (4, 4)),
    ]
    for o in others:
        assert (o != p).any(axis=1).mean() > 0.99


def test_permutations_are_uniform():
    # position of block 0 over many images: chi-square against uniform over 16 places
    p = derive_permutations(KEY, DSID, "train", np.arange(16000), 0, (4, 4))
    counts = np.bincount(np.argmax(p == 0, axis=1), minlength=16)
    chi2 = ((counts - 1000) ** 2 / 1000).sum()
    assert chi2 < 40  # 15 degrees of freedom: p ~ 0.0005 at 40
    # all 6 orders of 3 blocks appear about equally often
    p3 = derive_permutations(KEY, DSID, "x", np.arange(6000), 0, (1, 3))
    codes = p3[:, 0] * 9 + p3[:, 1] * 3 + p3[:, 2]
    _, c = np.unique(codes, return_counts=True)
    assert len(c) == math.factorial(3) and c.min() > 900


def test_large_grids():
    p = derive_permutations(KEY, DSID, "train", np.arange(3), 2, (14, 14))
    assert (np.sort(p, axis=1) == np.arange(196)).all()


def test_seed_words_and_dataset_id():
    a = derive_seed_words(KEY, DSID, "train", 0, 1)
    assert a == derive_seed_words(KEY, DSID, "train", 0, 1)
    assert a != derive_seed_words(b"", DSID, "train", 0, 1)
    assert a != derive_seed_words(KEY, DSID, "train", 0, 2)
    assert derive_dataset_id(KEY, b"x") != derive_dataset_id(KEY, b"y")
    assert len(derive_dataset_id(KEY, b"x")) == 16
