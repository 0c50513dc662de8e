"""Shopper-like query photos made from catalogue photos, deterministically (fixed seed), in the
kinds of ../shared/docs/EVALUATION.md ("Shopper photos"):

- ``surface``: the product cut from its white background, on a procedural surface (flat colour,
  gradient, wood, fabric, noise), 50-85% of the frame, tilted, re-lit, phone-compressed;
- ``scene``: the product at 40-70% of the frame in a cluttered room: a wall and a floor, a few
  other catalogue products around it and partly behind it;
- ``detail``: a close-up, about 60% of the product's width and height;
- ``several``: two or three products side by side on a surface (each the target in turn).

``evaluate`` searches with them; ``reindex`` learns from them where a shopper's photo of a product
lands (recommender/shopper_space.py), with its own seed. Backgrounds are procedural, clutter is
cut from the catalogue's own photos: never scikit-image's sample photos (kept for independent
checks). No Django here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from io import BytesIO

import numpy as np
from PIL import Image, ImageEnhance, ImageFilter
from scipy import ndimage

from recommender.encoders.colour import foreground_mask
from shop.photo_decoding import load_reduced, to_rgb

KINDS = ("surface", "scene", "detail", "several")
# Photos with no product in them (a wall, a floor, a table): does search say so?
NOTHING = "nothing"
KIND_DESCRIPTIONS = {
    "surface": "on a coloured or textured surface, 50-85% of the frame, tilted, re-lit, phone JPEG",
    "scene": "in a cluttered room with other products, 40-70% of the frame",
    "detail": "a close-up: about 60% of the product's width and height",
    "several": "two or three products in one photo, each the target in turn",
    NOTHING: "no product: a surface, or a room's wall and floor with furniture",
}
FRAME = (640, 480)  # a phone photo, landscape or portrait
SOURCE_SIDE = 512  # catalogue photos are read this large (shorter side at least)


@dataclass(frozen=True)
class ShopperPhoto:
    kind: str
    jpeg: bytes
    products: tuple[int, ...]  # the catalogue products in the photo, left to right


def shopper_photo(
    kind: str, photos: dict[int, bytes], products: Sequence[int], *, seed: int, clutter=()
) -> ShopperPhoto:
    """A ``kind`` photo of ``products`` (one, or two or three for ``several``), from their
    catalogue ``photos``; ``clutter`` (product ids with photos) furnishes a scene."""
    rng = np.random.default_rng([seed, KINDS.index(kind), *products])
    frame = FRAME if rng.random() < 0.5 else FRAME[::-1]
    if kind == "detail":
        image = _detail(_read(photos[products[0]]), rng, frame)
    elif kind == "several":
        cutouts = [_cut_out(_read(photos[pid])) for pid in products]
        image = _arrange(_surface(rng, frame), cutouts, rng)
    else:
        cutout = _tilted(_cut_out(_read(photos[products[0]])), rng)
        if kind == "surface":
            canvas, share = _surface(rng, frame), rng.uniform(0.50, 0.85)
        elif kind == "scene":
            others = [_cut_out(_read(photos[pid])) for pid in clutter]
            canvas, share = _scene(rng, frame, others), rng.uniform(0.40, 0.70)
        else:
            raise ValueError(f"unknown kind of shopper photo: {kind}")
        image = _paste(canvas, cutout, share, rng)
    return ShopperPhoto(kind, _phone_jpeg(_relit(image, rng), rng), tuple(products))


def empty_photo(*, seed: int) -> ShopperPhoto:
    """A phone photo of a surface or a room with nothing the shop sells in it."""
    rng = np.random.default_rng([seed, len(KINDS)])
    frame = FRAME if rng.random() < 0.5 else FRAME[::-1]
    canvas = _scene(rng, frame, []) if rng.random() < 0.5 else _surface(rng, frame)
    return ShopperPhoto(NOTHING, _phone_jpeg(_relit(canvas, rng), rng), ())


def _read(photo: bytes) -> Image.Image:
    with Image.open(BytesIO(photo)) as image:
        return to_rgb(load_reduced(image, at_least=SOURCE_SIDE))


def _cut_out(image: Image.Image) -> Image.Image:
    """The product alone (RGBA, cropped to it), its edge softened by a pixel."""
    mask = foreground_mask(np.asarray(image))
    alpha = Image.fromarray(mask.astype(np.uint8) * 255).filter(ImageFilter.GaussianBlur(1))
    cutout = image.convert("RGBA")
    cutout.putalpha(alpha)
    return cutout.crop(cutout.getbbox())


def _tilted(cutout: Image.Image, rng) -> Image.Image:
    return cutout.rotate(rng.uniform(-8, 8), Image.Resampling.BICUBIC, expand=True)


def _paste(canvas: Image.Image, cutout: Image.Image, share: float, rng) -> Image.Image:
    """``cutout`` on ``canvas``, its longer side ``share`` of the frame's shorter side, at a
    random place that keeps it whole."""
    scale = share * min(canvas.size) / max(cutout.size)
    size = (max(1, round(cutout.width * scale)), max(1, round(cutout.height * scale)))
    cutout = cutout.resize(size, Image.Resampling.LANCZOS)
    x = int(rng.integers(0, max(1, canvas.width - cutout.width + 1)))
    y = int(rng.integers(0, max(1, canvas.height - cutout.height + 1)))
    canvas.paste(cutout, (x, y), cutout)
    return canvas


def _arrange(canvas: Image.Image, cutouts: list[Image.Image], rng) -> Image.Image:
    """Products side by side, each in its own column of the frame, tilted a little."""
    width = canvas.width // len(cutouts)
    for i, cutout in enumerate(cutouts):
        column = Image.new("RGBA", (width, canvas.height), (0, 0, 0, 0))
        _paste(column, _tilted(cutout, rng), rng.uniform(0.75, 0.95), rng)
        canvas.paste(column, (i * width, 0), column)
    return canvas


def _detail(image: Image.Image, rng, frame) -> Image.Image:
    left, top, right, bottom = Image.fromarray(foreground_mask(np.asarray(image))).getbbox()
    width, height = right - left, bottom - top
    side = rng.uniform(0.55, 0.70)
    w, h = max(1, round(width * side)), max(1, round(height * side))
    x = left + int(rng.integers(0, width - w + 1))
    y = top + int(rng.integers(0, height - h + 1))
    crop = image.crop((x, y, x + w, y + h))
    scale = max(frame) / max(crop.size)
    return crop.resize(
        (max(1, round(crop.width * scale)), max(1, round(crop.height * scale))),
        Image.Resampling.BICUBIC,
    )


def _colour(rng, *, light: tuple[float, float] = (0.15, 0.9)) -> np.ndarray:
    """A random surface colour, never close to white."""
    hsv = (
        int(rng.integers(256)),
        int(rng.uniform(0.15, 0.8) * 255),
        int(rng.uniform(*light) * 255),
    )
    return np.array(Image.new("HSV", (1, 1), hsv).convert("RGB").getpixel((0, 0)), np.float32)


def _surface(rng, frame) -> Image.Image:
    """A flat colour, a gradient, wood grain, a woven fabric or mottled stone."""
    width, height = frame
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    base, other = _colour(rng), _colour(rng)
    style = rng.integers(5)
    if style == 0:  # flat
        weight = np.zeros_like(x)
    elif style == 1:  # gradient at an angle
        angle = rng.uniform(0, np.pi)
        ramp = x * np.cos(angle) + y * np.sin(angle)
        weight = (ramp - ramp.min()) / np.ptp(ramp)
    elif style == 2:  # wood grain
        period = rng.uniform(8, 30)
        warp = _noise(rng, frame, sigma=20) * 25
        weight = 0.5 + 0.5 * np.sin((y + warp) / period * 2 * np.pi)
        other = base * rng.uniform(0.6, 0.85)
    elif style == 3:  # woven fabric
        period = rng.uniform(4, 10)
        weight = 0.5 + 0.25 * (np.sin(x / period * np.pi) + np.sin(y / period * np.pi))
        other = base * rng.uniform(0.7, 0.9)
    else:  # mottled stone or carpet
        weight = np.clip(0.5 + _noise(rng, frame, sigma=rng.uniform(2, 12)) * 1.5, 0, 1)
    pixels = base * (1 - weight[..., None]) + other * weight[..., None]
    pixels += rng.normal(0, 4, pixels.shape)  # grain
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB")


def _noise(rng, frame, *, sigma: float) -> np.ndarray:
    """Smooth noise in about [-1, 1]: white noise blurred at ``sigma`` pixels."""
    width, height = frame
    noise = ndimage.gaussian_filter(rng.standard_normal((height, width)), sigma)
    return noise / (np.abs(noise).max() or 1.0)


def _scene(rng, frame, clutter: list[Image.Image]) -> Image.Image:
    """A wall above a floor, with furniture-like blocks and other products about."""
    canvas = _surface(rng, frame)
    floor = _surface(rng, frame)
    horizon = int(frame[1] * rng.uniform(0.35, 0.6))
    canvas.paste(floor.crop((0, horizon, frame[0], frame[1])), (0, horizon))
    pixels = np.asarray(canvas).copy()
    for _ in range(int(rng.integers(2, 5))):  # shelves, a table, a window
        x0, y0 = int(rng.integers(0, frame[0])), int(rng.integers(0, frame[1]))
        w, h = int(rng.integers(frame[0] // 8, frame[0] // 2)), int(rng.integers(10, frame[1] // 3))
        pixels[y0 : y0 + h, x0 : x0 + w] = _colour(rng, light=(0.1, 0.95))
    canvas = Image.fromarray(pixels)
    for cutout in clutter:
        _paste(canvas, _tilted(cutout, rng), rng.uniform(0.2, 0.4), rng)
    return canvas


def _relit(image: Image.Image, rng) -> Image.Image:
    image = ImageEnhance.Brightness(image).enhance(rng.uniform(0.75, 1.2))
    image = ImageEnhance.Contrast(image).enhance(rng.uniform(0.75, 1.2))
    image = ImageEnhance.Color(image).enhance(rng.uniform(0.7, 1.3))
    cast = rng.uniform(0.92, 1.08, 3)  # warm or cool light
    pixels = np.asarray(image, dtype=np.float32) * cast
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def _phone_jpeg(image: Image.Image, rng) -> bytes:
    pixels = np.asarray(image, dtype=np.float32) + rng.normal(0, 3, (image.height, image.width, 3))
    image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    if rng.random() < 0.5:
        image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.0)))  # a little shake
    buffer = BytesIO()
    image.save(buffer, "JPEG", quality=int(rng.integers(55, 81)))
    return buffer.getvalue()
