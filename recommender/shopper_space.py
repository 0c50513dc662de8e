"""The shopper space: image vectors in which a shopper's photo of a product lands next to the
product's catalogue photo. Search by photo ranks in it; rails keep the encoder's own space.

No Django here. A shopper's photo differs from the catalogue's by more than the product: a
room, a table, the light, a close-up, a phone's JPEG. ``reindex`` photographs a sample of the
catalogue the way shoppers do (recommender/shopper_photos.py, its own seed) and learns a linear
map from the pairs, a learned whitening (Radenović, Tolias and Chum, "CNN image retrieval
learns from BoW", ECCV 2016): the directions in which a product's shopper photos stray from its
catalogue photo are shrunk to unit variance, then the catalogue's principal directions in that
whitened space are kept. Chosen on the tuning half of fashion-dev, where a product's shopper
photos in a room found it in the top 10 0.59 -> 0.70 of the time (products the map never saw;
docs/evaluation/README.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from io import BytesIO

import numpy as np

DIMENSIONS = 256
# The pairs' covariance is shrunk this far towards a multiple of the identity: a few hundred
# products cannot estimate 1,280 x 1,280 covariances, and 0.05-0.5 measured alike.
SHRINKAGE = 0.2


@dataclass(frozen=True)
class ShopperSpace:
    mean: np.ndarray  # (dim,) the catalogue's mean vector
    matrix: np.ndarray  # (dim, DIMENSIONS)

    def apply(self, vectors: np.ndarray) -> np.ndarray:
        """Encoder vectors (one per row, or a single one) -> unit ``DIMENSIONS``-d vectors."""
        mapped = (np.asarray(vectors, np.float32) - self.mean) @ self.matrix
        norms = np.linalg.norm(mapped, axis=-1, keepdims=True)
        return mapped / np.where(norms > 0, norms, 1.0)

    def to_bytes(self) -> bytes:
        buffer = BytesIO()
        np.savez(buffer, mean=self.mean, matrix=self.matrix)
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> ShopperSpace:
        with np.load(BytesIO(data), allow_pickle=False) as arrays:
            return cls(mean=arrays["mean"], matrix=arrays["matrix"])


def shopper_space_fit(
    catalogue: np.ndarray, views: np.ndarray, originals: np.ndarray
) -> ShopperSpace:
    """Learn the space from ``views[i]``, the vector of a shopper's photo of the product whose
    catalogue photo's vector is ``originals[i]``, and ``catalogue``, vectors of catalogue photos
    (its principal directions are kept)."""
    catalogue = np.asarray(catalogue, np.float64)
    differences = np.asarray(views, np.float64) - np.asarray(originals, np.float64)
    dim = catalogue.shape[1]
    strays = differences.T @ differences / len(differences)
    strays = (1 - SHRINKAGE) * strays + SHRINKAGE * np.trace(strays) / dim * np.eye(dim)
    values, vectors = np.linalg.eigh(strays)
    whitening = vectors @ np.diag(values**-0.5) @ vectors.T
    mean = catalogue.mean(axis=0)
    whitened = (catalogue - mean) @ whitening
    spread, directions = np.linalg.eigh(whitened.T @ whitened / len(whitened))
    kept = directions[:, np.argsort(spread)[::-1][:DIMENSIONS]]
    return ShopperSpace(mean=mean.astype(np.float32), matrix=(whitening @ kept).astype(np.float32))
