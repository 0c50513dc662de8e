"""Photos drawn to calibrate an 8-bit model: the ranges of its activations are measured on them.

Drawn, not taken from any catalogue, so that every machine converts the same model from the
same seed (vectors from two machines can share an index) and no shop's photos leave it. What
they need to cover is what product photos make the network do: objects of plain, striped or
checked colour, shaded, on white or on a coloured surface, whole or close up.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

CALIBRATION_PHOTOS = 200
# Part of the encoder's version: a change to the drawings changes the converted model.
CALIBRATION_VERSION = "c1"


def calibration_photos(size: int, count: int = CALIBRATION_PHOTOS, seed: int = 0) -> np.ndarray:
    """``(count, size, size, 3)`` uint8 RGB drawings, the same for the same arguments."""
    rng = np.random.default_rng(seed)
    return np.stack([np.asarray(_drawing(rng, size)) for _ in range(count)])


def _colour(rng: np.random.Generator) -> tuple[int, int, int]:
    return tuple(int(c) for c in rng.integers(0, 256, 3))


def _drawing(rng: np.random.Generator, size: int) -> Image.Image:
    on_white = rng.random() < 0.7
    background = (255, 255, 255) if on_white else _colour(rng)
    image = Image.new("RGB", (size, size), background)
    close_up = rng.random() < 0.15  # a detail: the object fills the frame
    for _ in range(1 if close_up else int(rng.integers(1, 4))):
        width = size * (1.4 if close_up else rng.uniform(0.35, 0.9))
        height = width * rng.uniform(0.6, 1.4)
        left, top = (size - width) / 2, (size - height) / 2  # centred, as products are shot
        left, top = left + rng.normal(0, size * 0.08), top + rng.normal(0, size * 0.08)
        box = [left, top, left + width, top + height]
        mask = Image.new("L", (size, size), 0)
        shape = ImageDraw.Draw(mask)
        kind = rng.integers(0, 4)
        if kind == 0:
            shape.ellipse(box, fill=255)
        elif kind == 1:
            shape.rounded_rectangle(box, radius=int(width * rng.uniform(0, 0.3)), fill=255)
        elif kind == 2:
            points = rng.uniform(box[0], box[2], 6), rng.uniform(box[1], box[3], 6)
            shape.polygon(list(zip(*points, strict=True)), fill=255)
        else:
            shape.rectangle(box, fill=255)
        image.paste(_surface(rng, size), (0, 0), mask.filter(ImageFilter.GaussianBlur(1)))
    if not on_white or rng.random() < 0.3:
        noise = rng.normal(0, rng.uniform(2, 12), (size, size, 3))
        pixels = np.asarray(image, np.float32) + noise
        image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    return image


def _surface(rng: np.random.Generator, size: int) -> Image.Image:
    """A plain, striped or checked fabric of one or two colours, lit from one side."""
    first, second = np.array(_colour(rng), np.float32), np.array(_colour(rng), np.float32)
    y, x = np.mgrid[0:size, 0:size].astype(np.float32)
    pattern = rng.integers(0, 3)
    period = rng.uniform(4, 40)
    if pattern == 0:
        share = np.zeros((size, size), np.float32)
    elif pattern == 1:
        share = ((x * np.cos(period) + y * np.sin(period)) // period % 2).astype(np.float32)
    else:
        share = ((x // period + y // period) % 2).astype(np.float32)
    pixels = first * (1 - share[..., None]) + second * share[..., None]
    light = 1 + rng.uniform(-0.35, 0.15) * (x / size)[..., None]
    return Image.fromarray(np.clip(pixels * light, 0, 255).astype(np.uint8))
