"""Look metrics: whether results look like the query, from the photos' pixels alone.

Label metrics reward the right shelf and colour name, which the text's field tokens match by
construction; these compare the products themselves on their foreground pixels (catalogue
photos are shot on white, ../shared/docs/EVALUATION.md "Look metrics"):

- ``colour_agreement``: share of the results whose dominant foreground colour is within
  ``COLOUR_MATCH_DELTA_E`` (CIEDE2000) of the query's;
- ``shape_agreement``: mean overlap (IoU) of the silhouettes, each scaled to a common box.

No Django here: descriptors are made from photo bytes.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from io import BytesIO

import numpy as np
from PIL import Image
from skimage.color import deltaE_ciede2000

from recommender.encoders.colour import dominant_colour, foreground_mask
from shop.photo_decoding import load_reduced, to_rgb

# Descriptors are read from the photo at this size (shorter side at least): plenty for a
# colour and a silhouette, and 4,000 photos take seconds.
LOOK_SIZE = 128
SILHOUETTE_SIDE = 32
# Two colours "agree" under this CIEDE2000 distance: about where two shades stop passing for
# one colour name (1 is a just-noticeable difference; 10-20 reads as "similar colour").
COLOUR_MATCH_DELTA_E = 15.0


@dataclass(frozen=True)
class Look:
    colour: np.ndarray  # Lab (3,), the dominant foreground colour
    silhouette: np.ndarray  # bool (SILHOUETTE_SIDE, SILHOUETTE_SIDE)


def look_of(photo: bytes) -> Look:
    with Image.open(BytesIO(photo)) as image:
        rgb = np.asarray(to_rgb(load_reduced(image, at_least=LOOK_SIZE)))
    mask = foreground_mask(rgb)
    return Look(colour=dominant_colour(rgb, mask), silhouette=silhouette(mask))


def silhouette(mask: np.ndarray) -> np.ndarray:
    """The mask cropped to its bounding box and scaled to a common square."""
    rows, columns = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    box = mask[rows[0] : rows[-1] + 1, columns[0] : columns[-1] + 1]
    scaled = Image.fromarray(box.astype(np.uint8) * 255).resize(
        (SILHOUETTE_SIDE, SILHOUETTE_SIDE), Image.Resampling.BOX
    )
    return np.asarray(scaled) >= 128


def colour_distance(a: Look, b: Look) -> float:
    return float(deltaE_ciede2000(a.colour, b.colour))


def shape_overlap(a: Look, b: Look) -> float:
    union = np.logical_or(a.silhouette, b.silhouette).sum()
    return float(np.logical_and(a.silhouette, b.silhouette).sum() / union) if union else 0.0


@dataclass(frozen=True)
class LookScore:
    colour_agreement: float
    shape_agreement: float

    def as_dict(self) -> dict:
        return {"colour_agreement": self.colour_agreement, "shape_agreement": self.shape_agreement}


def look_score(
    results: Sequence[tuple[int, Sequence[int]]], looks: Mapping[int, Look], *, k: int = 10
) -> LookScore:
    """Look metrics over ``(query product, result products)`` pairs. A missing result (a short
    list) counts as a miss for colour and zero overlap, as precision counts it; products
    without a photo have no look and are left out."""
    colours, shapes = [], []
    for query, found in results:
        if query not in looks:
            continue
        top = [looks[pid] for pid in found[:k] if pid in looks]
        colours.append(
            sum(colour_distance(looks[query], other) < COLOUR_MATCH_DELTA_E for other in top) / k
        )
        shapes.append(sum(shape_overlap(looks[query], other) for other in top) / k)
    if not colours:
        raise ValueError("no query has a photo")
    return LookScore(statistics.fmean(colours), statistics.fmean(shapes))
