"""Searches: by photo (a shopper's, which borrows the text of the products it most resembles),
by words in the text model's space, and a photo's near-duplicates in the catalogue."""

from __future__ import annotations

import logging
import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from django.conf import settings
from pgvector import HalfVector, SparseVector
from pgvector.django import CosineDistance, L2Distance, MaxInnerProduct

from recommender import projection, text_model
from recommender.documents import COLOUR_TOKEN_PREFIX, colour_token
from recommender.encoders.preprocessing import Box
from recommender.encoding import encoder_for
from recommender.models import TEXT_DIMENSIONS, PhotoEmbedding, ProductEmbedding, VectorIndex
from recommender.selectors.index_status import index_live, shopper_space_get, text_model_get
from recommender.selectors.ranking import (
    MAX_RESULTS,
    SimilarProduct,
    _candidates,
    _Query,
    _ranked,
    _scored,
    _top,
    _typed,
    _with_products,
)
from recommender.text_index import sparse_vector
from shop.models import Product
from shop.selectors import NO_FILTERS, ProductFilters

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PhotoItem:
    """A product found in a shopper's photo."""

    box: Box  # left, top, width, height as fractions of the whole photo
    match: float  # image cosine of the catalogue product that looks most like it


@dataclass(frozen=True)
class PhotoSearch:
    """What a search by photo found: the products, and what in the photo it searched."""

    results: list[SimilarProduct]
    # Products found in the photo (cut from their surroundings), largest first; empty for a
    # product on white, or when nothing stands out.
    items: list[PhotoItem] = field(default_factory=list)
    # The region the results are for: one of ``items``' boxes, the shopper's box, or None for
    # the whole photo.
    searched: Box | None = None
    match: float = 0.0  # image cosine of the closest product to what was searched

    @property
    def unsure(self) -> bool:
        """Nothing in the catalogue looks much like the photo: perhaps it shows no product the
        shop sells (a wall, a landscape), or one too small to see."""
        return bool(self.results) and self.match < settings.RECOMMENDER_PHOTO_UNSURE_BELOW


def product_list_by_photo(**search: Any) -> list[SimilarProduct]:
    """``product_search_by_photo``'s products alone."""
    return product_search_by_photo(**search).results


def product_search_by_photo(
    *,
    photo: bytes,
    box: Box | None = None,
    k: int = 10,
    filters: ProductFilters = NO_FILTERS,
    exclude: int | None = None,
    borrow_text: bool = True,
    find_product: bool = True,
    shopper_photo: bool = True,
) -> PhotoSearch:
    """The ``k`` products that look most like ``photo`` (bytes; never stored).

    ``box`` limits the query to that region of the photo (fractions: left, top, width, height).
    ``borrow_text=False`` ranks by the photo alone (image cosine is then the score).
    ``find_product=False`` searches the photo as it is, without looking for the product in it.
    ``shopper_photo=False`` ranks in the encoder's own space rather than the shopper space (a
    copy of a catalogue photo is looked for, not the product in a shopper's photo of it).
    Raises ``recommender.encoders.UnreadableImage`` for bytes that are not a photo.
    """
    index = index_live()
    if index is None:
        return PhotoSearch(results=[])
    candidates = encoder_for(index).encode_candidates(photo, box, find_products=find_product)
    # The catalogue itself decides what in the photo is the product: the candidate whose
    # closest catalogue product is closest (one query each; a lone candidate needs none, its
    # match comes with its results).
    matches = (
        [_closest_match(index, vector, filters, exclude) for vector in candidates.vectors]
        if len(candidates.vectors) > 1
        else []
    )
    best = _searched_candidate(matches) if matches else 0
    image = candidates.vectors[best]
    found = PhotoSearch(
        results=[],
        items=[PhotoItem(b, m) for b, m in zip(candidates.boxes[1:], matches[1:], strict=True)],
        searched=candidates.boxes[best] if best or box else None,
    )
    # The photo's own balance of looks and borrowed words: rail experiments do not move it.
    image_weight, text_weight = settings.RECOMMENDER_IMAGE_WEIGHT, settings.RECOMMENDER_TEXT_WEIGHT
    text, closest = None, []
    rounds = settings.RECOMMENDER_PHOTO_FEEDBACK_ROUNDS if borrow_text and text_weight else 0
    for _ in range(rounds):
        weights = (image_weight, text_weight) if text else (1.0, 0.0)
        query = _Query.of_vectors(image, text)
        nearest = _top(index, query, PHOTO_FEEDBACK_NEIGHBOURS, *weights, filters, exclude)
        closest = closest or nearest  # the first round ranks by the photo alone
        text = _borrowed_text(index, nearest) or text
    if text is not None:
        text = _with_photo_colour(index, text, candidates.colour(best), exclude)
    # What the photo shows, how well it matches and what text it borrows are read in the
    # encoder's space (the thresholds and weights above were set there); the ranking itself is
    # in the shopper space, where a shopper's photo of a product lies nearest the product.
    space = shopper_space_get(index) if shopper_photo else None
    if space is not None:
        mapped = space.apply(image)
        image_alone = _Query.of_shopper_photo(mapped, None)
        query = _Query.of_shopper_photo(mapped, text)
    else:
        image_alone, query = _Query.of_vectors(image, None), _Query.of_vectors(image, text)
    if text is None:
        results = _ranked(index, image_alone, k, 1.0, 0.0, filters, exclude)
        if matches:
            match = matches[best]
        elif space is None:  # ranked by the photo alone
            match = results[0].image_score if results else -1.0
        else:
            match = _closest_match(index, image, filters, exclude)
        found = replace(found, results=results, match=match)
        return _led_by_other_photo(found, index, image, image_alone, (1.0, 0.0), filters, exclude)
    top = _top(index, query, k, image_weight, text_weight, filters, exclude)
    # The first round ranked by the photo alone: its first product is the closest match.
    match = matches[best] if matches else closest[0][1]
    leading = settings.RECOMMENDER_PHOTO_CLOSEST_FIRST
    if leading and match < WEAK_MATCH_BELOW:
        leading = max(leading, WEAK_MATCH_CLOSEST_FIRST)
    if space is not None and leading:  # the closest look-alikes in the shopper space lead
        closest = _top(index, image_alone, leading, 1.0, 0.0, filters, exclude)
    lead = [product_id for product_id, *_ in closest[:leading]]
    results = _with_products(
        _led_by(lead, top, index, query, image_weight, text_weight)[:k], image_weight, text_weight
    )
    found = replace(found, results=results, match=match)
    weights = (image_weight, text_weight)
    return _led_by_other_photo(found, index, image, query, weights, filters, exclude)


