"""Storefront pages that use the recommender: rails, search by photo, "you may also like".

The 48-product drawn catalogue, indexed with the real EfficientNet-Lite0 encoder.
"""

import re
from collections import Counter
from io import BytesIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from PIL import Image

from recommender.behaviour import recording
from recommender.services import index_build
from shop.images import MAX_IMAGE_BYTES
from shop.models import Product
from shop.services import products_set_demo_prices
from tests.factories.catalogue import jpeg_bytes

pytestmark = [pytest.mark.slow, pytest.mark.django_db]


@pytest.fixture
def indexed(sample_catalogue):
    products_set_demo_prices()
    return index_build(encoder="efficientnet_lite0")


@pytest.fixture
def catalogue(sample_catalogue):
    """The same catalogue, not indexed yet."""


def photo_of(title: str) -> bytes:
    return Product.objects.get(title=title).primary_image.image.read()


def upload(data: bytes, name: str = "photo.jpg", content_type: str = "image/jpeg"):
    return SimpleUploadedFile(name, data, content_type=content_type)


def search(client, data: bytes, *, name="photo.jpg", fragment=False, **fields):
    headers = {"Vitrine-Fragment": "results"} if fragment else {}
    return client.post(
        reverse("shop:photo_search"), {"photo": upload(data, name), **fields}, headers=headers
    )


def articles(products) -> Counter:
    return Counter(product.category.name for product in products)


def test_product_page_rail_has_ten_look_alikes_with_why(client, indexed):
    product = Product.objects.get(title="Vitrine Men Red Tshirt")
    response = client.get(reverse("shop:product", args=[product.slug]))
    rail = response.context["rail"]
    assert len(rail) == 10 and product not in [item.product for item in rail]
    assert articles(item.product for item in rail[:5])["Tshirts"] >= 4
    content = response.content.decode()
    assert "Visually similar" in content
    first = rail[0]
    assert 0 < first.image_share < 1
    assert f"Look {round(first.image_share * 100)}%" in content


def test_rail_keeps_the_filters_of_the_list_the_shopper_came_from(client, indexed):
    product = Product.objects.get(title="Vitrine Men Red Tshirt")
    url = reverse("shop:product", args=[product.slug]) + "?gender=Women&colour=Red"
    rail = client.get(url).context["rail"]
    assert rail and {(p.product.gender, p.product.colour) for p in rail} == {("Women", "Red")}
    assert b"Within the filters of the list you came from." in client.get(url).content


def test_search_by_photo_page_offers_every_way_in(client, indexed):
    content = client.get(reverse("shop:photo_search")).content.decode()
    assert 'enctype="multipart/form-data"' in content
    assert 'accept="image/*"' in content and 'capture="environment"' in content
    assert "Drop a photo anywhere" in content and "paste" in content
    assert '<label for="id_photo">Choose a photo</label>' in content
    ids = set(re.findall(r'\bid="([^"]+)"', content))
    described = re.findall(r'aria-describedby="([^"]+)"', content)
    assert described and all(set(value.split()) <= ids for value in described), described


def test_search_by_photo_ranks_look_alikes_first(client, indexed):
    response = search(client, photo_of("Vitrine Women Yellow Trouser"))
    assert response.status_code == 200
    results = [item.product for item in response.context["results"]]
    assert len(results) == 24
    assert articles(results[:6])["Trousers"] >= 4
    assert b"products that look like your photo" in response.content


def test_a_search_by_photo_is_recorded_with_how_many_it_found_and_never_the_photo(indexed):
    recording.outbox.take(10**9)
    shopper = Client(headers={"user-agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0"})
    search(shopper, photo_of("Vitrine Women Yellow Trouser"))
    (event,) = recording.outbox.take(10**9)
    assert (event["kind"], event["results"]) == ("photo_search", 24)
    assert set(event) == {"id", "occurred_at", "kind", "visitor", "results"}


