"""EfficientNet-Lite0 and -Lite2 ported to Keras: the torch-free weights reader and the ports.

The sanity checks classify scikit-image's sample photos with the real ImageNet weights, so a
wrong transpose, a missing residual or a wrong activation shows up as wrong classes; the pinned
probabilities also catch subtler mistakes (PyTorch-style symmetric padding instead of TF "same"
still ranks the same classes first, but moves these probabilities by 0.02 to 0.04).
"""

import collections
import pickle
import subprocess
import sys
import types
from io import BytesIO
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
import skimage.data
from PIL import Image

from recommender.encoders import load_encoder
from recommender.encoders.efficientnet_lite import (
    EMBEDDING_DIM,
    LITE0,
    LITE2,
    build_model,
    normalise,
)
from recommender.encoders.torch_legacy import MAGIC_NUMBER, PROTOCOL_VERSION, load_state_dict

pytestmark = pytest.mark.slow

# ImageNet-1k class indices.
TABBY, TIGER_CAT, EGYPTIAN_CAT = 281, 282, 285
ESPRESSO = 967
MISSILE = 657


# -- writing legacy torch files without torch ----------------------------------------------------


def _write_legacy_file(path: Path, state: dict, storages: dict[str, np.ndarray]) -> None:
    """Write ``state`` the way ``torch.save`` (legacy format) does.

    ``state`` maps names to ``(storage_key, offset, size, stride)`` views, or to any object (to
    plant something malicious). A stand-in ``torch`` module makes pickle write the same globals
    torch writes.
    """
    torch = types.ModuleType("torch")
    torch_utils = types.ModuleType("torch._utils")
    storage_types = {np.dtype("float32"): "FloatStorage", np.dtype("int64"): "LongStorage"}
    for name in storage_types.values():
        setattr(torch, name, type(name, (), {"__module__": "torch"}))

    def _rebuild_tensor_v2(*args):
        raise AssertionError("only pickled, never called")

    _rebuild_tensor_v2.__module__ = "torch._utils"
    _rebuild_tensor_v2.__qualname__ = "_rebuild_tensor_v2"
    torch_utils._rebuild_tensor_v2 = _rebuild_tensor_v2

    class Storage:
        def __init__(self, key: str):
            self.key = key

    class Tensor:
        def __init__(self, key, offset, size, stride):
            self.args = (Storage(key), offset, size, stride, False, collections.OrderedDict())

        def __reduce__(self):
            return _rebuild_tensor_v2, self.args

    class Pickler(pickle.Pickler):
        def persistent_id(self, obj):
            if isinstance(obj, Storage):
                data = storages[obj.key]
                storage_type = getattr(torch, storage_types[data.dtype])
                return ("storage", storage_type, obj.key, "cpu", data.size, None)
            return None

    values = {
        name: Tensor(*value) if isinstance(value, tuple) else value for name, value in state.items()
    }
    with (
        mock.patch.dict(sys.modules, {"torch": torch, "torch._utils": torch_utils}),
        open(path, "wb") as f,
    ):
        for header in (MAGIC_NUMBER, PROTOCOL_VERSION, {"little_endian": True}):
            pickle.dump(header, f, protocol=2)
        Pickler(f, protocol=2).dump(collections.OrderedDict(values))
        pickle.dump(list(storages), f, protocol=2)
        for data in storages.values():
            f.write(data.size.to_bytes(8, "little"))
            f.write(data.astype(data.dtype.newbyteorder("<")).tobytes())


# -- the weights reader --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def state_dict() -> dict[str, np.ndarray]:
    return load_state_dict(LITE0.weights_path())


def test_state_dict_has_every_tensor_with_its_shape(state_dict):
    assert len(state_dict) == 296
    assert state_dict["_conv_stem.weight"].shape == (32, 3, 3, 3)
    assert state_dict["_blocks.15._depthwise_conv.weight"].shape == (1152, 1, 3, 3)
    assert state_dict["_conv_head.weight"].shape == (1280, 320, 1, 1)
    assert state_dict["_fc.weight"].shape == (1000, 1280)
    assert state_dict["_fc.weight"].dtype == np.float32
    assert state_dict["_bn0.num_batches_tracked"].shape == ()
    # Trained values, not zeros or garbage from a misaligned read.
    assert np.all(state_dict["_bn1.running_var"] > 0)
    assert all(np.isfinite(v).all() for v in state_dict.values())


def test_loader_honours_storage_offset_and_stride(tmp_path):
    storages = {"1": np.arange(20, dtype=np.float32), "2": np.array([7], dtype=np.int64)}
    path = tmp_path / "views.pth"
    _write_legacy_file(
        path,
        {
            # Elements 2..13 seen as a transposed 3x4 matrix, as torch saves ``t[...].T``.
            "transposed": ("1", 2, (3, 4), (1, 3)),
            "tail": ("1", 18, (2,), (1,)),
            "scalar": ("2", 0, (), ()),
        },
        storages,
    )

    loaded = load_state_dict(path)

    np.testing.assert_array_equal(loaded["transposed"], np.arange(2, 14).reshape(4, 3).T)
    np.testing.assert_array_equal(loaded["tail"], [18, 19])
    assert loaded["scalar"].shape == () and loaded["scalar"] == 7
    assert loaded["scalar"].dtype == np.int64


