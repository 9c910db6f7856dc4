"""Save and load fitted recommenders without pickle.

A model file is one `safetensors <https://huggingface.co/docs/safetensors>`_
file: its tensor table holds every array and tensor of the model, and its
metadata holds one JSON document with the rest, so loading a file never runs
code it contains. The JSON records the format and sk_recsys versions, the
registry name and class of the model, every constructor parameter
(``get_params(deep=False)``) and the fitted state, encoded by type:

* ``None``, bool, int, str and finite floats are JSON values; non-finite
  floats, tuples, dicts (any keys), numpy scalars and object arrays are
  tagged JSON objects;
* numeric ndarrays and tensors go to the tensor table (a tensor comes back on
  the load device), and so do arrays of str (ids, vocabularies) as UTF-8
  bytes and offsets;
* scipy.sparse matrices are stored as their CSR components, pandas ``Index``
  as its values;
* classes are stored by dotted name, and only those of ``torch.optim``, the
  loss classes of ``torch.nn``, ``skorch.callbacks``, skorch's ``Dataset``,
  ``sk_recsys`` (public names) and the package of a registered plugin model
  are accepted (and ``print`` and skorch's ``noop``, the default ``sink`` of
  skorch callbacks); instances of such classes with ``get_params`` (callbacks,
  splitters) are stored as their class and parameters, other instances of
  sk_recsys classes (feature encoders) as their class and ``__dict__``;
* neural models store their module's, optimizer's and criterion's
  ``state_dict`` and skorch's history; on load the module is rebuilt with
  ``initialize()`` and the state dicts are loaded into it.

Anything else is refused at save time with a ``TypeError`` naming it.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import itertools
import json
import math
import os
import struct
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch

__all__ = ["load", "save"]

FORMAT = "sk_recsys.model"
# 2: the document lists a SHA-256 of every tensor's bytes (with its dtype and
# shape) and the metadata carries a SHA-256 of the document.
FORMAT_VERSION = 2
_METADATA_KEY = "sk_recsys"
_CHECKSUM_KEY = "sk_recsys.sha256"

# skorch's own attributes, rebuilt by ``initialize()`` or stored apart.
_SKORCH_STATE = {
    "module_",
    "criterion_",
    "optimizer_",
    "callbacks_",
    "history_",
    "initialized_",
    "virtual_params_",
    "prefixes_",
    "cuda_dependent_attributes_",
    "init_context_",
}

# Module prefixes whose classes may be named in a model file, and what each
# named class must be.
_TRUSTED_PREFIXES = (
    "torch.optim.",
    "torch.nn.modules.loss",
    "skorch.callbacks.",
    "skorch.dataset",
    "sk_recsys.",
)
# Functions that skorch callbacks take by default (``sink=print``).
_TRUSTED_CALLABLES = {"builtins:print", "skorch.utils:noop"}
# Classes of other libraries: stored by name or parameters, never by __dict__.
_FOREIGN_PREFIXES = ("torch.", "skorch.")


def _version() -> str:
    from . import __version__

    return __version__


def _is_neural(model) -> bool:
    from skorch import NeuralNet

    return isinstance(model, NeuralNet)


# --------------------------------------------------------------- registry


def _registry_name(cls) -> str:
    """The registry name of ``cls``; refuse classes that are not registered."""
    from .plugins import available_models
    from .plugins._registry import _load

    for name, target in available_models().items():
        if target.rpartition(":")[2].split(".")[-1] != cls.__name__:
            continue
        try:
            if _load(name) is cls:
                return name
        except ValueError:
            continue
    raise TypeError(
        f"{cls.__module__}.{cls.__qualname__} is not a registered model, so "
        "sk_recsys.load could not rebuild it; register it as a plugin (see "
        "docs/plugins.rst) or use pickle for trusted files."
    )


def _registered_class(name: str, target: str):
    from .plugins import available_models
    from .plugins._registry import _load

    models = available_models()
    if models.get(name) != target:
        raise ValueError(
            f"The model file names class {target!r} as model {name!r}, which is "
            "not in the registry of built-in and installed plugin models; install "
            "the plugin that provides it, or the file is not a sk_recsys model."
        )
    return _load(name)


# ------------------------------------------------------------ dotted names


def _dotted(obj) -> str:
    return f"{obj.__module__}:{obj.__qualname__}"


def _trusted_packages() -> tuple[str, ...]:
    """Module prefixes of trusted classes, with the plugins' packages."""
    from .plugins import available_models

    plugins = {
        target.partition(":")[0].split(".")[0] + "."
        for target in available_models().values()
    }
    return _TRUSTED_PREFIXES + tuple(sorted(plugins))


