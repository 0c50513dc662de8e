"""A photo's own colour: the dominant colour of the product's pixels, in CIELAB.

No Django here. Catalogue photos are shot on a plain backdrop, and a product the search found
in a shopper's photo is cut out onto white, so the backdrop is whatever joins the photo's edge
in the edge's own colour; the rest is the product. Search by photo names a shopper's photo's
colour from the catalogue photos nearest to it in Lab (recommender/selectors/searches.py); the
look metrics compare results by it (recommender/quality/looks.py).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage
from skimage.color import rgb2lab

# How far (0-255, any channel) a pixel may stray from the backdrop's colour and still be
# backdrop. Looser than the encoder's border trim: JPEG ringing and soft shadows are not the
# product.
BACKGROUND_TOLERANCE = 24
# Foreground colours are counted in Lab bins this wide; the fullest bin is the dominant one.
LAB_BIN = 8.0
# A model input is read at half its size for its colour: the colour of a 112-pixel photo is
# its colour at 224, in a quarter of the time.
COLOUR_STEP = 2


def foreground_mask(rgb: np.ndarray) -> np.ndarray:
    """Pixels of the product in a studio photo: everything but the backdrop, which is the
    region joined to the photo's edge in the edge's own colour (white, or the light grey of
    many fashion shots); holes filled, specks dropped. A photo whose edge is all product (a
    close-up) is all foreground."""
    pixels = rgb.astype(np.int16)
    edge = np.concatenate([pixels[0], pixels[-1], pixels[:, 0], pixels[:, -1]])
    backdrop = np.median(edge, axis=0)
    similar = np.abs(pixels - backdrop).max(axis=2) <= BACKGROUND_TOLERANCE
    regions, _ = ndimage.label(similar)
    touching = np.unique(np.concatenate([regions[0], regions[-1], regions[:, 0], regions[:, -1]]))
    mask = ~np.isin(regions, touching[touching > 0])
    mask = ndimage.binary_fill_holes(mask)
    mask = ndimage.binary_opening(mask, structure=np.ones((3, 3), bool))  # keeps corners
    return mask if mask.any() else np.ones(mask.shape, dtype=bool)


def dominant_colour(rgb: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The mean Lab colour of the fullest Lab bin among the foreground pixels."""
    lab = rgb2lab(rgb[mask].reshape(-1, 1, 3)).reshape(-1, 3)
    bins = np.floor(lab / LAB_BIN).astype(np.int64)
    # One number per bin (counted with bincount: np.unique over rows is ten times slower).
    bins -= bins.min(axis=0)
    sides = bins.max(axis=0) + 1
    keys = (bins[:, 0] * sides[1] + bins[:, 1]) * sides[2] + bins[:, 2]
    return lab[keys == np.bincount(keys).argmax()].mean(axis=0)


def photo_colours(images: np.ndarray) -> np.ndarray:
    """``(n, h, w, 3)`` uint8 RGB model inputs -> ``(n, 3)`` float32 dominant Lab colours."""
    colours = np.zeros((len(images), 3), np.float32)
    for i, image in enumerate(images):
        small = image[::COLOUR_STEP, ::COLOUR_STEP]
        colours[i] = dominant_colour(small, foreground_mask(small))
    return colours