def test_loader_refuses_a_pickle_with_any_other_global(tmp_path):
    pwned = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self):
            import os

            return os.system, (f"touch {pwned}",)

    path = tmp_path / "malicious.pth"
    _write_legacy_file(path, {"_fc.bias": Exploit()}, {})

    with pytest.raises(pickle.UnpicklingError, match="not allowed"):
        load_state_dict(path)
    assert not pwned.exists()


def test_a_weights_file_that_does_not_fit_the_architecture_is_refused(tmp_path, state_dict):
    storages = {name: value.reshape(-1) for name, value in state_dict.items()}
    state = {
        name: (name, 0, value.shape, tuple(s // value.itemsize for s in value.strides))
        for name, value in state_dict.items()
    }
    # A tensor the port does not know about: a port that ignored it would silently be wrong.
    storages["extra"] = np.zeros(16, dtype=np.float32)
    state["_blocks.16._bn1.weight"] = ("extra", 0, (16,), (1,))
    path = tmp_path / "extra.pth"
    _write_legacy_file(path, state, storages)

    with pytest.raises(ValueError, match=r"unused \['_blocks\.16\._bn1\.weight'\]"):
        build_model(LITE0, path)


# -- the port ------------------------------------------------------------------------------------


def _photo(name: str, size: int = 224) -> np.ndarray:
    """Resize the shorter side to size / 0.875 (bicubic) and crop the central square, as in
    ImageNet evaluation."""
    image = Image.fromarray(getattr(skimage.data, name)()).convert("RGB")
    scale = round(size / 0.875) / min(image.size)
    image = image.resize(
        (round(image.width * scale), round(image.height * scale)), Image.Resampling.BICUBIC
    )
    left, top = (image.width - size) // 2, (image.height - size) // 2
    return np.asarray(image.crop((left, top, left + size, top + size)))


@pytest.fixture(scope="module")
def photos() -> dict[str, np.ndarray]:
    return {name: _photo(name) for name in ("chelsea", "coffee", "rocket")}


@pytest.fixture(scope="module")
def probabilities(photos) -> dict[str, np.ndarray]:
    classifier = build_model(include_top=True)
    assert classifier.output_shape == (None, 1000)
    logits = classifier.predict(normalise(np.stack(list(photos.values()))), verbose=0)
    exp = np.exp(logits - logits.max(axis=1, keepdims=True))
    return dict(zip(photos, exp / exp.sum(axis=1, keepdims=True), strict=True))


@pytest.fixture(scope="module")
def encoder():
    return build_model()


def _top5(p: np.ndarray) -> list[int]:
    return [int(i) for i in np.argsort(-p)[:5]]


def test_cat_is_a_cat(probabilities):
    top5 = _top5(probabilities["chelsea"])
    assert {TIGER_CAT, EGYPTIAN_CAT, TABBY} <= set(top5)
    assert top5[0] in {TIGER_CAT, EGYPTIAN_CAT, TABBY}


def test_coffee_is_espresso(probabilities):
    p = probabilities["coffee"]
    assert _top5(p)[0] == ESPRESSO
    assert p[ESPRESSO] > 0.8


def test_rocket_is_a_missile(probabilities):
    # Runner-up is 744 (projectile), then 540 (drilling platform) and 812 (space shuttle).
    assert _top5(probabilities["rocket"])[0] == MISSILE


def test_probabilities_match_the_verified_port(probabilities):
    # Recorded from this port, which agrees with an independent float64 numpy forward pass of the
    # same state dict to 7e-6 in the logits.
    expected = {
        "chelsea": {TIGER_CAT: 0.3858, EGYPTIAN_CAT: 0.3559, TABBY: 0.1685},
        "coffee": {ESPRESSO: 0.9511, 968: 0.0150},  # 968: cup
        "rocket": {MISSILE: 0.2963, 744: 0.1999},  # 744: projectile
    }
    for photo, classes in expected.items():
        for index, probability in classes.items():
            assert probabilities[photo][index] == pytest.approx(probability, abs=2e-3), (
                photo,
                index,
            )


def test_embedding_is_stable_under_mirroring_and_separates_subjects(encoder, photos):
    cat, coffee = photos["chelsea"], photos["coffee"]
    embeddings = encoder.predict(normalise(np.stack([cat, cat[:, ::-1], coffee])), verbose=0)
    assert embeddings.shape == (3, EMBEDDING_DIM)
    unit = embeddings / np.linalg.norm(embeddings, axis=1, keepdims=True)
    assert unit[0] @ unit[1] > 0.95  # about 0.983
    assert unit[0] @ unit[2] < 0.3  # about 0.09


def test_normalise_maps_pixels_to_the_training_range():
    pixels = np.array([0, 127, 255], dtype=np.uint8).reshape(1, 1, 3, 1).repeat(3, axis=3)
    normalised = normalise(pixels)
    assert normalised.dtype == np.float32
    np.testing.assert_allclose(normalised[0, 0, :, 0], [-127 / 128, 0, 1])
    np.testing.assert_array_equal(normalise(pixels.astype(np.float64)), normalised)


def test_lite2_uses_every_tensor_of_its_weights_and_sees_what_lite0_sees():
    # Its own architecture (21 blocks, 260 pixels): a wrong stage would leave tensors unused or
    # mis-shaped, which build_model refuses.
    assert len(load_state_dict(LITE2.weights_path())) == 386  # ../shared/docs/ENCODERS.md
    classifier = build_model(LITE2, include_top=True)
    assert classifier.input_shape == (None, 260, 260, 3)
    photos = {name: _photo(name, 260) for name in ("chelsea", "coffee", "rocket")}
    logits = classifier.predict(normalise(np.stack(list(photos.values()))), verbose=0)
    top5 = {name: _top5(row) for name, row in zip(photos, logits, strict=True)}
    assert top5["chelsea"][0] in {TIGER_CAT, EGYPTIAN_CAT, TABBY}
    assert top5["coffee"][0] == ESPRESSO
    assert MISSILE in top5["rocket"][:2]


@pytest.mark.slow
def test_the_lite2_encoder_embeds_photos_in_1280_d_at_260_pixels(tmp_path):
    encoder = load_encoder("efficientnet_lite2", cache_dir=tmp_path)
    assert (encoder.dim, encoder.input_size) == (EMBEDDING_DIM, 260)
    assert encoder.version.startswith(LITE2.weights_version)
    cat = Image.fromarray(_photo("chelsea", 300))
    buffer = BytesIO()
    cat.save(buffer, "JPEG")
    vector = encoder.encode_bytes(buffer.getvalue())
    assert vector.shape == (EMBEDDING_DIM,) and np.linalg.norm(vector) == pytest.approx(1, abs=1e-5)


LOAD_IN_A_FRESH_PROCESS = """
import sys
import numpy as np
from recommender.encoders import load_encoder
encoder = load_encoder("efficientnet_lite0", cache_dir=sys.argv[1])
vector = encoder.encode(np.full((1, 224, 224, 3), 128, np.uint8))[0]
print("RESULT", "tensorflow" in sys.modules, encoder.dim, " ".join(f"{v:.6f}" for v in vector[:8]))
"""


@pytest.mark.slow
def test_a_process_with_the_converted_model_cached_never_loads_tensorflow(tmp_path):
    # A web worker's search by photo: hundreds of MiB and seconds less without TensorFlow.
    def fresh_process() -> list[str]:
        run = subprocess.run(
            [sys.executable, "-c", LOAD_IN_A_FRESH_PROCESS, str(tmp_path)],
            capture_output=True,
            text=True,
            check=True,
        )
        # TensorFlow's converter prints to stdout too: the last line is the script's.
        return run.stdout.splitlines()[-1].split()[1:]

    converting, cached = fresh_process(), fresh_process()
    assert converting[:2] == ["True", "1280"]  # nothing cached yet: built and converted
    assert list((tmp_path).glob("efficientnet_lite0-*.tflite"))
    assert cached[:2] == ["False", "1280"]
    assert cached[2:] == converting[2:]  # the same model either way


# -- 8-bit ----------------------------------------------------------------------------------------


@pytest.mark.slow
def test_the_8_bit_encoder_sees_what_lite0_sees_and_converts_the_same_everywhere(tmp_path, photos):
    """Calibrated on drawings, the 8-bit model keeps Lite0's vectors (cosine about 0.99 on
    photos) and their order; two conversions give the same model, so that vectors from two
    machines can share an index."""
    float32 = load_encoder("efficientnet_lite0", cache_dir=tmp_path / "a")
    int8 = load_encoder("efficientnet_lite0_int8", cache_dir=tmp_path / "a")
    again = load_encoder("efficientnet_lite0_int8", cache_dir=tmp_path / "b")
    assert int8.version != float32.version and "int8" in int8.version
    [converted] = (tmp_path / "a").glob("efficientnet_lite0_int8-*.tflite")
    [reconverted] = (tmp_path / "b").glob("efficientnet_lite0_int8-*.tflite")
    assert converted.read_bytes() == reconverted.read_bytes()
    assert (
        converted.stat().st_size
        < 0.4 * next((tmp_path / "a").glob("efficientnet_lite0-*")).stat().st_size
    )

    cat, coffee, rocket = photos["chelsea"], photos["coffee"], photos["rocket"]
    batch = np.stack([cat, cat[:, ::-1], coffee, rocket])
    exact, quantised = float32.encode(batch), int8.encode(batch)
    assert np.all((exact * quantised).sum(axis=1) > 0.97)
    assert quantised[0] @ quantised[1] > 0.95  # the mirrored cat is still the cat
    assert quantised[0] @ quantised[2] < 0.3
    np.testing.assert_array_equal(quantised, again.encode(batch))
