"""What the recommender does when the catalogue announces a change (shop/events.py).

Connected in ``RecommenderConfig.ready()``. Receivers only queue work, after the catalogue's
transaction has committed; the periodic sweep catches up with anything they missed.
"""

from django.dispatch import receiver

from recommender import queueing
from shop.events import product_photos_changed, products_changed


@receiver(products_changed, dispatch_uid="recommender.products_changed")
def product_changes_index(sender, *, product_ids: list[int], **details) -> None:
    """Embed the changed products and refit the text model (their words may be new)."""
    queueing.product_changes_queue(product_ids=product_ids)


@receiver(product_photos_changed, dispatch_uid="recommender.product_photos_changed")
def product_photo_changes_index(sender, *, product_ids: list[int], **details) -> None:
    """Embed the products whose photos changed; their words did not: no text refit."""
    queueing.product_photo_changes_queue(product_ids=product_ids)
