"""Fixtures shared across the test suite, registered in tests/conftest.py (``pytest_plugins``):
the drawn sample catalogue, indexed or not, and API clients by who is calling."""

from __future__ import annotations

from pathlib import Path

import pytest

SAMPLE_STOCK = 3


def sample_catalogue_import(folder: Path) -> None:
    """The 48 drawn products of shop/sample_catalogue.py (4 article types x 6 colours x 2
    genders), imported with a few of each in stock."""
    from shop.sample_catalogue import write_sample_catalogue
    from shop.services import catalogue_import

    catalogue_import(path=write_sample_catalogue(folder), default_stock=SAMPLE_STOCK)


@pytest.fixture
def sample_catalogue(tmp_path, db) -> None:
    """The sample catalogue, not indexed."""
    sample_catalogue_import(tmp_path / "sample")


@pytest.fixture
def indexed_catalogue(sample_catalogue):
    """The sample catalogue in a live efficientnet_lite0 index; returns the index."""
    from recommender.services import index_build

    return index_build(encoder="efficientnet_lite0")


@pytest.fixture
def api():
    """An anonymous REST API client."""
    from rest_framework.test import APIClient

    return APIClient()


@pytest.fixture
def staff_api(django_user_model):
    """A REST API client with the token of a product editor: staff who may add, change and
    view products (not a superuser)."""
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    from tests.factories.staff import PRODUCT_EDITOR, staff_user

    user = staff_user("staff", *PRODUCT_EDITOR, password="x")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


@pytest.fixture
def shopper_api(django_user_model):
    """A REST API client logged in as a customer (not staff)."""
    from rest_framework.test import APIClient

    user = django_user_model.objects.create_user("shopper", password="x")
    client = APIClient()
    client.force_authenticate(user)
    return client
