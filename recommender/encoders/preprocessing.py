"""Photo bytes to the square RGB arrays the encoders take: one path for indexing and search.

No Django here. Product photos come in every Pillow mode and orientation; all of them end up
as 8-bit RGB on white, padded (default) or cropped to a square.
"""

from __future__ import annotations

from io import BytesIO
from typing import Literal

import numpy as np
from PIL import Image, ImageChops, ImageOps

INPUT_SIZE = 224
WHITE = (255, 255, 255)
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
    try:
        with Image.open(BytesIO(data)) as image:
            # A crop keeps a fraction of the pixels: keep enough to fill the model's input.
            zoom = 1 / min(box[2], box[3]) if box else 1
            image = load_reduced(image, at_least=round(size * zoom))
            if box:
                image = image.crop(_pixels(box, image.size))
            return np.asarray(square(trim_background(to_rgb(image)), size=size, fit=fit))
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
        raise UnreadableImage(str(error)) from error


# Modes that Image.reduce takes; the others (1, P, I;16) are shrunk by Image.resize.
_REDUCIBLE_MODES = {"L", "LA", "PA", "I", "F", "RGB", "RGBA", "RGBa", "CMYK", "YCbCr"}


def load_reduced(image: Image.Image, *, at_least: int) -> Image.Image:
    """Decode ``image`` (just opened) upright, keeping no more pixels than ``at_least`` on its
    shorter side needs.

    A JPEG is decoded at 1/2, 1/4 or 1/8 scale. No other format can be, so the picture is
    shrunk (averaging whole blocks of pixels) right after decoding, in its own mode, before
    anything converts it: a photo costs its decoded size once (at most 4 bytes a pixel, 160 MB
    at the 40-megapixel limit) and every copy after that is small, however few bytes it came
    in (a 1.5 KB lossless WebP of 40 megapixels, a 90 KB 16-bit PNG).
    """
    image.draft("RGB", (at_least, at_least))
    image.load()
    factor = min(image.size) // max(at_least, 1)
    if factor >= 2:
        image = _shrink(image, factor)
    return ImageOps.exif_transpose(image)  # the orientation survives: EXIF is in image.info


def _shrink(image: Image.Image, factor: int) -> Image.Image:
    """``image.reduce(factor)``, a band of rows at a time: Pillow reduces a transparent image
    through a premultiplied copy of it, which a band keeps small."""
    if image.mode not in _REDUCIBLE_MODES:  # 1, P, I;16: resized without a copy
        shrunk = (-(-image.width // factor), -(-image.height // factor))
        return image.resize(shrunk, Image.Resampling.BOX)
    band = factor * 16  # a few megabytes at most
    result = Image.new(image.mode, (-(-image.width // factor), -(-image.height // factor)))
    result.info = image.info  # EXIF (orientation) and the rest
    for top in range(0, image.height, band):
        rows = image.crop((0, top, image.width, min(top + band, image.height)))
        result.paste(rows.reduce(factor), (0, top // factor))
    return result


def _pixels(box: Box, image_size: tuple[int, int]) -> tuple[int, int, int, int]:
    left, top, width, height = box
    if not (0 <= left < 1 and 0 <= top < 1 and 0 < width <= 1 - left + 1e-9):
        raise ValueError(f"crop box {box} is not inside the photo")
    if not 0 < height <= 1 - top + 1e-9:
        raise ValueError(f"crop box {box} is not inside the photo")
    w, h = image_size
    x0, y0 = int(left * w), int(top * h)
    return x0, y0, max(x0 + 1, round((left + width) * w)), max(y0 + 1, round((top + height) * h))


def to_rgb(image: Image.Image) -> Image.Image:
    """Any Pillow mode to 8-bit RGB; transparent areas become white (product photo background)."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        pixels = np.asarray(image, dtype=np.float64)  # small: load_reduced shrank it first
        if pixels.max(initial=0) > 255:  # 16-bit (or wider) range: scale, do not clip
            pixels = pixels * (255 / 65535)
        image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "L")
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (*WHITE, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")  # L, 1, P, CMYK (Pillow undoes Adobe's inverted CMYK), YCbCr


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
