"""Finding the product in a shopper's photo: each separate product cut out onto white."""

import numpy as np
from PIL import Image, ImageDraw

from recommender.encoders.localisation import MAX_CANDIDATES, product_cutouts


def surface(size=(400, 300), seed=0) -> Image.Image:
    """A mottled brown table top."""
    rng = np.random.default_rng(seed)
    pixels = np.array([120, 90, 60]) + rng.normal(0, 12, (size[1], size[0], 3))
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def product_pixels(cutout: Image.Image) -> np.ndarray:
    return (255 - np.asarray(cutout, dtype=np.int16)).max(axis=2) > 12


def test_a_product_on_a_table_is_cut_out_onto_white():
    photo = surface()
    ImageDraw.Draw(photo).rectangle((120, 80, 260, 220), fill=(30, 60, 200))
    [(first, box), *_] = product_cutouts(photo)
    assert first.size == photo.size
    assert np.allclose(box, (120 / 400, 80 / 300, 141 / 400, 141 / 300), atol=0.03)
    shown = product_pixels(first)
    square = np.zeros_like(shown)
    square[80:221, 120:261] = True
    overlap = (shown & square).sum() / (shown | square).sum()
    assert overlap > 0.85  # the square, and (almost) nothing of the table
    assert np.asarray(first)[10, 10].tolist() == [255, 255, 255]


def test_each_of_several_products_is_a_candidate_largest_first():
    photo = surface(size=(480, 300))
    draw = ImageDraw.Draw(photo)
    draw.rectangle((40, 60, 200, 240), fill=(30, 60, 200))  # blue, the larger
    draw.ellipse((280, 100, 400, 220), fill=(220, 200, 40))  # yellow
    cutouts = product_cutouts(photo)
    assert 2 <= len(cutouts) <= MAX_CANDIDATES
    blue, yellow = (np.asarray(c.image, dtype=np.int16) for c in cutouts[:2])
    assert cutouts[0].box[0] < 0.1 < 0.5 < cutouts[1].box[0]  # each box around its own product
    assert (np.abs(blue - [30, 60, 200]).max(axis=2) < 40).sum() > 20000
    assert (np.abs(yellow - [220, 200, 40]).max(axis=2) < 40).sum() > 8000
    assert (np.abs(blue - [220, 200, 40]).max(axis=2) < 40).sum() == 0  # apart, not together


def test_a_tiny_photo_has_no_candidates():
    assert product_cutouts(Image.new("RGB", (6, 6), "red")) == []


def test_a_product_already_on_white_is_left_as_it_is():
    photo = Image.new("RGB", (300, 400), "white")
    ImageDraw.Draw(photo).rectangle((60, 80, 240, 320), fill=(30, 60, 200))
    assert product_cutouts(photo) == []


def test_a_blank_wall_or_pure_noise_offers_no_product_and_no_error():
    wall = Image.new("RGB", (640, 480), (128, 128, 128))
    noise = Image.fromarray(np.random.default_rng(0).integers(0, 255, (300, 400, 3), np.uint8))
    sliver = Image.new("RGB", (16, 2000), (10, 200, 30))  # shrinks to 1 x 160: nothing to cut
    assert product_cutouts(wall) == product_cutouts(noise) == product_cutouts(sliver) == []


def test_a_photo_is_always_cut_the_same_way_whatever_was_cut_before():
    from io import BytesIO

    from recommender.encoders.preprocessing import upright
    from recommender.shopper_photos import shopper_photo
    from shop.sample_catalogue import _draw

    def drawn(shape, rgb) -> bytes:
        buffer = BytesIO()
        _draw(shape, rgb).save(buffer, "JPEG")
        return buffer.getvalue()

    photos = {1: drawn("bag", (40, 80, 190)), 2: drawn("shoe", (200, 40, 40))}
    photo = upright(shopper_photo("several", photos, (1, 2), seed=3).jpeg)
    first = [c.box for c in product_cutouts(photo)]
    for seed in range(3):  # other photos cut on the same thread meanwhile
        product_cutouts(upright(shopper_photo("surface", photos, (2,), seed=seed).jpeg))
    assert [c.box for c in product_cutouts(photo)] == first
