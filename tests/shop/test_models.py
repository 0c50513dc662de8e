import re
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection

from shop.models import Category, Product, ProductImage, product_image_upload_to
from shop.services import (
    category_get_or_create,
    product_images_ensure_primary,
    product_save,
    products_set_active,
)
from shop.services.catalogue import product_images_order, unique_slugs
from tests.factories.catalogue import ProductFactory, ProductImageFactory


@pytest.mark.parametrize(
    ("price", "stock", "active", "purchasable"),
    [
        ("9.99", 1, True, True),
        (None, 5, True, False),
        ("9.99", 0, True, False),
        ("9.99", 5, False, False),
    ],
)
def test_only_priced_active_products_in_stock_can_be_bought(price, stock, active, purchasable):
    product = Product(title="Cap", price=price and Decimal(price), stock=stock, is_active=active)
    assert product.is_purchasable is purchasable


@pytest.mark.parametrize(
    ("client_name", "suffix"),
    [
        ("photo.JPG", ".jpg"),
        ("../../etc/passwd.jpg", ".jpg"),
        ("x.php", ""),
        ("a b/..\\c.png", ".png"),
    ],
)
def test_upload_names_are_random_and_stay_in_the_products_folder(client_name, suffix):
    first = product_image_upload_to(ProductImage(), client_name)
    second = product_image_upload_to(ProductImage(), client_name)
    assert first != second
    assert re.fullmatch(rf"products/[0-9a-f]{{2}}/[0-9a-f]{{32}}{re.escape(suffix)}", first)


@pytest.mark.django_db
def test_database_refuses_negative_prices_and_bad_currencies():
    with pytest.raises(IntegrityError):
        ProductFactory(price="-1.00")


@pytest.mark.django_db
def test_database_refuses_lowercase_currency_code():
    with pytest.raises(IntegrityError):
        ProductFactory(currency="eur")


@pytest.mark.django_db
def test_a_product_has_at_most_one_primary_image():
    image = ProductImageFactory()
    with pytest.raises(IntegrityError):
        ProductImageFactory(product=image.product, is_primary=True)


@pytest.mark.django_db
def test_first_photo_becomes_primary_when_none_is_chosen():
    product = ProductFactory()
    first = ProductImageFactory(product=product, is_primary=False, position=0)
    ProductImageFactory(product=product, is_primary=False, position=1)
    product_images_ensure_primary(product=product)
    assert product.primary_image == first and ProductImage.objects.get(pk=first.pk).is_primary


@pytest.mark.django_db
def test_the_photo_first_by_position_becomes_primary_for_each_product():
    late, settled, alone = ProductFactory(), ProductFactory(), ProductFactory()
    # A photo fetched after the others that goes first (say, the first URL failed at first).
    old = ProductImageFactory(product=late, is_primary=True, position=1)
    first = ProductImageFactory(product=late, is_primary=False, position=0)
    kept = ProductImageFactory(product=settled, is_primary=True, position=0)
    ProductImageFactory(product=settled, is_primary=False, position=1)
    untouched = ProductImageFactory(product=alone, is_primary=False, position=3)
    product_images_order(product_ids=[late.pk, settled.pk])
    primaries = set(ProductImage.objects.filter(is_primary=True).values_list("pk", flat=True))
    assert primaries == {first.pk, kept.pk}
    assert old.pk not in primaries and untouched.pk not in primaries  # other products left alone


@pytest.mark.django_db
def test_ordering_photos_already_in_order_only_reads_them(django_assert_num_queries):
    product = ProductFactory()
    ProductImageFactory(product=product, is_primary=True, position=0)
    ProductImageFactory(product=product, is_primary=False, position=1)
    with django_assert_num_queries(1):  # a worker stores thousands of products' photos
        product_images_order(product_ids=[product.pk])
    assert product.images.get(is_primary=True).position == 0


@pytest.mark.django_db
def test_category_tree_is_shared_by_products_and_reused():
    tshirts = category_get_or_create(names=["Apparel", "Topwear", "Tshirts"])
    shirts = category_get_or_create(names=["Apparel", "Topwear", "Shirts"])
    assert category_get_or_create(names=["Apparel", "Topwear", "Tshirts"]) == tshirts
    assert str(shirts) == "Apparel > Topwear > Shirts"
    assert Category.objects.count() == 4
    assert Category.objects.get_parent(tshirts) == Category.objects.get_parent(shirts)


@pytest.mark.django_db
def test_same_name_under_two_parents_gets_distinct_slugs():
    a = category_get_or_create(names=["Apparel", "Socks"])
    b = category_get_or_create(names=["Free Items", "Socks"])
    assert a != b and a.slug == "socks" and b.slug == "free-items-socks"


@pytest.mark.django_db
def test_slugs_are_unique_against_the_table_and_within_one_batch():
    ProductFactory(slug="shirt")
    slugs = unique_slugs(Product, [["shirt"], ["cap"], ["cap"], ["shirt", "blue-shirt"]])
    assert slugs[1:] == ["cap", slugs[2], "blue-shirt"]
    assert re.fullmatch(r"shirt-[0-9a-f]{6}", slugs[0]) and re.fullmatch(
        r"cap-[0-9a-f]{6}", slugs[2]
    )


@pytest.mark.django_db
def test_two_products_saved_with_one_title_get_distinct_slugs():
    first = product_save(fields={"title": "Blue Shirt", "price": Decimal("9.99")})
    second = product_save(fields={"title": "Blue Shirt", "price": Decimal("9.99")})
    assert first.slug == "blue-shirt" and second.slug.startswith("blue-shirt-")


@pytest.mark.django_db
def test_bulk_activation_reports_only_real_changes():
    hidden = ProductFactory.create_batch(2, is_active=False)
    shown = ProductFactory(is_active=True)
    assert products_set_active(product_ids=[p.pk for p in [*hidden, shown]], active=True) == 2
    assert Product.objects.filter(is_active=True).count() == 3


@pytest.mark.django_db
def test_database_is_postgresql_with_pgvector():
    with connection.cursor() as cursor:
        cursor.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
        (version,) = cursor.fetchone()
    assert connection.vendor == "postgresql"
    assert tuple(int(part) for part in version.split(".")[:2]) >= (0, 8)