def _led_by_other_photo(
    found: PhotoSearch, index, image: np.ndarray, query: _Query, weights, filters, exclude
) -> PhotoSearch:
    """``found`` led by the product whose other photo (a back view, a detail) is closer to the
    shopper's photo than any product's primary photo: a product is matched by the closest of
    all its photos (catalogue with three photos per product: docs/evaluation, "Several
    photos")."""
    other = _closest_other_photo(index, image, filters, exclude)
    if not found.results or other is None or other[1] <= found.match:
        return found
    product_id, cosine = other
    lead = next((r for r in found.results if r.product.pk == product_id), None)
    if lead is None:
        rows = _scored(index, query, [product_id], *weights)
        lead = next(iter(_with_products(rows, *weights)), None)
    if lead is None:  # not in the index yet
        return found
    rest = [r for r in found.results if r.product.pk != product_id]
    return replace(found, results=[lead, *rest][: len(found.results)], match=cosine)


def _closest_other_photo(index, image: np.ndarray, filters, exclude) -> tuple[int, float] | None:
    """(product id, image cosine) of the other photo (not a primary one) closest to ``image``:
    the HNSW index proposes, the full vectors decide."""
    proposals = (
        PhotoEmbedding.objects.filter(
            filters.as_q(prefix="product__"), index=index, product__is_active=True
        )
        .exclude(product_id=exclude)
        .order_by(CosineDistance("image_projected", HalfVector(projection.project(image))))
        .values_list("product_id", "image")[: settings.RECOMMENDER_CANDIDATES]
    )
    query = np.asarray(image, dtype=np.float32)
    query = query / (np.linalg.norm(query) or 1.0)
    best = None
    for product_id, vector in proposals:
        cosine = float(vector @ query / (np.linalg.norm(vector) or 1.0))  # numpy from pgvector
        if best is None or cosine > best[1]:
            best = (product_id, cosine)
    return best


# A weak match (a close-up, a cluttered room: the closest product's image cosine below this) says
# the borrowed text may name the wrong kind and push the photographed product down: more of the
# photo's closest look-alikes lead. Tuning half, 150 photos per kind: detail hit10 0.880 -> 0.907,
# scene 0.433 -> 0.480, clean-photo p10_article 0.737 -> 0.735 (docs/evaluation/README.md).
WEAK_MATCH_BELOW = 0.75
WEAK_MATCH_CLOSEST_FIRST = 5


