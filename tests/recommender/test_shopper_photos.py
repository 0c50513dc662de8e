"""Shopper-like query photos: deterministic, off white, and the product still in them."""

from io import BytesIO

import numpy as np
import pytest
from PIL import Image

from recommender.quality.shopper_search import shopper_queries
from recommender.shopper_photos import FRAME, KINDS, shopper_photo
from tests.recommender.test_looks import drawing

RED, BLUE, GREEN = (210, 30, 30), (30, 60, 210), (30, 170, 60)
PHOTOS = {1: drawing(RED), 2: drawing(BLUE, "disc"), 3: drawing(GREEN, "bar")}


def pixels(photo) -> np.ndarray:
    with Image.open(BytesIO(photo.jpeg)) as image:
        assert image.format == "JPEG" and max(image.size) == max(FRAME)
        return np.asarray(image.convert("RGB"), dtype=np.int16)


def share_near(rgb: np.ndarray, colour, tolerance: int = 60) -> float:
    """Share of the pixels within ``tolerance`` (any channel) of ``colour``, allowing for the
    photo's changed light."""
    return float((np.abs(rgb - np.array(colour)).max(axis=2) < tolerance).mean())


@pytest.mark.parametrize("kind", KINDS)
def test_the_same_seed_makes_the_same_photo_and_another_seed_another(kind):
    products = (1, 2) if kind == "several" else (1,)
    first = shopper_photo(kind, PHOTOS, products, seed=0, clutter=(3,))
    assert first.jpeg == shopper_photo(kind, PHOTOS, products, seed=0, clutter=(3,)).jpeg
    assert first.jpeg != shopper_photo(kind, PHOTOS, products, seed=1, clutter=(3,)).jpeg
    assert first.kind == kind and first.products == products


@pytest.mark.parametrize("seed", range(6))
def test_a_surface_photo_shows_the_product_off_white(seed):
    rgb = pixels(shopper_photo("surface", PHOTOS, (1,), seed=seed))
    border = np.concatenate([rgb[0], rgb[-1], rgb[:, 0], rgb[:, -1]])
    assert np.abs(border - 255).max(axis=1).mean() > 15  # the surface is not white
    # The red square (tilted, so a little smaller) spans 50-85% of the shorter side: 12-54%.
    assert 0.08 < share_near(rgb, RED) < 0.6


def test_a_scene_has_the_product_and_clutter_around_it():
    rgb = pixels(shopper_photo("scene", PHOTOS, (1,), seed=3, clutter=(2, 3)))
    assert share_near(rgb, RED) > 0.02
    assert share_near(rgb, BLUE) > 0.002 or share_near(rgb, GREEN) > 0.002


def test_a_detail_is_a_close_up_of_the_product():
    rgb = pixels(shopper_photo("detail", PHOTOS, (1,), seed=0))
    assert share_near(rgb, RED) > 0.3  # mostly product, close up


def test_several_products_share_one_photo():
    photo = shopper_photo("several", PHOTOS, (1, 2, 3), seed=0)
    rgb = pixels(photo)
    assert photo.products == (1, 2, 3)
    assert all(share_near(rgb, colour) > 0.002 for colour in (RED, BLUE, GREEN))


def test_several_groups_the_sample_in_twos_and_threes_and_scenes_take_other_products():
    sample, catalogue = list(range(1, 12)), list(range(1, 40))
    groups = shopper_queries("several", sample, catalogue, seed=0)
    photographed = [pid for products, _ in groups for pid in products]
    assert photographed == sample[: len(photographed)] and len(photographed) >= len(sample) - 1
    assert all(len(products) in (2, 3) and not clutter for products, clutter in groups)
    scenes = shopper_queries("scene", sample, catalogue, seed=0)
    assert all(
        3 <= len(clutter) <= 6 and products[0] not in clutter for products, clutter in scenes
    )
    assert scenes == shopper_queries("scene", sample, catalogue, seed=0)
