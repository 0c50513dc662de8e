"""What the catalogue announces, for whoever listens: it calls no other app by name.

The recommender listens (recommender/receivers.py, connected in its ``AppConfig.ready()``).
An event is sent once the transaction that made the change has committed, so that a listener
never reads rows that are not there yet and hears nothing of a change that rolled back. A
listener that fails is logged and the change stands: listeners keep their own periodic checks
for work they missed (the recommender's sweep).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.dispatch import Signal

from shop.models import Product

# Products were created or changed (photos, words, fields). Sent with ``product_ids``.
products_changed = Signal()
# Only products' photos changed (fetched from a catalogue's URLs): their words did not.
product_photos_changed = Signal()


def product_changes_announce(*, product_ids: Iterable[int]) -> None:
    """Announce ``products_changed`` for these products once the current transaction commits
    (at once outside one)."""
    product_ids = sorted(set(product_ids))
    if product_ids:
        transaction.on_commit(
            # Robust: a failing listener is logged (django.dispatch) and the others still hear.
            lambda: products_changed.send_robust(sender=Product, product_ids=product_ids)
        )


def product_photo_changes_announce(*, product_ids: Iterable[int]) -> None:
    """Announce ``product_photos_changed`` once the current transaction commits (at once
    outside one)."""
    product_ids = sorted(set(product_ids))
    if product_ids:
        transaction.on_commit(
            lambda: product_photos_changed.send_robust(sender=Product, product_ids=product_ids)
        )
