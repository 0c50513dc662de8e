"""What the periodic sweep looks for: work whose message or event was lost (a broker outage, a
crashed worker, a process stopped between the catalogue's commit and the recommender's
receiver)."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db.models import Exists, F, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from recommender.models import PhotoEmbedding, ProductEmbedding, VectorIndex
from recommender.selectors import index_live
from shop.models import Product, ProductImage

SWEEP_GRACE = timedelta(minutes=5)  # a pending row younger than this may still be in a queue


def text_refit_overdue() -> bool:
    """Whether a catalogue change has waited for its text refit longer than the refit's delay
    plus the time a queued message may take, and the sweep must queue the refit again.

    Two ways to miss one: the refit's message was lost (the broker was down when the product
    was saved), or the catalogue's event never reached the recommender (the process stopped
    between the catalogue's commit and its receiver, which stamps ``text_changed_at``). For
    the second, an index fitted before a product's last change is stamped here.
    """
    delay = timedelta(seconds=settings.RECOMMENDER_TEXT_REFIT_DELAY)
    waited_since = timezone.now() - delay - SWEEP_GRACE
    in_use = VectorIndex.objects.exclude(state=VectorIndex.State.RETIRED)
    changed_unheard = Product.objects.filter(
        updated_at__gt=OuterRef("text_fitted_at"), updated_at__lt=waited_since
    )
    in_use.filter(text_changed_at__isnull=True).filter(Exists(changed_unheard)).update(
        text_changed_at=waited_since
    )
    return in_use.filter(text_changed_at__lte=waited_since).exists()


def products_needing_embedding() -> list[int]:
    """Products whose vectors are missing or behind their photo in the live index.

    For the periodic sweep: catches messages lost with a crashed worker or a broker outage.
    Failed products whose photo has not changed are left alone (the admin sees the reason).
    """
    index = index_live()
    if index is None:
        return []
    missing = Product.objects.exclude(embeddings__index=index).values_list("pk", flat=True)
    primary_sha = ProductImage.objects.filter(
        product=OuterRef("product_id"), is_primary=True
    ).values("sha256")[:1]
    behind = (
        ProductEmbedding.objects.filter(index=index)
        .annotate(photo_sha=Coalesce(Subquery(primary_sha), Value("")))
        .filter(
            Q(status=ProductEmbedding.Status.PENDING, updated_at__lt=timezone.now() - SWEEP_GRACE)
            | (~Q(image_sha256=F("photo_sha")) & ~Q(status=ProductEmbedding.Status.PENDING))
        )
        .values_list("product_id", flat=True)
    )
    # Other photos (not primary) without a vector of their bytes, added before the grace.
    indexed = PhotoEmbedding.objects.filter(
        index=index, photo=OuterRef("pk"), image_sha256=OuterRef("sha256")
    )
    others_behind = (
        ProductImage.objects.filter(is_primary=False, created_at__lt=timezone.now() - SWEEP_GRACE)
        .exclude(Exists(indexed))
        .values_list("product_id", flat=True)
    )
    return sorted({*missing, *behind, *others_behind})