def _searched_candidate(matches: list[float]) -> int:
    """Which candidate is searched: 0, the photo as it is, or 1, the largest part found in it.

    A shopper frames the product photographed: it is the largest part, and a smaller one is
    something else in the room, often a product the shop sells, which the catalogue matches all
    the better for being one. The photo as it is wins when it matches better (a close-up: the
    parts GrabCut finds in it are pieces of one product).

    Exact item in the top 10 with the largest part preferred by 0.06 over any candidate (before)
    against this: tuning half, 150 photos per kind, scene 0.693 -> 0.760, detail 0.927 -> 0.967
    (always the largest part: scene 0.773, detail 0.693); held-out half, evaluate's 300, scene
    0.617 -> 0.627, detail 0.877 -> 0.900, and the rooms' kind precision 0.487 -> 0.530
    (docs/evaluation/README.md).
    """
    return int(matches[1] > matches[0])


def _led_by(lead: list[int], top: list[tuple], index, query, image_weight, text_weight):
    """``top`` with the ``lead`` products first, in their order (scored like the rest).

    A shopper who photographs a product wants that product first, then its kind: the borrowed
    text ranks products of the photo's kind well but can push the exact item down (tuning half:
    a detail photo's item in the top 10 0.81 by the hybrid, 0.86 with the closest look-alike
    first, 0.95 by the photo alone, which loses the kind: docs/evaluation/README.md).
    """
    rows = {row[0]: row for row in top}
    missing = [product_id for product_id in lead if product_id not in rows]
    if missing:
        rows |= {row[0]: row for row in _scored(index, query, missing, image_weight, text_weight)}
    head = [rows[product_id] for product_id in lead if product_id in rows]
    return head + [row for row in top if row[0] not in set(lead)]


def _closest_match(index: VectorIndex, vector: np.ndarray, filters, exclude) -> float:
    """Image cosine of the catalogue product (within ``filters``) closest to ``vector``."""
    query = _Query.of_vectors(vector, None)
    return next(iter(_top(index, query, 1, 1.0, 0.0, filters, exclude)), (None, -1.0))[1]


# The photo's text is that of its nearest products, each weighted exp(SHARPNESS * (score - 1)):
# the closest few dominate. Both chosen on the tuning half of fashion-dev (evaluation report).
PHOTO_FEEDBACK_NEIGHBOURS = 10

PHOTO_FEEDBACK_SHARPNESS = 30.0


def _borrowed_text(index: VectorIndex, nearest: list[tuple]) -> SparseVector | None:
    weights = {
        product_id: math.exp(PHOTO_FEEDBACK_SHARPNESS * (score - 1.0))
        for product_id, score, *_ in nearest
    }
    texts = ProductEmbedding.objects.filter(
        index=index, product_id__in=weights, text__isnull=False
    ).values_list("product_id", "text")
    total: dict[int, float] = defaultdict(float)
    for product_id, text in texts:
        for dimension, value in zip(text.indices(), text.values(), strict=True):
            total[dimension] += weights[product_id] * value
    norm = math.sqrt(sum(value * value for value in total.values()))
    if not norm:
        return None
    return SparseVector({d: v / norm for d, v in total.items()}, TEXT_DIMENSIONS)


# The photo's colour is named by the catalogue photos nearest to it in Lab (a vote among their
# colour fields), and that name stands in for the borrowed text's colour tokens, each name
# weighing its share of the vote times PHOTO_COLOUR_WEIGHT. Tuning half, 150 photos per kind
# (docs/evaluation): ranked in the shopper space, a weight of 0.5 / 0.75 / 1.0 gives clean-photo
# p10_article 0.762 / 0.756 / 0.746 and p10_article_colour 0.259 / 0.271 / 0.277; 15 or 40
# neighbours measured alike.
PHOTO_COLOUR_NEIGHBOURS = 15
PHOTO_COLOUR_WEIGHT = 0.75


