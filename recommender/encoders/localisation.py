"""Find the product in a shopper's photo: GrabCut (OpenCV) separates what stands out from its
surroundings, and each of the largest separate parts becomes a candidate product, cut out onto
white as catalogue photos are. The search keeps the candidate the catalogue matches best
(recommender/selectors/searches.py), so a studio photo or a close-up, where cutting only loses
product, keeps the photo as it is.

Why GrabCut: no detector weights install offline; on the tuning half's shopper photos it took
the exact item found in the top 10 from 0.35 to 0.91 on surfaces (docs/evaluation/README.md).
No Django here.
"""

from __future__ import annotations

from typing import NamedTuple

import cv2
import numpy as np
from PIL import Image

from recommender.encoders.preprocessing import Box

# GrabCut runs on the photo shrunk to this longer side: its cost grows with the pixels, and a
# product's outline at this size is plenty for a 224-pixel model input.
SEGMENT_SIDE = 160
SEGMENT_ITERATIONS = 2
# The frame's outer band starts as background: a shopper centres the product, rarely at the edge.
FRAME_MARGIN = 0.04
MAX_CANDIDATES = 3
GRABCUT_SEED = 0
MIN_CANDIDATE_SHARE = 0.02  # of the photo's area: smaller parts are specks, not products
# A photo whose edge is this white is a product on white already.
WHITE_EDGE_SHARE = 0.9
WHITE_TOLERANCE = 16


class Cutout(NamedTuple):
    image: Image.Image  # the part alone on white, at the photo's size
    box: Box  # its bounding box: left, top, width, height as fractions of the photo


def product_cutouts(image: Image.Image) -> list[Cutout]:
    """The largest separate foreground parts of ``image`` (RGB), largest first; empty when
    nothing stands out, or when the photo is already a product on white (a studio photo:
    cutting could only lose product)."""
    small = image.copy()
    small.thumbnail((SEGMENT_SIDE, SEGMENT_SIDE))
    pixels = np.ascontiguousarray(np.asarray(small)[:, :, ::-1])  # OpenCV wants BGR
    height, width = pixels.shape[:2]
    if min(height, width) < 8 or _on_white(pixels):
        return []
    mask = np.zeros((height, width), np.uint8)
    frame = (
        int(width * FRAME_MARGIN),
        int(height * FRAME_MARGIN),
        int(width * (1 - 2 * FRAME_MARGIN)),
        int(height * (1 - 2 * FRAME_MARGIN)),
    )
    background_model, foreground_model = np.zeros((1, 65)), np.zeros((1, 65))
    # GrabCut starts its colour models from k-means on OpenCV's per-thread random generator:
    # seeded, one photo is always cut the same way, whatever ran before it on the thread.
    cv2.setRNGSeed(GRABCUT_SEED)
    cv2.grabCut(
        pixels,
        mask,
        frame,
        background_model,
        foreground_model,
        SEGMENT_ITERATIONS,
        cv2.GC_INIT_WITH_RECT,
    )
    foreground = ((mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD)).astype(np.uint8)
    _, labels, stats, _ = cv2.connectedComponentsWithStats(foreground)
    areas = stats[1:, cv2.CC_STAT_AREA]
    cutouts = []
    whole = np.asarray(image)
    for label in 1 + np.argsort(-areas)[:MAX_CANDIDATES]:
        if stats[label, cv2.CC_STAT_AREA] < MIN_CANDIDATE_SHARE * height * width:
            break
        part = cv2.resize(
            (labels == label).astype(np.uint8), image.size, interpolation=cv2.INTER_NEAREST
        ).astype(bool)
        left, top, part_width, part_height = stats[label, :4].tolist()
        cutouts.append(
            Cutout(
                Image.fromarray(np.where(part[..., None], whole, 255).astype(np.uint8)),
                (left / width, top / height, part_width / width, part_height / height),
            )
        )
    return cutouts


def _on_white(pixels: np.ndarray) -> bool:
    edge = np.concatenate([pixels[0], pixels[-1], pixels[:, 0], pixels[:, -1]]).astype(np.int16)
    return float(((255 - edge).max(axis=1) <= WHITE_TOLERANCE).mean()) >= WHITE_EDGE_SHARE
