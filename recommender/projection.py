"""The short image vectors the HNSW index searches; full vectors rank what it proposes.

No Django here. A graph index over 1,280- or 2,048-d vectors is slow to build and large at a
million products; a fixed random orthogonal projection to 256 dimensions keeps neighbours
close enough that the exact cosine over a few hundred proposals recovers the true top 10
(bench/RESULTS.md has the recall and the latency against catalogue size).

The projection needs no fitting: it is drawn once from a fixed seed for each input
dimension, so every process, every index build and every new product agree on it, and a
growing catalogue never makes it stale.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

DIMENSIONS = 256
SEED = 20261126


@lru_cache(maxsize=4)
def _basis(dimensions: int) -> np.ndarray:
    gaussian = np.random.default_rng(SEED).standard_normal((dimensions, DIMENSIONS))
    orthonormal, _ = np.linalg.qr(gaussian)
    return orthonormal.astype(np.float32)


def project(vectors: np.ndarray) -> np.ndarray:
    """Unit-length ``DIMENSIONS``-d projections of ``vectors`` (one per row, or a single one)."""
    vectors = np.asarray(vectors, dtype=np.float32)
    projected = vectors @ _basis(vectors.shape[-1])
    norms = np.linalg.norm(projected, axis=-1, keepdims=True)
    return projected / np.where(norms > 0, norms, 1.0)
