"""The ResNet50 path, with weights the test saves itself (the ImageNet file is not available here)."""

import numpy as np
import pytest

from recommender.encoders import choose_encoder, load_encoder, resnet50
from recommender.encoders.preprocessing import PREPROCESSING_VERSION

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def saved_weights(tmp_path_factory):
    """Random ResNet50 weights written in the Keras weights format, as a stand-in file."""
    model = resnet50.build_model(None)
    path = tmp_path_factory.mktemp("weights") / "resnet50-test.weights.h5"
    model.save_weights(path)
    return path, model


@pytest.fixture
def empty_keras_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))


def test_encoder_loads_weights_from_a_file_and_encodes_to_unit_2048_vectors(saved_weights):
    path, reference_model = saved_weights
    encoder = load_encoder("resnet50", resnet50_weights=path)
    images = np.random.default_rng(0).integers(0, 256, (3, 224, 224, 3), dtype=np.uint8)

    vectors = encoder.encode(images)

    assert vectors.shape == (3, 2048) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)
    # Same weights and Keras' own ResNet50 preprocessing (BGR, mean subtracted) as the reference.
    expected = reference_model.predict(resnet50.normalise(images.astype(np.float32)), verbose=0)
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)
    np.testing.assert_allclose(vectors, expected, atol=1e-4)
    assert encoder.version == f"{resnet50.weights_version(path)}+{PREPROCESSING_VERSION}"


def test_bgr_mean_subtraction_is_used():
    white = np.full((1, 2, 2, 3), 255, np.uint8)
    white[..., 0] = 0  # no red
    normalised = resnet50.normalise(white)
    # Channel 0 is blue after the RGB->BGR swap: 255 - 103.939
    assert normalised[0, 0, 0, 0] == pytest.approx(255 - 103.939, abs=1e-3)
    assert normalised[0, 0, 0, 2] == pytest.approx(0 - 123.68, abs=1e-3)


def test_auto_chooses_resnet50_when_its_weights_are_there(saved_weights, empty_keras_cache):
    path, _ = saved_weights
    choice = choose_encoder("auto", resnet50_weights=path)
    assert choice.name == "resnet50" and str(path) in choice.reason


def test_auto_falls_back_to_efficientnet_and_says_why(empty_keras_cache):
    choice = choose_encoder("auto")
    assert choice.name == "efficientnet_lite0_int8"
    assert "ResNet50 unavailable" in choice.reason and "Keras cache" in choice.reason


def test_auto_uses_the_keras_cache(saved_weights, empty_keras_cache, tmp_path):
    cache = tmp_path / ".keras" / "models"
    cache.mkdir(parents=True)
    (cache / resnet50.WEIGHTS_FILE).write_bytes(saved_weights[0].read_bytes())
    assert choose_encoder("auto").name == "resnet50"


def test_configured_resnet50_without_weights_is_a_clear_error(empty_keras_cache):
    with pytest.raises(ValueError, match=r"resnet50 encoder is configured but no .* Keras cache"):
        choose_encoder("resnet50")


def test_unknown_encoder_is_refused():
    with pytest.raises(ValueError, match="unknown encoder 'vgg16'"):
        choose_encoder("vgg16")