def test_search_by_photo_applies_the_filters(client, indexed):
    response = search(client, photo_of("Vitrine Women Yellow Trouser"), gender="Men")
    assert {item.product.gender for item in response.context["results"]} == {"Men"}


def test_crop_box_searches_for_the_selected_item(client, indexed):
    # A "busy photo": a trouser on the left half, a handbag on the right half.
    trouser = Image.open(BytesIO(photo_of("Vitrine Women Blue Trouser")))
    bag = Image.open(BytesIO(photo_of("Vitrine Women Green Handbag")))
    busy = Image.new("RGB", (trouser.width + bag.width, max(trouser.height, bag.height)), "white")
    busy.paste(trouser, (0, 0))
    busy.paste(bag, (trouser.width, 0))
    buffer = BytesIO()
    busy.save(buffer, "JPEG", quality=92)
    right_half = {"crop_x": 0.5, "crop_y": 0, "crop_w": 0.5, "crop_h": 1}
    left_half = {"crop_x": 0, "crop_y": 0, "crop_w": 0.5, "crop_h": 1}
    bags = search(client, buffer.getvalue(), **right_half).context["results"][:4]
    trousers = search(client, buffer.getvalue(), **left_half).context["results"][:4]
    assert articles(item.product for item in bags)["Handbags"] >= 3
    assert articles(item.product for item in trousers)["Trousers"] >= 3


def shopper_photo_of(kind: str, *titles: str) -> bytes:
    from recommender.shopper_photos import shopper_photo

    products = [Product.objects.get(title=title) for title in titles]
    # Keyed 1, 2... rather than by pk: the photo's layout is drawn from its keys.
    photos = {n: p.primary_image.image.read() for n, p in enumerate(products, 1)}
    return shopper_photo(kind, photos, list(photos), seed=3).jpeg


def test_the_results_tell_the_page_script_what_was_found_in_the_photo(client, indexed):
    photo = shopper_photo_of("several", "Vitrine Women Blue Handbag", "Vitrine Men Yellow Trouser")
    response = search(client, photo, fragment=True)
    found = response.context["found"]
    assert len(found["items"]) >= 2 and found["searched"] in found["items"]
    assert all(len(box) == 4 and all(0 <= v <= 1 for v in box) for box in found["items"])
    assert '<script id="photo-found" type="application/json">' in response.content.decode()
    # The whole photo on request: nothing found, nothing pre-selected.
    whole = search(client, photo, fragment=True, whole_photo="True").context["found"]
    assert whole == {"items": [], "searched": None}


def test_a_photo_with_nothing_like_it_in_the_shop_gets_results_with_a_note(
    client, indexed, settings
):
    wall = BytesIO()
    Image.new("RGB", (640, 480), (200, 190, 180)).save(wall, "JPEG")
    settings.RECOMMENDER_PHOTO_UNSURE_BELOW = 0.9  # drawn products look like walls (see the test)
    response = search(client, wall.getvalue())
    assert response.status_code == 200 and response.context["results"]
    assert "Nothing in the shop looks much like this photo" in response.content.decode()
    studio = search(client, photo_of("Vitrine Men Black Casual Shoe"))
    assert "Nothing in the shop looks much like" not in studio.content.decode()


def test_the_page_script_gets_only_the_results(client, indexed):
    response = search(client, photo_of("Vitrine Men Black Casual Shoe"), fragment=True)
    content = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in content and 'class="product-grid results-grid"' in content


def test_nothing_is_kept_from_the_shoppers_photo(client, indexed, media_root):
    before = sorted(path for path in media_root.rglob("*") if "thumbs" not in path.parts)
    search(client, photo_of("Vitrine Men Black Casual Shoe"))
    after = sorted(path for path in media_root.rglob("*") if "thumbs" not in path.parts)
    assert after == before