def _is_trusted(module: str, qualname: str, packages) -> bool:
    if f"{module}:{qualname}" in _TRUSTED_CALLABLES:
        return True
    if not any(
        module == prefix.rstrip(".") or module.startswith(prefix) for prefix in packages
    ):
        return False
    # Private names of sk_recsys and plugins (``_Helper``) are not part of
    # the public surface a file may ask for.
    return not any(part.startswith("_") for part in qualname.split("."))


def _check_trusted_object(obj, module: str) -> bool:
    """What a trusted name must resolve to, by where it lives."""
    if f"{module}:{getattr(obj, '__qualname__', '')}" in _TRUSTED_CALLABLES:
        return True
    if module.startswith("torch.optim"):
        return isinstance(obj, type) and issubclass(
            obj, (torch.optim.Optimizer, torch.optim.lr_scheduler.LRScheduler)
        )
    if module.startswith("torch.nn"):
        return isinstance(obj, type) and issubclass(obj, torch.nn.Module)
    if module.startswith("skorch.callbacks"):
        from skorch.callbacks import Callback

        return isinstance(obj, type) and issubclass(obj, Callback)
    if module.startswith("skorch.dataset"):
        return isinstance(obj, type) and issubclass(obj, torch.utils.data.Dataset)
    # Only classes: a function named in a parameter (``module=``) would be
    # called by ``initialize()`` with arguments from the file.
    return isinstance(obj, type)


def _resolve(name: str, packages):
    module, _, qualname = name.partition(":")
    if not module or not qualname or not _is_trusted(module, qualname, packages):
        raise ValueError(
            f"The model file refers to {name!r}, which sk_recsys.load does not "
            "trust (only torch.optim, torch.nn losses, skorch.callbacks, skorch's "
            "Dataset, sk_recsys and registered plugins are); the file is not a "
            "safe sk_recsys model."
        )
    try:
        obj = importlib.import_module(module)
        for part in qualname.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as exc:
        raise ValueError(
            f"The model file refers to {name!r}, which does not exist here ({exc}); "
            "install the package versions the model was saved with."
        ) from None
    if not _check_trusted_object(obj, module):
        raise ValueError(
            f"The model file refers to {name!r}, which is not a class of the kind "
            "expected there; the file is not a safe sk_recsys model."
        )
    return obj


# ----------------------------------------------------------------- encoding


