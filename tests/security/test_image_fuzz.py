"""Fuzzing the photo gate with random and mutated image bytes (hypothesis).

What every upload path does with a photo: ``check_image`` (shop/images.py), then, for what it
accepted, the encoder's ``decode`` (recommender/encoders/preprocessing.py). Whatever the bytes,
only the project's own errors may come out (``InvalidImage``, ``UnreadableImage``), and no
input may take more than 2 seconds (hypothesis fails an example over its ``deadline``).

The inputs are real small JPEG, PNG, GIF and WebP files, mutated: bits flipped, cut short,
pieces of other files spliced in, segments repeated, and the width and height in their headers
replaced; and plain random bytes.
"""

from __future__ import annotations

import re
import struct

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from PIL import Image

from recommender.encoders.preprocessing import UnreadableImage, decode
from shop.images import InvalidImage, check_image
from tests.security.hostile_images import encoded, product_photo

pytestmark = [
    pytest.mark.slow,
    # Mutated EXIF and huge declared sizes make Pillow warn; what matters here is the outcome.
    pytest.mark.filterwarnings("ignore::UserWarning:PIL"),
    pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning"),
]

# About 10 s on two slow cores; every run draws new examples (a failure is replayed first).
MAX_EXAMPLES = 6000
DEADLINE_MS = 2000


def _seeds() -> dict[str, bytes]:
    photo = product_photo(size=(48, 64))
    palette = Image.new("P", (48, 64), 0)
    palette.putpalette([255, 255, 255, 200, 30, 30] + [0] * 762)
    palette.paste(1, (12, 12, 36, 52))
    grey16 = Image.new("I;16", (48, 64), 65535)
    grey16.paste(9000, (12, 12, 36, 52))
    frames = [product_photo(size=(48, 64), colour=c) for c in ((200, 0, 0), (0, 0, 200))]
    return {
        "jpeg": encoded(photo, "JPEG", quality=80),
        "jpeg_progressive": encoded(photo, "JPEG", quality=80, progressive=True),
        "jpeg_cmyk": encoded(photo.convert("CMYK"), "JPEG"),
        "png": encoded(photo, "PNG"),
        "png_palette_transparent": encoded(palette, "PNG", transparency=0),
        "png_16_bit": encoded(grey16, "PNG"),
        "gif_animated": encoded(
            frames[0].convert("P"), "GIF", save_all=True, append_images=[frames[1].convert("P")]
        ),
        "webp_lossy": encoded(photo, "WEBP", quality=70),
        "webp_lossless": encoded(photo, "WEBP", lossless=True),
        "webp_animated": encoded(frames[0], "WEBP", save_all=True, append_images=frames[1:]),
    }


SEEDS = _seeds()


def size_fields(data: bytes) -> list[tuple[int, int]]:
    """Where a file's header says how wide and high it is: (offset, length) of each field."""
    if data.startswith(b"\x89PNG"):
        return [(16, 4), (20, 4)]
    if data.startswith(b"GIF"):
        fields = [(6, 2), (8, 2)]  # the logical screen
        frame = data.find(b"\x2c\x00\x00\x00\x00")  # the first frame's descriptor, at 0, 0
        return fields + ([(frame + 5, 2), (frame + 7, 2)] if frame > 0 else [])
    if data.startswith(b"\xff\xd8"):
        frame = max(data.find(b"\xff\xc0"), data.find(b"\xff\xc2"))
        return [(frame + 5, 2), (frame + 7, 2)]
    chunk = data[12:16]
    if chunk == b"VP8X":
        return [(24, 3), (27, 3)]
    if chunk == b"VP8 ":
        return [(26, 2), (28, 2)]
    return [(21, 2), (22, 2)]  # VP8L: 14 bits each, packed


@st.composite
def mutated_images(draw) -> bytes:
    data = bytearray(SEEDS[draw(st.sampled_from(sorted(SEEDS)))])
    for _ in range(draw(st.integers(1, 4))):
        where = draw(st.integers(0, max(len(data) - 1, 0)))
        match draw(st.sampled_from(["flip", "cut", "splice", "size", "insert", "repeat"])):
            case "flip":
                for _ in range(draw(st.integers(1, 8))):
                    spot = draw(st.integers(0, max(len(data) - 1, 0)))
                    if data:
                        data[spot] ^= 1 << draw(st.integers(0, 7))
            case "cut":
                data = data[:where]
            case "splice":
                other = SEEDS[draw(st.sampled_from(sorted(SEEDS)))]
                start = draw(st.integers(0, len(other) - 1))
                piece = other[start : start + draw(st.integers(1, 512))]
                data[where : where + draw(st.integers(0, 512))] = piece
            case "size":
                for offset, length in size_fields(bytes(data)):
                    if draw(st.booleans()) and offset + length <= len(data):
                        value = draw(st.sampled_from([0, 1, 15, 16, 8000, 65535, -1]))
                        if value == -1:
                            field = draw(st.binary(min_size=length, max_size=length))
                        else:
                            field = struct.pack(">I", value)[-length:]
                        data[offset : offset + length] = field
            case "insert":
                data[where:where] = draw(st.binary(min_size=1, max_size=64))
            case "repeat":
                piece = data[where : where + draw(st.integers(1, 256))]
                data[where:where] = piece * draw(st.integers(1, 40))
    return bytes(data)


@settings(
    max_examples=MAX_EXAMPLES,
    deadline=DEADLINE_MS,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.one_of(mutated_images(), mutated_images(), st.binary(max_size=4096)))
def test_reading_any_bytes_ends_in_our_error_or_a_photo_within_two_seconds(data):
    try:
        checked = check_image(data)
    except InvalidImage as error:
        assert str(error)  # the message shown to whoever sent the file
        event("refused: " + re.sub(r"\d+", "N", str(error).split(" (")[0]))
        return
    try:
        pixels = decode(checked.data)
    except UnreadableImage as error:
        assert str(error)
        event("accepted, then unreadable")
        return
    event(f"accepted: {checked.format}")
    assert pixels.shape == (224, 224, 3) and pixels.dtype == np.uint8


@settings(
    max_examples=MAX_EXAMPLES // 3,
    deadline=None,  # unchecked bytes may be as large as Pillow allows: check_image bounds time
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.one_of(mutated_images(), st.binary(max_size=4096)))
def test_decode_alone_raises_only_its_own_error_whatever_the_bytes(data):
    """The encoder trusts check_image for limits, yet never fails with another error."""
    try:
        pixels = decode(data, box=(0.1, 0.1, 0.8, 0.8))
    except UnreadableImage as error:
        assert str(error)
        return
    assert pixels.shape == (224, 224, 3) and pixels.dtype == np.uint8


@pytest.mark.parametrize("name", sorted(SEEDS))
def test_every_seed_is_a_photo_that_reads(name):
    """The mutations start from real photos: each of them passes untouched."""
    checked = check_image(SEEDS[name])
    assert decode(checked.data).shape == (224, 224, 3)
    assert (checked.width, checked.height) == (48, 64)