def too_large_jpeg() -> bytes:
    return jpeg_bytes() + b"\0" * MAX_IMAGE_BYTES


@pytest.mark.parametrize(
    ("data", "name", "message"),
    [
        (b"just some notes\n", "notes.txt", "the file is not an image"),
        (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n", "doc.pdf", "the file is not an image"),
        (b'<svg xmlns="http://www.w3.org/2000/svg"/>', "logo.svg", "the file is not an image"),
        (jpeg_bytes()[:200], "cut.jpg", "corrupt or truncated"),
        (too_large_jpeg(), "huge.jpg", "This file is too large"),
        (b"", "empty.jpg", "The submitted file is empty."),
    ],
)
def test_bad_uploads_get_a_clear_message_and_no_results(client, indexed, data, name, message):
    response = search(client, data, name=name)
    assert response.status_code == 400
    assert "results" not in response.context
    assert message in response.content.decode()
    assert b'role="alert"' in response.content


def test_upload_without_a_file_is_refused(client, indexed):
    response = client.post(reverse("shop:photo_search"), {})
    assert response.status_code == 400
    assert b"This field is required." in response.content


@pytest.mark.parametrize(
    ("box", "message"),
    [
        ({"crop_x": 0.1, "crop_y": 0.1}, "The crop box is incomplete"),
        ({"crop_x": 0.8, "crop_y": 0, "crop_w": 0.5, "crop_h": 1}, "goes outside the photo"),
        ({"crop_x": -1, "crop_y": 0, "crop_w": 0.5, "crop_h": 1}, "greater than or equal to 0"),
    ],
)
def test_bad_crop_boxes_are_refused(client, indexed, box, message):
    response = search(client, photo_of("Vitrine Men Black Casual Shoe"), **box)
    assert response.status_code == 400
    assert message in response.content.decode()


def test_photo_search_before_the_first_index_says_it_is_coming(client, catalogue):
    page = client.get(reverse("shop:photo_search"))
    assert b"still being indexed" in page.content
    response = search(client, photo_of("Vitrine Men Black Casual Shoe"))
    assert response.status_code == 200 and response.context["results"] == []
    assert b"try again in a few minutes" in response.content


def test_no_match_within_filters_suggests_look_alikes_outside_them(client, indexed):
    response = search(client, photo_of("Vitrine Men Black Casual Shoe"), price_min=100000)
    assert response.context["results"] == []
    suggestions = response.context["suggestions"]
    assert len(suggestions) == 10
    assert articles(item.product for item in suggestions[:4])["Casual Shoes"] >= 3
    assert b"You may also like" in response.content


def test_empty_text_search_suggests_by_the_recommenders_text_model(client, indexed):
    # No product is both topwear and a sweatshirt (text search wants every word); the text
    # model ranks by the words it has, so its suggestions are the drawn catalogue's T-shirts.
    response = client.get(reverse("shop:search") + "?q=topwear+sweatshirt")
    assert list(response.context["page"].object_list) == []
    suggestions = response.context["suggestions"]
    assert len(suggestions) == 10
    assert {item.product.category.name for item in suggestions[:6]} == {"Tshirts"}
    assert b"You may also like" in response.content


def test_cart_suggests_products_like_its_contents_but_not_them(client, indexed):
    shoe = Product.objects.get(title="Vitrine Men Black Casual Shoe")
    client.post(reverse("shop:cart_add", args=[shoe.pk]), {"quantity": 1})
    response = client.get(reverse("shop:cart"))
    suggestions = [item.product for item in response.context["suggestions"]]
    assert len(suggestions) == 10 and shoe not in suggestions
    assert articles(suggestions[:5])["Casual Shoes"] >= 4
    assert b"You may also like" in response.content


def test_empty_cart_shows_new_products_in_stock(client, indexed):
    response = client.get(reverse("shop:cart"))
    assert b"Your cart is empty" in response.content
    assert len(response.context["suggestions"]) == 10