class _Encoder:
    """Turns a value into JSON, moving arrays and tensors to a table."""

    def __init__(self, packages):
        self.tensors: dict[str, torch.Tensor] = {}
        self.packages = packages

    def _store(self, tensor: torch.Tensor) -> str:
        key = f"t{len(self.tensors)}"
        # A private contiguous copy: safetensors refuses shared storage.
        self.tensors[key] = tensor.detach().to("cpu", copy=True).contiguous()
        return key

    def _store_array(self, array: np.ndarray) -> str:
        key = f"t{len(self.tensors)}"
        self.tensors[key] = torch.from_numpy(np.array(array, order="C"))
        return key

    def _name(self, obj, where: str) -> str:
        name = _dotted(obj)
        module, _, qualname = name.partition(":")
        if not _is_trusted(module, qualname, self.packages) or not (
            _check_trusted_object(obj, module)
        ):
            raise TypeError(
                f"{where} is {name}, which sk_recsys.save cannot store safely (it "
                "stores classes of torch.optim, torch.nn losses, skorch.callbacks, "
                "sk_recsys and registered plugins); use one of those or pickle."
            )
        return name

    def encode(self, value, where: str):
        if value is None or isinstance(value, (bool, str)):
            return value
        if isinstance(value, int) and not isinstance(value, np.integer):
            return value
        if isinstance(value, float):
            return value if math.isfinite(value) else {"$float": repr(value)}
        if isinstance(value, np.generic):
            if value.dtype.kind not in "biufU":
                raise TypeError(
                    f"{where} is a numpy {value.dtype} scalar, which "
                    "sk_recsys.save cannot store; use a number or a str."
                )
            return {
                "$scalar": value.dtype.str,
                "value": self.encode(value.item(), where),
            }
        if _is_history(value):
            return {"$history": self.encode(list(value), where)}
        if isinstance(value, list):
            return [self.encode(v, f"{where}[{n}]") for n, v in enumerate(value)]
        if isinstance(value, tuple) and not hasattr(value, "_fields"):
            return {
                "$tuple": [self.encode(v, f"{where}[{n}]") for n, v in enumerate(value)]
            }
        if isinstance(value, dict):
            return {
                "$dict": [
                    [self.encode(k, f"{where} key"), self.encode(v, f"{where}[{k!r}]")]
                    for k, v in value.items()
                ]
            }
        if isinstance(value, torch.Tensor):
            return {"$tensor": self._store(value)}
        if isinstance(value, np.ndarray):
            return self._array(value, where)
        if sp.issparse(value):
            csr = sp.csr_matrix(value)
            return {
                "$sparse": value.format,
                "shape": list(csr.shape),
                "data": self._array(csr.data, where),
                "indices": self._array(csr.indices, where),
                "indptr": self._array(csr.indptr, where),
            }
        if isinstance(value, pd.Index) and not isinstance(value, pd.MultiIndex):
            values = value.to_numpy()
            return {
                "$index": self._array(values, where),
                "name": self.encode(value.name, where),
            }
        if isinstance(value, type) or inspect.isroutine(value):
            return {"$class": self._name(value, where)}
        return self._instance(value, where)

    def _array(self, array: np.ndarray, where: str):
        if array.dtype.kind in "biuf":
            native = array.astype(array.dtype.newbyteorder("="), copy=False)
            if array.ndim > 1 and native.flags.f_contiguous:
                # Keep a column-major layout: a matrix product reads memory in
                # another order, and floats would not be bit-identical.
                return {"$array": self._store_array(native.T), "order": "F"}
            return {"$array": self._store_array(native)}
        values = array.ravel().tolist()
        if array.dtype.kind in "OU" and all(type(v) is str for v in values):
            # Str ids go to the tensor table as UTF-8 bytes and offsets: a
            # catalog of millions of ids would overflow the JSON header.
            encoded = [v.encode("utf-8", "surrogatepass") for v in values]
            offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
            np.cumsum([len(b) for b in encoded], out=offsets[1:])
            return {
                "$strings": array.dtype.str,
                "shape": list(array.shape),
                "bytes": self._store_array(np.frombuffer(b"".join(encoded), np.uint8)),
                "offsets": self._store_array(offsets),
            }
        if array.dtype.kind in "OU":
            return {
                "$objects": array.dtype.str,
                "shape": list(array.shape),
                "values": [self.encode(v, f"{where} element") for v in values],
            }
        raise TypeError(
            f"{where} is an array of dtype {array.dtype}, which sk_recsys.save "
            "cannot store; use numbers or str."
        )

    def _instance(self, value, where: str):
        cls = type(value)
        name = self._name(cls, where)
        if hasattr(value, "get_params"):
            params = value.get_params(deep=False)
            return {"$estimator": name, "params": self.encode(params, where)}
        if not name.startswith(_FOREIGN_PREFIXES) and hasattr(value, "__dict__"):
            return {"$object": name, "state": self.encode(dict(vars(value)), where)}
        raise TypeError(
            f"{where} is a {name} instance, which sk_recsys.save cannot store; "
            "pass its class instead, or use pickle."
        )


def _is_history(value) -> bool:
    from skorch.history import History

    return isinstance(value, History)


