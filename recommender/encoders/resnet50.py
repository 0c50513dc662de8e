"""ResNet50 (ImageNet), penultimate layer: the 2048-d global-average-pool output.

No Django here. The ImageNet weights are not on any package registry; they come from a local
file, the Keras cache (``~/.keras/models``), or Keras' own download when the machine is online.
"""

from __future__ import annotations

import hashlib
import socket
from pathlib import Path

import numpy as np

WEIGHTS_FILE = "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5"
DOWNLOAD_TIMEOUT_SECONDS = 20


class WeightsUnavailable(RuntimeError):
    """ResNet50's ImageNet weights are not on this machine and could not be downloaded."""


def find_weights(path: Path | str | None = None, *, download: bool = False) -> Path:
    """The weights file: ``path`` if given, else the Keras cache, else (``download``) fetch it."""
    if path:
        path = Path(path).expanduser()
        if not path.is_file():
            raise WeightsUnavailable(f"no ResNet50 weights file at {path}")
        return path
    cached = Path.home() / ".keras" / "models" / WEIGHTS_FILE
    if cached.is_file():
        return cached
    if not download:
        raise WeightsUnavailable(f"no {WEIGHTS_FILE} in the Keras cache ({cached.parent})")
    import keras

    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(DOWNLOAD_TIMEOUT_SECONDS)  # Keras' download has no timeout of its own
    try:
        model = keras.applications.ResNet50(include_top=False, pooling="avg", weights="imagenet")
        del model
    except Exception as error:  # any failure means "not available here"
        raise WeightsUnavailable(f"downloading ResNet50 weights failed: {error}") from error
    finally:
        socket.setdefaulttimeout(previous)
    return cached


def weights_version(path: Path) -> str:
    """A short identity of the weights file, recorded with every vector it produces."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return f"sha256-{digest.hexdigest()[:12]}"


def build_model(weights: Path | None):
    """ResNet50 without its classifier, average-pooled: ``(n, 224, 224, 3)`` -> ``(n, 2048)``.

    ``weights=None`` gives random weights (tests and speed measurements only).
    """
    import keras

    return keras.applications.ResNet50(
        include_top=False,
        pooling="avg",
        weights=str(weights) if weights else None,
        input_shape=(224, 224, 3),
    )


def normalise(images: np.ndarray) -> np.ndarray:
    """RGB uint8 -> ResNet50's input (BGR, ImageNet mean subtracted), float32."""
    import keras

    return keras.applications.resnet50.preprocess_input(images.astype(np.float32))
