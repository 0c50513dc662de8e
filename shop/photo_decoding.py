"""Decoding a photo with its memory bounded: upright, reduced while it is read, then 8-bit RGB.

Shared by the storefront's thumbnails and the recommender's encoder input
(recommender/encoders/preprocessing.py). No Django here. Photos from outside pass
``shop.images.check_image`` first; this keeps what a checked photo may still cost small.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageOps

# Product photos sit on white: transparent areas become white too.
WHITE = (255, 255, 255)

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
