"""Look metrics from pixels: the dominant colour and the silhouette of a product on white."""

from io import BytesIO

import pytest
from PIL import Image, ImageDraw

from recommender.quality.looks import (
    COLOUR_MATCH_DELTA_E,
    colour_distance,
    look_of,
    look_score,
    shape_overlap,
)


def drawing(colour, shape: str = "square", *, size=(120, 160), jpeg: bool = True) -> bytes:
    """A product shot on white: a filled square, a thin bar or a disc."""
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    box = {"square": (20, 40, 100, 120), "bar": (55, 10, 65, 150), "disc": (20, 40, 100, 120)}
    (draw.ellipse if shape == "disc" else draw.rectangle)(box[shape], fill=colour)
    buffer = BytesIO()
    image.save(buffer, "JPEG" if jpeg else "PNG", quality=92)
    return buffer.getvalue()


def test_the_dominant_colour_is_the_products_not_the_backgrounds():
    red, dark_red, blue = (
        look_of(drawing(c)) for c in ((200, 40, 40), (150, 30, 30), (40, 80, 190))
    )
    assert colour_distance(red, red) == pytest.approx(0, abs=1e-6)
    assert colour_distance(red, dark_red) < COLOUR_MATCH_DELTA_E < colour_distance(red, blue)
    grey = look_of(drawing((128, 128, 128)))
    assert colour_distance(grey, red) > COLOUR_MATCH_DELTA_E


def test_silhouettes_overlap_by_shape_whatever_the_size_or_colour():
    square, bar, disc = (look_of(drawing((40, 80, 190), s)) for s in ("square", "bar", "disc"))
    bigger_red_square = look_of(drawing((200, 40, 40), size=(240, 320)))
    assert shape_overlap(square, bigger_red_square) == pytest.approx(1.0, abs=0.05)
    assert 0.6 < shape_overlap(square, disc) < 0.9  # a disc fills pi/4 of its box
    assert shape_overlap(square, bar) == pytest.approx(1.0, abs=0.05)  # both fill their box
    assert shape_overlap(disc, bar) < shape_overlap(square, bar)


def test_look_score_counts_short_lists_as_misses_and_skips_products_without_photos():
    looks = {
        1: look_of(drawing((200, 40, 40))),
        2: look_of(drawing((190, 45, 45))),
        3: look_of(drawing((40, 80, 190), "disc")),
    }
    # Query 1 finds one close red square and a blue disc; 10 slots: 1/10 agree on colour.
    scored = look_score([(1, [2, 3]), (99, [1, 2])], looks, k=10)
    assert scored.colour_agreement == pytest.approx(0.1)
    overlap = shape_overlap(looks[1], looks[2]) + shape_overlap(looks[1], looks[3])
    assert scored.shape_agreement == pytest.approx(overlap / 10)
    with pytest.raises(ValueError, match="no query has a photo"):
        look_score([(99, [1])], looks)
