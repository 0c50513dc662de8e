"""A photo's own colour: the dominant colour of the product's pixels, in CIELAB."""

import numpy as np
import pytest
from skimage.color import deltaE_ciede2000, rgb2lab

from recommender.encoders.colour import foreground_mask, photo_colours


def lab(rgb) -> np.ndarray:
    return rgb2lab(np.array([[rgb]], np.uint8))[0, 0]


def test_the_foreground_is_the_product_without_its_white_background():
    rgb = np.full((50, 60, 3), 255, np.uint8)
    rgb[10:30, 20:40] = (200, 40, 40)
    rgb[15:20, 25:30] = 255  # a white logo inside the product stays product
    mask = foreground_mask(rgb)
    assert mask[10:30, 20:40].all() and mask.sum() == 20 * 20


def test_a_photo_without_white_is_all_foreground():
    assert foreground_mask(np.full((8, 8, 3), 90, np.uint8)).all()


def test_a_photos_colour_is_its_products_not_its_backdrops():
    on_white = np.full((224, 224, 3), 255, np.uint8)
    on_white[40:180, 70:150] = (200, 40, 40)  # a red product on white, a third of the photo
    on_grey = np.full((224, 224, 3), (232, 232, 232), np.uint8)  # a light grey studio backdrop
    on_grey[30:200, 60:170] = (40, 80, 190)
    close_up = np.full((224, 224, 3), (40, 140, 70), np.uint8)  # all product, edge to edge
    colours = photo_colours(np.stack([on_white, on_grey, close_up]))
    assert colours.shape == (3, 3) and colours.dtype == np.float32
    for colour, rgb in zip(colours, [(200, 40, 40), (40, 80, 190), (40, 140, 70)], strict=True):
        assert deltaE_ciede2000(colour, lab(rgb)) == pytest.approx(0, abs=1.0)


def test_no_photos_no_colours():
    assert photo_colours(np.zeros((0, 224, 224, 3), np.uint8)).shape == (0, 3)