class _Decoder:
    def __init__(self, tensors, device, packages):
        self.tensors = tensors
        self.device = device
        self.packages = packages

    def decode(self, value):
        if isinstance(value, list):
            return [self.decode(v) for v in value]
        if not isinstance(value, dict):
            return value
        if "$float" in value:
            return float(value["$float"])
        if "$scalar" in value:
            return np.dtype(value["$scalar"]).type(self.decode(value["value"]))
        if "$tuple" in value:
            return tuple(self.decode(v) for v in value["$tuple"])
        if "$dict" in value:
            return {self.decode(k): self.decode(v) for k, v in value["$dict"]}
        if "$tensor" in value:
            return self._tensor(value["$tensor"]).to(self.device)
        if "$array" in value:
            array = self._tensor(value["$array"]).numpy()
            return array.T if value.get("order") == "F" else array
        if "$strings" in value:
            data = self._tensor(value["bytes"]).numpy().tobytes()
            offsets = self._tensor(value["offsets"]).numpy().tolist()
            array = np.empty(len(offsets) - 1, dtype=np.dtype(value["$strings"]))
            array[:] = [
                data[start:stop].decode("utf-8", "surrogatepass")
                for start, stop in itertools.pairwise(offsets)
            ]
            return array.reshape(value["shape"])
        if "$objects" in value:
            dtype = np.dtype(value["$objects"])
            values = [self.decode(v) for v in value["values"]]
            array = np.empty(len(values), dtype=dtype)
            array[:] = values
            return array.reshape(value["shape"])
        if "$sparse" in value:
            parts = [self.decode(value[k]) for k in ("data", "indices", "indptr")]
            matrix = sp.csr_matrix(tuple(parts), shape=tuple(value["shape"]))
            return matrix.asformat(value["$sparse"])
        if "$index" in value:
            return pd.Index(
                self.decode(value["$index"]), name=self.decode(value["name"])
            )
        if "$history" in value:
            from skorch.history import History

            return History(self.decode(value["$history"]))
        if "$class" in value:
            return _resolve(value["$class"], self.packages)
        if "$estimator" in value:
            cls = self._class(value["$estimator"])
            if not hasattr(cls, "get_params"):
                raise ValueError(
                    f"The model file asks to build {value['$estimator']!r}, which "
                    "is not an estimator or callback; the file is not a safe "
                    "sk_recsys model."
                )
            return cls(**self.decode(value["params"]))
        if "$object" in value:
            cls = self._class(value["$object"])
            if value["$object"].startswith(_FOREIGN_PREFIXES):
                raise ValueError(
                    f"The model file asks to rebuild a {value['$object']!r} from "
                    "its attributes, which sk_recsys.load only does for sk_recsys "
                    "and plugin classes; the file is not a safe sk_recsys model."
                )
            obj = cls.__new__(cls)
            obj.__dict__.update(self.decode(value["state"]))
            return obj
        raise ValueError(
            f"The model file holds an unknown entry {sorted(value)[:3]}; it was "
            "written by a newer sk_recsys or is not a sk_recsys model."
        )

    def _class(self, name: str) -> type:
        cls = _resolve(name, self.packages)
        if not isinstance(cls, type):
            raise ValueError(
                f"The model file asks to build {name!r}, which is not a class; the "
                "file is not a safe sk_recsys model."
            )
        return cls

    def _tensor(self, key: str) -> torch.Tensor:
        if key not in self.tensors:
            raise ValueError(
                f"The model file lacks tensor {key!r}; the file is truncated or "
                "corrupt, save the model again."
            )
        return self.tensors[key]


# ---------------------------------------------------------------- the state


def _params(model) -> dict:
    """Constructor parameters; skorch also lists private bookkeeping (``_*``)."""
    return {
        k: v for k, v in model.get_params(deep=False).items() if not k.startswith("_")
    }


def _fitted_state(model) -> dict:
    """The attributes to store besides the constructor parameters."""
    params = model.get_params(deep=False)
    if _is_neural(model):
        state = dict(vars(model))
        skip = _SKORCH_STATE | {
            f"{name}_"
            for name in (*model._modules, *model._criteria, *model._optimizers)
        }
        return {
            k: v
            for k, v in state.items()
            if k.endswith("_") and k not in skip and k not in params
        }
    state = model.__getstate__()
    return {k: v for k, v in state.items() if k not in params}


