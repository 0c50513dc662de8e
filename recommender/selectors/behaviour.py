"""Rails from what shoppers do: "also viewed" and "bought together" (the neighbours of the last
behaviour refit, recommender/behaviour/neighbours.py), and the shopper's own recently viewed."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from recommender.models import BehaviourNeighbour
from recommender.selectors.rails import product_list_you_may_like
from shop.models import Product
from shop.selectors import NO_FILTERS, ProductFilters, product_list_storefront

RECIPROCAL_RANK_CONSTANT = 60  # the paper's, untuned
PICKED_FROM = 3  # the latest viewed products "Picked for you" starts from (a query each)


@dataclass(frozen=True)
class BehaviourProduct:
    product: Product
    score: float
    shoppers: int
    why: str  # in the shopper's words, under the product's card


def product_list_also_viewed(
    *, product: Product, k: int = 10, filters: ProductFilters = NO_FILTERS
) -> list[BehaviourProduct]:
    """Products that shoppers who viewed ``product`` also viewed, best first (none for a product
    too new or too rarely viewed: its page shows the look-alike rail alone)."""
    return _neighbours(product, BehaviourNeighbour.Kind.ALSO_VIEWED, k, filters, "viewed both")


def product_list_bought_together(
    *, product: Product, k: int = 10, filters: ProductFilters = NO_FILTERS
) -> list[BehaviourProduct]:
    """Products bought by the shoppers who bought ``product``, best first."""
    return _neighbours(product, BehaviourNeighbour.Kind.BOUGHT_TOGETHER, k, filters, "bought both")


def product_list_recently_viewed(*, product_ids: list[int], k: int = 10) -> list[Product]:
    """These products (the latest first), those still on sale."""
    wanted = product_ids[:k]
    found = product_list_storefront().filter(pk__in=wanted).in_bulk()
    return [found[pk] for pk in wanted if pk in found]


def _neighbours(product, kind, k, filters, did) -> list[BehaviourProduct]:
    rows = list(
        BehaviourNeighbour.objects.filter(kind=kind, product=product)
        .order_by("-score")
        .values_list("neighbour_id", "score", "shoppers")[: 3 * k]  # some may be filtered out
    )
    products = product_list_storefront(filters=filters).filter(pk__in=[r[0] for r in rows])
    found = products.in_bulk()
    return [
        BehaviourProduct(found[pk], score, shoppers, f"{shoppers} shoppers {did}")
        for pk, score, shoppers in rows
        if pk in found
    ][:k]


def behaviour_trusted(items: list, *, shoppers=None) -> list:
    """The behaviour rail's items that enough shoppers back to take a look-alike's place in a
    blend (``RECOMMENDER_BEHAVIOUR_SHARE_MIN_SHOPPERS``): a pair that few shoppers viewed
    together is more often chance than taste (docs/evaluation). ``shoppers`` tells an item's
    count (default: the item's ``shoppers``)."""
    shoppers = shoppers or (lambda item: item.shoppers)
    least = settings.RECOMMENDER_BEHAVIOUR_SHARE_MIN_SHOPPERS
    return [item for item in items if shoppers(item) >= least]


def rail_blend(looks: list, behaviour: list, *, share: float, k: int, key=None) -> list:
    """The look-alike rail and a behaviour rail fused by reciprocal rank (Cormack, Clarke and
    Büttcher, SIGIR 2009): an item scores ``(1 - share) / (60 + its place among the
    look-alikes) + share / (60 + its place in behaviour)``, so that a product both rails hold
    rises to the top. An item keeps the "why" of the rail that gave it more. ``key`` tells an
    item's product (default: the item's ``product.pk``). The product page and the replay give
    it the ``behaviour_trusted`` items only."""
    if not share:
        return looks[:k]
    key = key or (lambda item: item.product.pk)
    scores: dict = {}
    shown: dict = {}  # product -> (the larger part of its score, the item to show)
    for weight, rail in ((1 - share, looks), (share, behaviour)):
        for place, item in enumerate(rail):
            part = weight / (RECIPROCAL_RANK_CONSTANT + place)
            scores[key(item)] = scores.get(key(item), 0.0) + part
            if part >= shown.get(key(item), (0.0, None))[0]:
                shown[key(item)] = (part, item)
    best = sorted(scores, key=lambda product: -scores[product])[:k]  # stable: looks first
    return [shown[product][1] for product in best]


def product_list_picked_for(*, product_ids: list[int], k: int = 10) -> list:
    """ "Picked for you", from the products a shopper viewed last (``product_ids``, the latest
    first): what shoppers who viewed them also viewed, fused with what looks like them
    (``rail_blend``, equal shares); none of them themselves."""
    viewed = list(product_list_storefront().filter(pk__in=product_ids[:PICKED_FROM]))
    if not viewed:
        return []
    titles = {product.pk: product.title for product in viewed}
    rows = (
        BehaviourNeighbour.objects.filter(
            kind=BehaviourNeighbour.Kind.ALSO_VIEWED, product_id__in=titles
        )
        .exclude(neighbour_id__in=product_ids)
        .values_list("neighbour_id", "product_id", "score")
    )
    # neighbour -> [summed score, the best single score, the viewed product that gave it]
    because: dict[int, list] = {}
    for neighbour, source, score in rows:
        known = because.setdefault(neighbour, [0.0, -1.0, source])
        known[0] += score
        if score > known[1]:
            known[1:] = [score, source]
    found = product_list_storefront().filter(pk__in=because).in_bulk()
    behaviour = [
        BehaviourProduct(found[pk], total, 0, f"Shoppers who viewed {titles[source]} viewed it")
        for pk, (total, _, source) in sorted(because.items(), key=lambda item: -item[1][0])
        if pk in found
    ]
    looks = [
        item
        for item in product_list_you_may_like(products=viewed, k=k + len(product_ids))
        if item.product.pk not in product_ids
    ]
    return rail_blend(looks, behaviour, share=0.5, k=k)
