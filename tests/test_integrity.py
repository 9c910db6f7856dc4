"""Model files carry checksums: any corruption is refused with a ValueError."""

import json
import struct
import warnings

import numpy as np
import pytest
from safetensors.torch import load_file, save_file

import sk_recsys
from sk_recsys._persistence import file_checksum

X = [["ann", "tea"], ["bob", "tea"], ["bob", "jam"], ["cid", "pie"], ["cid", "jam"]]


def _layout(raw: bytes):
    """(header length, header, data start) of a safetensors file's bytes."""
    (length,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + length])
    return length, header, 8 + length


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "knn.safetensors"
    sk_recsys.save(sk_recsys.ItemKNN(n_neighbors=2).fit(X), path)
    return path, path.read_bytes()


def _load_bytes(tmp_path, raw):
    path = tmp_path / "damaged.safetensors"
    path.write_bytes(raw)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a damaged file must not load with a warning
        return sk_recsys.load(path)


def test_an_intact_file_loads(saved, tmp_path):
    _, raw = saved
    model = _load_bytes(tmp_path, raw)
    assert model.recommend(["ann"], k=2)[0].tolist() == [["jam", "pie"]]


def test_every_flipped_byte_is_refused(saved, tmp_path):
    _, raw = saved
    for position in range(len(raw)):
        damaged = bytearray(raw)
        damaged[position] ^= 0x01
        with pytest.raises(ValueError, match=r"corrupted|not a sk_recsys model"):
            _load_bytes(tmp_path, bytes(damaged))


def test_each_region_names_what_is_damaged(saved, tmp_path):
    _, raw = saved
    length, header, start = _layout(raw)
    metadata = header.pop("__metadata__")
    text = raw[8 : 8 + length].decode()

    def flip(position):
        damaged = bytearray(raw)
        damaged[position] ^= 0x01
        return bytes(damaged)

    # The document (a letter of its JSON), its checksum, a tensor's bytes.
    document_at = 8 + text.index('\\"format\\"') + 3
    with pytest.raises(ValueError, match="metadata fails its checksum"):
        _load_bytes(tmp_path, flip(document_at))
    checksum_at = 8 + text.index(metadata["sk_recsys.sha256"])
    with pytest.raises(ValueError, match="metadata fails its checksum"):
        _load_bytes(tmp_path, flip(checksum_at))
    for key, entry in header.items():
        first, last = entry["data_offsets"]
        if last > first:
            with pytest.raises(ValueError, match=f"tensor '{key}' fail"):
                _load_bytes(tmp_path, flip(start + (first + last) // 2))


@pytest.mark.parametrize("cut", [1, 7, 100, "header", "data"])
def test_truncated_and_extended_files_are_refused(saved, tmp_path, cut):
    _, raw = saved
    _, _, start = _layout(raw)
    keep = {"header": start - 5, "data": start + 3, 7: 7}.get(cut)
    keep = len(raw) - cut if keep is None else keep
    with pytest.raises(ValueError, match=r"corrupted|not a sk_recsys model"):
        _load_bytes(tmp_path, raw[:keep])
    with pytest.raises(ValueError, match="bytes after the last tensor"):
        _load_bytes(tmp_path, raw + b"\0" * 3)


def test_a_neural_model_file_is_checked_tensor_by_tensor(tmp_path):
    model = sk_recsys.get_model("mf", n_factors=4, max_epochs=1, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        model.fit(X)
    path = tmp_path / "mf"
    sk_recsys.save(model, path)
    raw = path.read_bytes()
    _, header, start = _layout(raw)
    header.pop("__metadata__")
    rng = np.random.default_rng(0)
    for key, entry in header.items():
        first, last = entry["data_offsets"]
        if last == first:
            continue
        damaged = bytearray(raw)
        damaged[start + int(rng.integers(first, last))] ^= 0x80
        with pytest.raises(ValueError, match=f"tensor '{key}'"):
            _load_bytes(tmp_path, bytes(damaged))


def test_files_without_checksums_load_with_a_warning(saved, tmp_path):
    path, raw = saved
    tensors = load_file(str(path))
    _, header, _ = _layout(raw)
    document = json.loads(header["__metadata__"]["sk_recsys"])
    document["format_version"] = 1
    del document["tensors"]
    old = tmp_path / "old.safetensors"
    save_file(tensors, str(old), metadata={"sk_recsys": json.dumps(document)})
    with pytest.warns(UserWarning, match="without checksums"):
        model = sk_recsys.load(old)
    assert model.recommend(["ann"], k=2)[0].tolist() == [["jam", "pie"]]


def test_file_checksum_is_the_sha256_of_the_bytes(saved):
    import hashlib

    path, raw = saved
    assert file_checksum(path) == hashlib.sha256(raw).hexdigest()