def _torch_state(model) -> dict:
    """state_dicts of a neural model's modules, optimizers and criteria."""
    if not (_is_neural(model) and model.initialized_):
        return {}
    out = {}
    for name in (*model._modules, *model._criteria, *model._optimizers):
        part = getattr(model, f"{name}_", None)
        if part is not None and hasattr(part, "state_dict"):
            out[name] = part.state_dict()
    out["history"] = model.history_
    return out


def save(model, path) -> None:
    """Write a fitted (or unfitted) recommender to ``path`` without pickle.

    The file is one safetensors file: arrays and tensors in its tensor table,
    the constructor parameters and the rest of the fitted state as JSON in
    its metadata (see ``docs/persistence.rst``). It can be read back by
    :func:`load` on any machine, with or without a GPU.

    Parameters
    ----------
    model : recommender
        An instance of a registered model (built-in or plugin, see
        :func:`sk_recsys.available_models`).
    path : str or path-like
        The file to write (replaced if it exists).

    Raises
    ------
    TypeError
        If the model's class is not registered, or a parameter or attribute
        holds something that cannot be stored safely (a lambda, an arbitrary
        object); the message names it.

    Examples
    --------
    >>> import tempfile, os
    >>> import sk_recsys
    >>> X = [["ann", "tea"], ["bob", "tea"], ["bob", "jam"], ["cid", "pie"]]
    >>> model = sk_recsys.ItemKNN(n_neighbors=5).fit(X)
    >>> path = os.path.join(tempfile.mkdtemp(), "knn.safetensors")
    >>> sk_recsys.save(model, path)
    >>> sk_recsys.load(path).recommend(["ann"], k=2)[0].tolist()
    [['jam', 'pie']]
    """
    from safetensors.torch import save_file

    cls = type(model)
    name = _registry_name(cls)
    encoder = _Encoder(_trusted_packages())
    params = encoder.encode(_params(model), "parameter")
    state = encoder.encode(_fitted_state(model), "fitted attribute")
    torch_state = encoder.encode(_torch_state(model), "training state")
    document = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "sk_recsys_version": _version(),
        "torch_version": torch.__version__,
        "model": name,
        "class": _dotted(cls),
        "params": params,
        "state": state,
        "torch_state": torch_state,
        "tensors": {key: _describe(tensor) for key, tensor in encoder.tensors.items()},
    }
    text = json.dumps(document, allow_nan=False)
    metadata = {_METADATA_KEY: text, _CHECKSUM_KEY: _sha256(text.encode())}
    path = Path(os.fspath(path))
    # Write beside the target, then rename: a crash never leaves half a file.
    fd, tmp = tempfile.mkstemp(dir=path.parent or ".", prefix=f".{path.name}.")
    os.close(fd)
    try:
        save_file(encoder.tensors, tmp, metadata=metadata)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# safetensors' dtype names, by torch dtype.
_DTYPES = {
    torch.float64: "F64",
    torch.float32: "F32",
    torch.float16: "F16",
    torch.bfloat16: "BF16",
    torch.int64: "I64",
    torch.int32: "I32",
    torch.int16: "I16",
    torch.int8: "I8",
    torch.uint8: "U8",
    torch.bool: "BOOL",
}


def _sha256(data) -> str:
    return hashlib.sha256(data).hexdigest()


def _tensor_bytes(tensor: torch.Tensor) -> bytes:
    """The bytes safetensors stores for ``tensor`` (C order, little-endian)."""
    flat = tensor.detach().cpu().contiguous().reshape(-1)
    if flat.numel() == 0:
        return b""
    return flat.view(torch.uint8).numpy().tobytes()


def _describe(tensor: torch.Tensor) -> dict:
    return {
        "dtype": _DTYPES.get(tensor.dtype, str(tensor.dtype)),
        "shape": list(tensor.shape),
        "sha256": _sha256(_tensor_bytes(tensor)),
    }


def _corrupted(path, what: str) -> ValueError:
    return ValueError(
        f"{os.fspath(path)!r} is corrupted ({what}); restore it from a copy or "
        "save the model again."
    )


