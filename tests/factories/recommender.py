"""The similarity index without an encoder: a live index whose products have random unit
vectors, for tests of what the admin and the API say about embeddings (no model is loaded)."""

import factory
import numpy as np
from django.utils import timezone

from recommender import projection
from recommender.encoders import PREPROCESSING_VERSION
from recommender.encoders.efficientnet_lite import LITE0
from recommender.models import ProductEmbedding, VectorIndex
from tests.factories.catalogue import ProductFactory

RANDOM_VECTOR_DIMENSIONS = 1280  # efficientnet_lite0's


def random_unit_vector(seed: int) -> np.ndarray:
    vector = np.random.default_rng(seed).standard_normal(RANDOM_VECTOR_DIMENSIONS)
    return (vector / np.linalg.norm(vector)).astype(np.float32)


class VectorIndexFactory(factory.django.DjangoModelFactory):
    """A live efficientnet_lite0 index of this version's preprocessing (search by photo is on)."""

    class Meta:
        model = VectorIndex

    encoder = "efficientnet_lite0"
    encoder_version = f"{LITE0.weights_version}+{PREPROCESSING_VERSION}"
    encoder_reason = "test index of random vectors"
    state = VectorIndex.State.LIVE
    live_since = factory.LazyFunction(timezone.now)


class ProductEmbeddingFactory(factory.django.DjangoModelFactory):
    """A product's done embedding: a random unit image vector (seeded by the sequence), no text."""

    class Meta:
        model = ProductEmbedding

    index = factory.SubFactory(VectorIndexFactory)
    product = factory.SubFactory(ProductFactory)
    encoder = factory.SelfAttribute("index.encoder")
    status = ProductEmbedding.Status.DONE
    image = factory.Sequence(random_unit_vector)
    image_projected = factory.LazyAttribute(lambda embedding: projection.project(embedding.image))


def random_index(products) -> VectorIndex:
    """A live index holding a random vector for each of ``products``."""
    index = VectorIndexFactory()
    for product in products:
        ProductEmbeddingFactory(index=index, product=product)
    return index
