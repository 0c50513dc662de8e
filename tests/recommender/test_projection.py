"""The short vectors the HNSW index searches keep each product's nearest neighbours."""

import numpy as np
import pytest

from recommender import projection


@pytest.mark.parametrize("dimensions", [1280, 2048])
def test_projection_is_fixed_unit_length_and_the_same_one_row_or_many(dimensions):
    vectors = np.random.default_rng(0).random((5, dimensions), dtype=np.float32)
    projected = projection.project(vectors)
    assert projected.shape == (5, projection.DIMENSIONS)
    np.testing.assert_allclose(np.linalg.norm(projected, axis=1), 1.0, rtol=1e-5)
    # Every process draws the same basis: a vector projects alike alone, in a batch, later.
    np.testing.assert_allclose(projection.project(vectors[2]), projected[2], atol=1e-5)
    projection._basis.cache_clear()
    np.testing.assert_allclose(projection.project(vectors), projected, atol=1e-5)


def test_a_zero_vector_projects_to_zeros_not_nan():
    assert not np.isnan(projection.project(np.zeros(1280, np.float32))).any()


def test_the_exact_top_10_is_among_the_projections_top_100():
    # Clustered, non-negative vectors like an encoder's features: 200 products in 20 groups.
    rng = np.random.default_rng(1)
    centres = rng.random((20, 1280), dtype=np.float32)
    vectors = np.maximum(centres[rng.integers(0, 20, 2000)] + rng.normal(0, 0.3, (2000, 1280)), 0)
    vectors = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
    projected = projection.project(vectors)
    recalls = []
    for query in range(0, 2000, 40):
        exact = np.argsort(-(vectors @ vectors[query]))[1:11]
        proposed = np.argsort(-(projected @ projected[query]))[:101]
        recalls.append(len(set(exact) & set(proposed)) / 10)
    assert np.mean(recalls) >= 0.95
    # Against the same test with a useless projection, which must fail it.
    shuffled = projected[rng.permutation(2000)]
    chance = np.mean(
        [
            len(
                set(np.argsort(-(vectors @ vectors[q]))[1:11])
                & set(np.argsort(-(shuffled @ shuffled[q]))[:101])
            )
            / 10
            for q in range(0, 2000, 40)
        ]
    )
    assert chance < 0.2


@pytest.mark.django_db(transaction=True)
def test_the_migration_projects_vectors_stored_before_it():
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    before, after = (
        [("recommender", "0003_evaluationrun")],
        [("recommender", "0004_image_projection")],
    )
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    try:
        old = executor.loader.project_state(before).apps
        product = old.get_model("shop", "Product").objects.create(
            external_id="old-1", slug="old-1", title="Indexed before the projection"
        )
        index = old.get_model("recommender", "VectorIndex").objects.create(
            encoder="efficientnet_lite0", encoder_version="v", state="live"
        )
        vector = np.random.default_rng(2).random(1280, dtype=np.float32)
        old.get_model("recommender", "ProductEmbedding").objects.create(
            index=index, product=product, encoder="efficientnet_lite0", status="done", image=vector
        )
        executor = MigrationExecutor(connection)
        executor.migrate(after)
        new = executor.loader.project_state(after).apps
        row = new.get_model("recommender", "ProductEmbedding").objects.get(product_id=product.pk)
        np.testing.assert_allclose(
            np.asarray(row.image_projected), projection.project(vector), atol=1e-3
        )
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
