"""Every photo becomes 224x224 RGB on white, upright, whatever its mode or shape."""

from io import BytesIO

import numpy as np
import pytest
from PIL import Image

from recommender.encoders.preprocessing import UnreadableImage, decode

RED, BLUE, WHITE = (255, 0, 0), (0, 0, 255), (255, 255, 255)


def encoded(image: Image.Image, fmt: str = "PNG", **params) -> bytes:
    buffer = BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def close(pixel, colour, tolerance=12) -> bool:
    return bool(np.all(np.abs(pixel.astype(int) - np.array(colour)) <= tolerance))


def test_exif_orientation_is_applied():
    image = Image.new("RGB", (200, 100), RED)  # wide: red left half, blue right half
    image.paste(BLUE, (100, 0, 200, 100))
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 clockwise to display"
    pixels = decode(encoded(image, "JPEG", exif=exif, quality=95))
    assert pixels.shape == (224, 224, 3) and pixels.dtype == np.uint8
    # Displayed upright the photo is tall: red on top, blue below.
    assert close(pixels[60, 112], RED, 40) and close(pixels[170, 112], BLUE, 40)


def test_transparent_png_lands_on_white():
    image = Image.new("RGBA", (100, 100), (0, 0, 0, 0))
    image.paste((0, 0, 255, 255), (25, 40, 75, 60))  # wide: padded with white above and below
    pixels = decode(encoded(image))
    assert close(pixels[5, 112], WHITE) and close(pixels[112, 112], BLUE)


def test_palette_with_transparency_lands_on_white():
    image = Image.new("P", (100, 100), 0)
    image.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    image.paste(1, (25, 40, 75, 60))
    pixels = decode(encoded(image, transparency=0))
    assert close(pixels[5, 112], WHITE) and close(pixels[112, 112], RED)


def test_cmyk_jpeg_becomes_rgb():
    image = Image.new("CMYK", (80, 80), (0, 255, 255, 0))  # pure red in CMYK
    pixels = decode(encoded(image, "JPEG", quality=95))
    assert close(pixels[112, 112], RED, 30)


@pytest.mark.parametrize(("value", "expected"), [(65535, 255), (32896, 128), (0, 0)])
def test_sixteen_bit_greyscale_is_scaled_not_clipped(value, expected):
    image = Image.fromarray(np.full((50, 50), value, np.uint16))
    pixels = decode(encoded(image))
    assert abs(int(pixels[112, 112, 0]) - expected) <= 1
    assert pixels[112, 112, 0] == pixels[112, 112, 1] == pixels[112, 112, 2]


def test_pad_keeps_the_whole_product_and_crop_fills_the_square():
    tall = Image.new("RGB", (100, 200), RED)
    padded = decode(encoded(tall), fit="pad")
    assert close(padded[112, 5], WHITE) and close(padded[112, 112], RED)
    assert close(padded[2, 112], RED)  # full height kept
    cropped = decode(encoded(tall), fit="crop")
    assert close(cropped[112, 2], RED) and close(cropped[2, 2], RED)


@pytest.mark.parametrize("data", [b"", b"not an image", b"\x89PNG\r\n\x1a\n" + b"\x00" * 40])
def test_undecodable_bytes_raise_our_error(data):
    with pytest.raises(UnreadableImage):
        decode(data)


def test_truncated_jpeg_raises_our_error():
    data = encoded(Image.effect_noise((300, 300), 50).convert("RGB"), "JPEG")
    with pytest.raises(UnreadableImage):
        decode(data[: len(data) // 2])


def test_white_border_is_trimmed_so_the_product_fills_the_frame():
    photo = Image.new("RGB", (400, 400), (250, 250, 250))  # off-white studio background
    photo.paste(RED, (150, 100, 250, 300))  # a 100x200 product in the middle
    pixels = decode(encoded(photo))
    # Trimmed to the product, then padded to a square: red fills the full height.
    assert close(pixels[2, 112], RED) and close(pixels[221, 112], RED)
    assert close(pixels[112, 20], WHITE) and close(pixels[112, 112], RED)


def test_a_photo_without_a_white_border_is_kept_whole():
    photo = Image.new("RGB", (300, 300), BLUE)
    photo.paste(RED, (0, 0, 150, 300))
    pixels = decode(encoded(photo))
    assert close(pixels[112, 50], RED) and close(pixels[112, 170], BLUE)


def test_an_all_white_photo_stays_white():
    pixels = decode(encoded(Image.new("RGB", (64, 64), WHITE)))
    assert close(pixels[0, 0], WHITE) and close(pixels[112, 112], WHITE)
