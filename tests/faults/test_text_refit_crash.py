"""A crash during a text-index refit leaves the previous text model serving: the new model and
the products' new text vectors are written in one transaction, so none of them is kept."""

import pytest

from recommender import services
from recommender.models import ProductEmbedding, VectorIndex
from recommender.selectors import product_list_similar
from shop.models import Product

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


class WorkerCrashed(Exception):
    pass


def text_state(index: VectorIndex) -> dict:
    """Everything a refit writes: the model, when it was fitted, and each product's text vector."""
    index.refresh_from_db()
    vectors = {
        row.product_id: row.text and (tuple(row.text.indices()), tuple(row.text.values()))
        for row in ProductEmbedding.objects.filter(index=index)
    }
    return {"model": index.text_model, "fitted_at": index.text_fitted_at, "vectors": vectors}


def rails(products: list[Product]) -> dict[int, list[tuple[int, float]]]:
    return {
        product.pk: [
            (r.product.pk, round(r.score, 6)) for r in product_list_similar(product=product)
        ]
        for product in products
    }


def test_a_refit_that_crashes_part_way_changes_nothing_and_the_next_refit_succeeds(
    indexed_shop, monkeypatch
):
    index = indexed_shop
    sample = list(Product.objects.order_by("pk")[:4])
    before, rails_before = text_state(index), rails(sample)
    assert before["model"] and all(before["vectors"].values()) and all(rails_before.values())

    renamed = sample[0]
    Product.objects.filter(pk=renamed.pk).update(title="Zanzibar Striped Tshirt")
    services.product_changes_queue(product_ids=[renamed.pk])  # marks the text model stale
    index.refresh_from_db()
    assert index.text_changed_at is not None

    write_rows = ProductEmbedding.objects.bulk_create

    def crash_after_some_rows(rows, **options):
        # The model row is already updated; the first vectors reach the table, then it dies.
        write_rows(list(rows)[:10], **options)
        raise WorkerCrashed("killed in the middle of the refit")

    monkeypatch.setattr(ProductEmbedding.objects, "bulk_create", crash_after_some_rows)
    with pytest.raises(WorkerCrashed):
        services.text_index_refit_when_quiet(quiet_seconds=0)
    monkeypatch.undo()

    assert text_state(index) == before
    assert rails(sample) == rails_before
    assert index.text_changed_at is not None  # still stale: the next refit will try again

    assert services.text_index_refit_when_quiet(quiet_seconds=0) == 0
    after = text_state(index)
    assert "zanzibar" in after["model"]["vocabulary"]
    assert after["fitted_at"] > before["fitted_at"]
    assert after["vectors"][renamed.pk] != before["vectors"][renamed.pk]
    assert index.text_changed_at is None
    assert all(rails(sample).values())