def _parse(path, raw: bytes):
    """The safetensors header of ``raw`` (the file's bytes) and its metadata."""
    if len(raw) < 8:
        raise ValueError(
            f"{os.fspath(path)!r} is not a sk_recsys model file (only {len(raw)} "
            "bytes); write one with sk_recsys.save."
        )
    (length,) = struct.unpack("<Q", raw[:8])
    if length > len(raw) - 8:
        raise ValueError(
            f"{os.fspath(path)!r} is not a sk_recsys model file, or is corrupted "
            "(its header would be longer than the file: truncated); restore it "
            "or save the model again."
        )
    try:
        header = json.loads(raw[8 : 8 + length].decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise ValueError(
            f"{os.fspath(path)!r} is not a sk_recsys model file, or its header is "
            "corrupted (not JSON); restore it or save the model again."
        ) from None
    if not isinstance(header, dict):
        raise _corrupted(path, "its header is not a table")
    metadata = header.pop("__metadata__", None) or {}
    return header, metadata, 8 + length


def _verify(path, raw: bytes, header: dict, data_start: int, document: dict):
    """Check every tensor's dtype, shape and bytes against the document."""
    expected = document.get("tensors")
    if not isinstance(expected, dict) or set(expected) != set(header):
        raise _corrupted(path, "its tensor table does not match its description")
    end = data_start
    for key, entry in header.items():
        wanted = expected[key]
        try:
            start, stop = (data_start + int(o) for o in entry["data_offsets"])
            dtype, shape = entry["dtype"], list(entry["shape"])
        except (KeyError, TypeError, ValueError):
            raise _corrupted(path, f"the header entry of tensor {key!r}") from None
        if (dtype, shape) != (wanted["dtype"], wanted["shape"]):
            raise _corrupted(path, f"the dtype or shape of tensor {key!r}")
        if not data_start <= start <= stop <= len(raw):
            raise _corrupted(path, f"tensor {key!r} lies past the end: truncated")
        if _sha256(raw[start:stop]) != wanted["sha256"]:
            raise _corrupted(path, f"the bytes of tensor {key!r} fail their checksum")
        end = max(end, stop)
    if end != len(raw):
        raise _corrupted(path, f"{len(raw) - end} bytes after the last tensor")


def _read(path):
    from safetensors import SafetensorError
    from safetensors.torch import load as load_bytes

    raw = Path(os.fspath(path)).read_bytes()
    header, metadata, data_start = _parse(path, raw)
    metadata = metadata if isinstance(metadata, dict) else {}
    text, checksum = metadata.get(_METADATA_KEY), metadata.get(_CHECKSUM_KEY)
    malformed = [
        key
        for key, entry in header.items()
        if not (
            isinstance(entry, dict) and {"dtype", "shape", "data_offsets"} <= set(entry)
        )
    ]
    if malformed or (text is None and checksum is not None):
        raise _corrupted(path, "its header")
    if text is None:
        raise ValueError(
            f"{os.fspath(path)!r} is a safetensors file without a sk_recsys model "
            "in its metadata; write one with sk_recsys.save."
        )
    if checksum is not None and _sha256(text.encode()) != checksum:
        raise _corrupted(path, "its metadata fails its checksum")
    try:
        document = json.loads(text)
    except ValueError:
        document = None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ValueError(
            f"{os.fspath(path)!r} is not a sk_recsys model file; write one with "
            "sk_recsys.save."
        )
    version = document.get("format_version", 0)
    if version > FORMAT_VERSION:
        raise ValueError(
            f"{os.fspath(path)!r} uses model format {version}, newer than this "
            f"sk_recsys ({_version()}) reads; upgrade sk_recsys."
        )
    if checksum is None:
        if version >= 2:  # written with checksums: the key itself is damaged
            raise _corrupted(path, "its metadata checksum is missing")
        warnings.warn(
            f"{os.fspath(path)!r} was written without checksums (model format "
            f"{version}), so corruption cannot be detected; save the model again "
            "to add them.",
            UserWarning,
            stacklevel=3,
        )
    else:
        _verify(path, raw, header, data_start, document)
    try:
        tensors = load_bytes(raw)
    except SafetensorError as exc:
        raise _corrupted(path, f"safetensors: {exc}") from None
    return document, tensors, raw


def file_checksum(path) -> str:
    """SHA-256 of a whole model file (what a server reports of its model).

    Examples
    --------
    >>> import os, tempfile, sk_recsys
    >>> from sk_recsys._persistence import file_checksum
    >>> path = os.path.join(tempfile.mkdtemp(), "pop.safetensors")
    >>> sk_recsys.save(sk_recsys.Popularity().fit([[1, 2], [2, 2]]), path)
    >>> len(file_checksum(path))
    64
    """
    digest = hashlib.sha256()
    with open(os.fspath(path), "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load(path, *, device=None):
    """Read a model written by :func:`save`, without unpickling anything.

    Only classes of the model registry (built-ins and installed plugins) are
    instantiated; a file naming any other class is refused.

    Parameters
    ----------
    path : str or path-like
    device : str, default=None
        Where to put the model (its ``device`` parameter, for the models that
        have one). ``None`` keeps the device it was saved with, or the CPU,
        with a warning, when that device is not available here (a model
        fitted on a GPU loads on a CPU-only machine).

    Returns
    -------
    model : recommender
        Same class, parameters and fitted state as the saved model, so its
        ``predict``, ``score_items`` and ``recommend`` give the same results.

    Raises
    ------
    ValueError
        If the file is not a sk_recsys model, is corrupted (any byte of its
        header, metadata or tensors changed, truncated or extended: every
        tensor and the metadata carry a SHA-256 checked here), was written by
        a newer format, or names a class outside the registry and the
        trusted packages. Files written before checksums (format 1) load
        with a warning.

    Examples
    --------
    >>> import tempfile, os
    >>> import sk_recsys
    >>> X = [["ann", "tea"], ["bob", "tea"], ["bob", "jam"]]
    >>> path = os.path.join(tempfile.mkdtemp(), "pop.safetensors")
    >>> sk_recsys.save(sk_recsys.Popularity().fit(X), path)
    >>> sk_recsys.load(path, device="cpu")
    Popularity()
    """
    document, tensors, _ = _read(path)
    return _build(document, tensors, device)


def load_checked(path, *, device=None):
    """:func:`load`, and the SHA-256 of the very bytes the model came from.

    One read of the file serves both, so a file replaced meanwhile can not
    pair one version's model with another's checksum (what a server reports
    of the model it serves).
    """
    document, tensors, raw = _read(path)
    return _build(document, tensors, device), _sha256(raw)


def _build(document, tensors, device):
    """The model a verified file describes (see :func:`load`)."""
    from .utils import resolve_device

    saved = document.get("sk_recsys_version")
    if saved != _version():
        warnings.warn(
            f"The model was saved by sk_recsys {saved} and is loaded by "
            f"{_version()}; check its results.",
            UserWarning,
            stacklevel=3,
        )
    cls = _registered_class(document.get("model"), document.get("class"))
    packages = _trusted_packages()
    # state_dicts are read on the CPU: load_state_dict moves them where the
    # module and optimizer live.
    decoder = _Decoder(tensors, "cpu", packages)
    params = decoder.decode(document["params"])
    torch_state = decoder.decode(document["torch_state"])
    if "device" in params:
        wanted = params["device"] if device is None else device
        params["device"] = str(resolve_device(wanted, fallback=device is None))
        decoder.device = params["device"]
    elif device is not None:
        resolve_device(device)
    state = decoder.decode(document["state"])
    model = cls(**params)
    if _is_neural(model):
        _restore_neural(model, state, torch_state)
    elif hasattr(model, "__setstate__"):
        model.__setstate__({**vars(model), **state})
    else:
        model.__dict__.update(state)
    return model


def _restore_neural(model, state: dict, torch_state: dict) -> None:
    model.__dict__.update(state)
    if not torch_state:
        return
    # initialize() draws random initial weights: keep the caller's torch
    # generator as it was, the loaded weights replace them anyway.
    with torch.random.fork_rng(devices=[]):
        model.initialize()
    for name in (*model._modules, *model._criteria, *model._optimizers):
        part = getattr(model, f"{name}_", None)
        if name in torch_state and part is not None:
            part.load_state_dict(torch_state[name])
    model.history_ = torch_state["history"]