def _with_photo_colour(
    index: VectorIndex, text: SparseVector, colour: np.ndarray, exclude: int | None
) -> SparseVector:
    """``text`` (borrowed from look-alikes, whose colours may differ from the photo's) with the
    colour tokens of the photo's own colour instead of the look-alikes'."""
    model = text_model_get(index) or {}
    fields = model.get("fields") or {}
    nearest = (
        ProductEmbedding.objects.filter(index=index, colour__isnull=False)
        .exclude(product_id=exclude)
        .order_by(L2Distance("colour", colour))
        .values_list("product__colour", flat=True)[:PHOTO_COLOUR_NEIGHBOURS]
    )
    votes = Counter(fields.get(colour_token(name) or "") for name in nearest)
    votes.pop(None, None)
    if not votes:
        return text  # an index from before photos had a colour, or no colours in the catalogue
    colours = {d for token, d in fields.items() if token.startswith(COLOUR_TOKEN_PREFIX)}
    entries = {d: v for d, v in zip(text.indices(), text.values(), strict=True) if d not in colours}
    total = sum(votes.values())
    entries |= {d: PHOTO_COLOUR_WEIGHT * count / total for d, count in votes.items()}
    norm = math.sqrt(sum(v * v for v in entries.values()))
    return SparseVector({d: v / norm for d, v in entries.items()}, TEXT_DIMENSIONS)


def product_list_by_text(
    *, text: str, k: int = 10, filters: ProductFilters = NO_FILTERS
) -> list[SimilarProduct]:
    """The ``k`` products whose text is closest to ``text`` in the index's TF-IDF space.

    Catches what full-text search misses (partial words are not stemmed matches, but
    catalogue words such as colours and categories still count).
    """
    index = index_live()
    model = index and text_model_get(index)
    if not model:
        return []
    row = text_model.transform(model, [text])[0]
    if not row.nnz:
        return []
    query = dict(zip(row.indices.tolist(), row.data.tolist(), strict=True))
    # Candidates come from an exact scan, not the HNSW index: a typed query shares a few rare
    # words with a few products and is orthogonal to all the rest, a flat landscape in which a
    # graph search gets lost. The inner product with a words-only query touches only the
    # words. The candidates are then ranked by their words alone: a stored vector also holds
    # its field tokens, which would favour products with fewer fields (no category, colour).
    k = min(k, MAX_RESULTS)
    candidates = _candidates(k)
    text_query = _typed(sparse_vector(row), "text")
    stored = (
        ProductEmbedding.objects.filter(
            filters.as_q(prefix="product__"), index=index, product__is_active=True
        )
        .filter(text__isnull=False)
        .annotate(distance=MaxInnerProduct("text", text_query))
        .filter(distance__lt=0)  # shares at least one word
        .order_by("distance", "product_id")
        .values_list("product_id", "text")[:candidates]
    )
    words = text_model.word_dimensions(model)
    scored = []
    for product_id, vector in stored:
        similarity = words_similarity(query, vector, words=words)
        scored.append((product_id, similarity, 0.0, similarity))
    best = sorted(scored, key=lambda row: (-row[1], row[0]))[:k]
    return _with_products(best, 0.0, 1.0)


def words_similarity(query: dict[int, float], vector: SparseVector, *, words: int) -> float:
    """Cosine of a typed query (unit, words only) with the words part of a stored vector."""
    pairs = [(d, v) for d, v in zip(vector.indices(), vector.values(), strict=True) if d < words]
    norm = math.sqrt(sum(v * v for _, v in pairs))
    return sum(query.get(d, 0.0) * v for d, v in pairs) / norm if norm else 0.0


NEAR_DUPLICATE_SIMILARITY = 0.95


def product_list_photo_duplicates(*, product: Product) -> list[Product]:
    """Other products whose photo is this product's new primary photo, or nearly so.

    Exact copies are found by hash; near-duplicates (re-encoded, resized, recropped) by the
    image vectors of the live index. Empty when the photo is the one already indexed.
    """
    photo = product.images.filter(is_primary=True).first()
    if photo is None:
        return []
    index = index_live()
    indexed = index and ProductEmbedding.objects.filter(index=index, product=product).first()
    if indexed and indexed.image_sha256 == photo.sha256:
        return []
    same = Product.objects.filter(images__sha256=photo.sha256).exclude(pk=product.pk).distinct()
    duplicates = {p.pk: p for p in same}
    if index is not None:
        with photo.image.open("rb") as handle:
            data = handle.read()
        try:
            # The photo alone: a copy on another shelf must not hide behind different words.
            # The photo as a whole: a copy of it, not the product in it, is what is looked for.
            nearest = product_list_by_photo(
                photo=data,
                k=5,
                exclude=product.pk,
                borrow_text=False,
                find_product=False,
                shopper_photo=False,
            )
        except Exception as error:  # a warning is a courtesy; never block a save for it
            logger.warning("Near-duplicate check failed for product %s: %s", product.pk, error)
            nearest = []
        duplicates.update(
            {r.product.pk: r.product for r in nearest if r.score >= NEAR_DUPLICATE_SIMILARITY}
        )
    return list(duplicates.values())
