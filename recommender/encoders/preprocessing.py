"""Photo bytes to the square RGB arrays the encoders take: one path for indexing and search.

No Django here. Product photos come in every Pillow mode and orientation; all of them end up
as 8-bit RGB on white, padded (default) or cropped to a square.
"""

from __future__ import annotations

from io import BytesIO
from typing import Literal

import numpy as np
from PIL import Image, ImageChops, ImageOps

from shop.photo_decoding import WHITE, load_reduced, to_rgb

INPUT_SIZE = 224
# Part of every index's encoder version: vectors made by different preprocessing never mix.
PREPROCESSING_VERSION = "trim1"
# How far (0-255, any channel) a pixel may stray from white and still count as background.
BACKGROUND_TOLERANCE = 12
Fit = Literal["pad", "crop"]
# A region of a photo as fractions of its (upright) width and height: left, top, width, height.
Box = tuple[float, float, float, float]


class UnreadableImage(ValueError):
    """The bytes could not be decoded as an image."""


def decode(
    data: bytes, *, size: int = INPUT_SIZE, fit: Fit = "pad", box: Box | None = None
) -> np.ndarray:
    """Decode photo bytes to a ``(size, size, 3)`` uint8 RGB array.

    ``box`` keeps only that region of the upright photo (a shopper's crop of a busy photo).
    Whatever the bytes, the only error is ``UnreadableImage``; limits on size, pixels and
    structure are not checked here: photos from outside pass ``shop.images.check_image`` first
    (tests/security/test_image_fuzz.py fuzzes both).
    """
    return model_input(upright(data, size=size, box=box), size=size, fit=fit)


def upright(data: bytes, *, size: int = INPUT_SIZE, box: Box | None = None) -> Image.Image:
    """The photo (``box``: that region of it) upright in 8-bit RGB, with at least ``size``
    pixels on its shorter side where it has them. Raises ``UnreadableImage``."""
    try:
        with Image.open(BytesIO(data)) as image:
            # A crop keeps a fraction of the pixels: keep enough to fill the model's input.
            zoom = 1 / min(box[2], box[3]) if box else 1
            image = load_reduced(image, at_least=round(size * zoom))
            if box:
                image = image.crop(_pixels(box, image.size))
            return to_rgb(image)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
        raise UnreadableImage(str(error)) from error


def model_input(image: Image.Image, *, size: int = INPUT_SIZE, fit: Fit = "pad") -> np.ndarray:
    """An upright RGB photo as the model's ``(size, size, 3)`` input: trimmed of its white
    border, squared."""
    return np.asarray(square(trim_background(image), size=size, fit=fit))


def _pixels(box: Box, image_size: tuple[int, int]) -> tuple[int, int, int, int]:
    left, top, width, height = box
    if not (0 <= left < 1 and 0 <= top < 1 and 0 < width <= 1 - left + 1e-9):
        raise ValueError(f"crop box {box} is not inside the photo")
    if not 0 < height <= 1 - top + 1e-9:
        raise ValueError(f"crop box {box} is not inside the photo")
    w, h = image_size
    x0, y0 = int(left * w), int(top * h)
    return x0, y0, max(x0 + 1, round((left + width) * w)), max(y0 + 1, round((top + height) * h))


def trim_background(image: Image.Image) -> Image.Image:
    """The smallest box around what is not plain white: product photos sit on white, and a
    product that fills the model's input is described better (the evaluation report shows it).
    A photo with no white border, a shopper's snapshot say, comes back whole."""
    difference = ImageChops.difference(image, Image.new("RGB", image.size, WHITE))
    box = difference.point(lambda value: 255 if value > BACKGROUND_TOLERANCE else 0).getbbox()
    return image.crop(box) if box else image


def square(image: Image.Image, *, size: int = INPUT_SIZE, fit: Fit = "pad") -> Image.Image:
    """A ``size`` x ``size`` image: the whole photo on white (``pad``) or its centre (``crop``)."""
    if fit == "crop":
        return ImageOps.fit(image, (size, size), Image.Resampling.BICUBIC)
    scaled = ImageOps.contain(image, (size, size), Image.Resampling.BICUBIC)
    canvas = Image.new("RGB", (size, size), WHITE)
    canvas.paste(scaled, ((size - scaled.width) // 2, (size - scaled.height) // 2))
    return canvas
