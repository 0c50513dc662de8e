"""Storefront pages a shopper browses: home, categories, text search, product pages."""

from decimal import Decimal

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse

from shop import thumbnails
from shop.models import Category, Product
from shop.services import category_get_or_create
from tests.factories.catalogue import ProductFactory, ProductImageFactory, jpeg_bytes

pytestmark = pytest.mark.django_db


def titles(response) -> list[str]:
    return [product.title for product in response.context["page"].object_list]


@pytest.fixture
def catalogue():
    shirts = category_get_or_create(names=["Apparel", "Topwear", "Shirts"])
    shoes = category_get_or_create(names=["Footwear", "Shoes", "Casual Shoes"])
    return {
        "red": ProductFactory(
            title="Red Linen Shirt",
            description="Light summer shirt",
            category=shirts,
            colour="Red",
            gender="Men",
            price="30.00",
        ),
        "blue": ProductFactory(
            title="Blue Oxford Shirt",
            description="A classic for the office",
            category=shirts,
            colour="Blue",
            gender="Women",
            price="45.00",
            stock=0,
        ),
        "shoe": ProductFactory(
            title="White Canvas Sneakers",
            description="Rubber sole",
            category=shoes,
            colour="White",
            gender="Men",
            price="60.00",
        ),
        "hidden": ProductFactory(
            title="Hidden Shirt", category=shirts, is_active=False, price="10.00"
        ),
    }


def test_home_shows_new_arrivals_and_top_categories(client, catalogue):
    response = client.get(reverse("shop:home"))
    assert response.status_code == 200
    arrivals = [p.title for p in response.context["new_arrivals"]]
    assert arrivals[0] == "White Canvas Sneakers"  # newest first
    assert "Hidden Shirt" not in arrivals
    categories = {c.name: c.product_count for c in response.context["categories"]}
    assert categories == {"Apparel": 2, "Footwear": 1}  # inactive products are not counted
    assert b"Search by photo" in response.content


def test_home_of_an_empty_shop_says_how_to_fill_it(client):
    response = client.get(reverse("shop:home"))
    assert response.status_code == 200
    assert b"The catalogue is empty" in response.content


def test_category_page_lists_its_subtree_only(client, catalogue):
    apparel = Category.objects.get_root_nodes().get(name="Apparel")
    response = client.get(reverse("shop:category", args=[apparel.slug]))
    assert response.status_code == 200
    assert sorted(titles(response)) == ["Blue Oxford Shirt", "Red Linen Shirt"]
    assert [c.name for c in response.context["children"]] == ["Topwear"]


def test_unknown_category_is_404(client):
    assert client.get(reverse("shop:category", args=["nope"])).status_code == 404


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("gender=Men", ["Red Linen Shirt", "White Canvas Sneakers"]),
        ("colour=Blue", ["Blue Oxford Shirt"]),
        ("price_min=40&price_max=50", ["Blue Oxford Shirt"]),
        ("in_stock=on", ["Red Linen Shirt", "White Canvas Sneakers"]),
        ("gender=Men&colour=White", ["White Canvas Sneakers"]),
    ],
)
def test_filters_narrow_the_list(client, catalogue, query, expected):
    response = client.get(reverse("shop:search") + "?" + query)
    assert sorted(titles(response)) == expected


def test_a_bad_filter_value_is_ignored_not_an_error(client, catalogue):
    response = client.get(reverse("shop:search") + "?gender=Martian&price_min=abc&colour=Blue")
    assert response.status_code == 200
    assert titles(response) == ["Blue Oxford Shirt"]  # the valid filter still applies


def test_an_upside_down_price_range_is_explained_and_ignored(client, catalogue):
    response = client.get(reverse("shop:search") + "?price_min=50&price_max=10")
    assert response.status_code == 200
    assert len(titles(response)) == 3
    assert b"The minimum price is above the maximum" in response.content


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("price", ["Red Linen Shirt", "Blue Oxford Shirt", "White Canvas Sneakers"]),
        ("-price", ["White Canvas Sneakers", "Blue Oxford Shirt", "Red Linen Shirt"]),
        ("title", ["Blue Oxford Shirt", "Red Linen Shirt", "White Canvas Sneakers"]),
        ("new", ["White Canvas Sneakers", "Blue Oxford Shirt", "Red Linen Shirt"]),
    ],
)
def test_sorting(client, catalogue, sort, expected):
    assert titles(client.get(reverse("shop:search") + f"?sort={sort}")) == expected


def test_products_without_price_sort_last(client, catalogue):
    ProductFactory(title="Priceless Shirt", price=None)
    assert titles(client.get(reverse("shop:search") + "?sort=-price"))[-1] == "Priceless Shirt"


def test_text_search_stems_and_ranks_titles_first(client, catalogue):
    ProductFactory(title="Plain Tote", description="Goes with any shirt")
    response = client.get(reverse("shop:search") + "?q=shirts")
    found = titles(response)
    assert set(found) == {"Red Linen Shirt", "Blue Oxford Shirt", "Plain Tote"}
    assert found[-1] == "Plain Tote"  # a description match ranks below title matches
    assert "Hidden Shirt" not in found


def test_text_search_takes_web_search_syntax(client, catalogue):
    found = titles(client.get(reverse("shop:search") + "?q=shirt -oxford"))
    assert found == ["Red Linen Shirt"]


def test_text_search_with_no_match_says_so(client, catalogue):
    response = client.get(reverse("shop:search") + "?q=submarine")
    assert response.status_code == 200
    assert titles(response) == []
    assert "No products match “submarine”" in response.content.decode()


def test_pagination_keeps_the_filters(client):
    ProductFactory.create_batch(30, gender="Women")
    response = client.get(reverse("shop:search") + "?gender=Women&page=2")
    assert len(titles(response)) == 6
    assert response.context["page"].number == 2
    assert 'href="?gender=Women&amp;page=1"' in response.content.decode()


def test_product_page_shows_price_stock_attributes_and_add_to_cart(client, catalogue):
    product = catalogue["red"]
    response = client.get(reverse("shop:product", args=[product.slug]))
    content = response.content.decode()
    assert response.status_code == 200
    assert "Red Linen Shirt" in content and "30.00 EUR" in content
    assert ("Colour", "Red") in response.context["attributes"]
    assert "Add to cart" in content
    assert f'action="{reverse("shop:cart_add", args=[product.pk])}"' in content


def test_out_of_stock_product_says_so_and_cannot_be_added(client, catalogue):
    response = client.get(reverse("shop:product", args=[catalogue["blue"].slug]))
    assert b"Out of stock" in response.content
    assert b"Add to cart" not in response.content


def test_product_without_price_says_so_and_cannot_be_added(client):
    product = ProductFactory(price=None)
    response = client.get(reverse("shop:product", args=[product.slug]))
    assert b"Price on request" in response.content
    assert b"no price yet and cannot be ordered" in response.content
    assert b"Add to cart" not in response.content


def test_inactive_or_unknown_product_is_404(client, catalogue):
    assert client.get(reverse("shop:product", args=[catalogue["hidden"].slug])).status_code == 404
    assert client.get(reverse("shop:product", args=["nope"])).status_code == 404


def test_product_page_before_indexing_explains_the_empty_rail(client, catalogue):
    response = client.get(reverse("shop:product", args=[catalogue["red"].slug]))
    assert response.context["rail"] == []
    assert b"once the catalogue has been indexed" in response.content


def test_photos_are_served_as_cached_thumbnails_of_the_asked_width(client, settings):
    image = ProductImageFactory(
        image=ContentFile(jpeg_bytes(size=(1200, 1600)), name="big.jpg"),
        product__title="Big Photo Shirt",
    )
    big = Product.objects.get(pk=image.product_id)
    response = client.get(reverse("shop:product", args=[big.slug]))
    content = response.content.decode()
    main = thumbnails.thumbnail(image, 640)
    assert (main.width, main.height) == (480, 640)  # fits 640 x 640, aspect kept
    assert main.url in content and image.image.url not in content.split("thumbs")[0]
    stored = settings.MEDIA_ROOT / thumbnails.thumbnail_name(image.image.name, 640)
    assert stored.is_file() and stored.stat().st_size < 60_000
    made_at = stored.stat().st_mtime_ns
    client.get(reverse("shop:product", args=[big.slug]))
    assert stored.stat().st_mtime_ns == made_at  # made once, then reused


def test_small_photos_are_never_upscaled(client):
    image = ProductImageFactory()  # 60 x 80
    thumb = thumbnails.thumbnail(image, 320)
    assert (thumb.width, thumb.height) == (60, 80)


def test_boxes_beyond_a_photos_size_share_one_thumbnail(settings):
    image = ProductImageFactory(image=ContentFile(jpeg_bytes(size=(240, 200)), name="s.jpg"))
    assert thumbnails.thumbnail(image, 640) == thumbnails.thumbnail(image, 320)
    assert thumbnails.thumbnail(image, 160).width == 160  # smaller boxes: their own
    thumbs = settings.MEDIA_ROOT / "thumbs"
    made = {path.relative_to(thumbs).parts[0] for path in thumbs.rglob("*.webp")}
    assert made == {"w160", "w320"}  # no second copy of the whole photo under w640


def test_list_links_carry_the_filters_to_product_pages(client, catalogue):
    response = client.get(reverse("shop:search") + "?gender=Men&sort=price")
    link = reverse("shop:product", args=[catalogue["red"].slug]) + "?gender=Men"
    assert f'href="{link}"' in response.content.decode()
    assert Decimal(response.context["page"].object_list[0].price) == Decimal("30.00")


@pytest.mark.parametrize("query", ["%00", "a%00b", "%00shirt"])
def test_text_search_survives_nul_characters(client, catalogue, query):
    response = client.get(reverse("shop:search") + f"?q={query}")
    assert response.status_code == 200


def test_list_photos_load_lazily_and_the_product_photo_at_once(client):
    image = ProductImageFactory()
    listing = client.get(reverse("shop:search")).content.decode()
    assert 'loading="lazy" decoding="async"' in listing and "&quot;" not in listing
    page = client.get(reverse("shop:product", args=[image.product.slug])).content.decode()
    assert 'class="main-photo" loading="eager"' in page
