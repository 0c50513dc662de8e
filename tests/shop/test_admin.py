import re

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from shop.models import Category, Product, ProductImage
from shop.services import category_get_or_create
from tests.factories.catalogue import (
    ProductFactory,
    ProductImageFactory,
    admin_product_form,
    inline_management_form,
    jpeg_bytes,
)

CHANGELIST = reverse("admin:shop_product_changelist")


@pytest.fixture
def staff_client(client, db):
    user = get_user_model().objects.create_superuser("boss", "boss@example.com", "pw")
    client.force_login(user)
    return client


def titles(response) -> set[str]:
    return {p.title for p in response.context["cl"].result_list}


def test_anonymous_visitors_are_sent_to_the_login_page(client, db):
    for url in [CHANGELIST, reverse("admin:shop_category_changelist")]:
        response = client.get(url)
        assert response.status_code == 302 and response.url.startswith(reverse("admin:login"))


def test_logged_in_shoppers_without_staff_status_are_refused(client, db):
    client.force_login(get_user_model().objects.create_user("shopper", password="pw"))
    response = client.get(CHANGELIST)
    assert response.status_code == 302 and response.url.startswith(reverse("admin:login"))
    assert client.get(reverse("admin:shop_product_add")).status_code == 302


def test_product_list_shows_thumbnails(staff_client):
    image = ProductImageFactory(product__title="Blue Denim Jacket")
    response = staff_client.get(CHANGELIST)
    assert response.status_code == 200
    assert f'src="{image.image.url}"' in response.content.decode()
    assert "Blue Denim Jacket" in response.content.decode()


def test_product_change_page_shows_the_photo(staff_client):
    image = ProductImageFactory()
    response = staff_client.get(reverse("admin:shop_product_change", args=[image.product.pk]))
    assert response.status_code == 200
    assert response.content.decode().count(f'src="{image.image.url}"') >= 2  # header + inline


def test_category_pages_render(staff_client):
    category = category_get_or_create(names=["Footwear", "Shoes", "Sandals"])
    assert staff_client.get(reverse("admin:shop_category_changelist")).status_code == 200
    response = staff_client.get(reverse("admin:shop_category_change", args=[category.pk]))
    assert response.status_code == 200


def test_filters_narrow_the_list(staff_client):
    shoes = category_get_or_create(names=["Footwear", "Shoes", "Sandals"])
    ProductFactory(title="Red shirt", colour="Red", stock=0)
    ProductFactory(title="Green sandal", colour="Green", category=shoes, gender="Women")
    ProductFactory(title="Hidden hat", is_active=False)
    footwear = Category.objects.get_root(shoes)

    assert titles(staff_client.get(CHANGELIST, {"category": footwear.pk})) == {"Green sandal"}
    assert titles(staff_client.get(CHANGELIST, {"in_stock": "no"})) == {"Red shirt"}
    assert titles(staff_client.get(CHANGELIST, {"colour": "Green"})) == {"Green sandal"}
    assert titles(staff_client.get(CHANGELIST, {"gender__exact": "Women"})) == {"Green sandal"}
    assert titles(staff_client.get(CHANGELIST, {"is_active__exact": "0"})) == {"Hidden hat"}
    assert titles(staff_client.get(CHANGELIST, {"q": "sandal"})) == {"Green sandal"}


def test_bulk_deactivate_and_activate(staff_client):
    products = ProductFactory.create_batch(3)
    ids = [str(p.pk) for p in products[:2]]
    response = staff_client.post(
        CHANGELIST, {"action": "deactivate", "_selected_action": ids}, follow=True
    )
    assert "2 product(s) deactivated" in response.content.decode()
    assert set(Product.objects.filter(is_active=False).values_list("pk", flat=True)) == {
        p.pk for p in products[:2]
    }
    staff_client.post(CHANGELIST, {"action": "activate", "_selected_action": ids})
    assert Product.objects.filter(is_active=True).count() == 3


def _add_form(photo) -> dict:
    return admin_product_form(photo, title="Linen Shirt", slug="linen-shirt")


def test_adding_a_product_with_a_photo_makes_it_primary(staff_client):
    photo = SimpleUploadedFile("../../evil name.jpg", jpeg_bytes(), content_type="image/jpeg")
    response = staff_client.post(reverse("admin:shop_product_add"), _add_form(photo))
    assert response.status_code == 302, response.context and response.context["errors"]
    image = ProductImage.objects.get(product__slug="linen-shirt")
    assert image.is_primary and len(image.sha256) == 64
    assert ProductImage.objects.filter(pk=image.pk).values_list("width", "height")[0] == (60, 80)
    assert image.image.name.startswith("products/") and "evil" not in image.image.name


def test_a_file_that_is_not_a_photo_is_refused_with_a_reason(staff_client):
    fake = SimpleUploadedFile("shirt.jpg", b"<html><script>alert(1)</script></html>", "image/jpeg")
    response = staff_client.post(reverse("admin:shop_product_add"), _add_form(fake))
    assert response.status_code == 400
    assert "Upload a valid image" in response.content.decode()
    assert not Product.objects.exists()


def test_a_truncated_photo_is_refused_with_a_reason(staff_client):
    data = jpeg_bytes(size=(400, 400))
    broken = SimpleUploadedFile("shirt.jpg", data[: len(data) // 2], "image/jpeg")
    response = staff_client.post(reverse("admin:shop_product_add"), _add_form(broken))
    assert response.status_code == 400
    body = response.content.decode()
    assert "This photo cannot be used: the image is corrupt or truncated" in body
    assert not Product.objects.exists()


def test_the_add_form_starts_with_the_photo(staff_client):
    page = staff_client.get(reverse("admin:shop_product_add")).content.decode()
    photo, title = page.index('name="images-0-image"'), page.index('name="title"')
    assert photo < title


def test_each_input_of_the_photo_table_says_which_column_it_is_in(staff_client):
    image = ProductImageFactory()
    page = staff_client.get(reverse("admin:shop_product_change", args=[image.product.pk]))
    body = page.content.decode()
    for name, label in [
        ("image", "Image"),
        ("alt_text", "Alt text"),
        ("is_primary", "Primary"),
        ("position", "Position"),
        ("DELETE", "Delete"),
    ]:
        tag = re.search(rf'<input[^>]*name="images-0-{name}"[^>]*>', body).group(0)
        assert f'aria-label="{label}"' in tag, tag
    header = re.search(r'<th class="original">(.*?)</th>', body).group(1)
    assert "Saved photo" in header


def test_the_product_list_links_each_product_once_by_its_title(staff_client):
    image = ProductImageFactory(product__title="Blue Denim Jacket")
    body = staff_client.get(CHANGELIST).content.decode()
    change = reverse("admin:shop_product_change", args=[image.product.pk])
    assert body.count(f'href="{change}"') == 1
    assert re.search(rf'<a href="{change}">Blue Denim Jacket</a>', body)
    assert "19.99 EUR" in body  # price and currency in one column


def test_the_add_form_shows_no_empty_primary_photo_but_the_change_form_shows_it(staff_client):
    assert (
        "Primary photo" not in staff_client.get(reverse("admin:shop_product_add")).content.decode()
    )
    image = ProductImageFactory()
    change = staff_client.get(reverse("admin:shop_product_change", args=[image.product.pk]))
    assert "Primary photo" in change.content.decode()


def variant_rows(*rows) -> dict:
    form = inline_management_form("variants", total=len(rows))
    for n, (options, sku, price, stock) in enumerate(rows):
        form |= {
            f"variants-{n}-options": options,
            f"variants-{n}-sku": sku,
            f"variants-{n}-price": price,
            f"variants-{n}-compare_at_price": "",
            f"variants-{n}-stock": stock,
            f"variants-{n}-position": str(n),
        }
    return form


def test_a_shop_admin_adds_variants_inline_and_the_product_sells_at_theirs(staff_client):
    photo = SimpleUploadedFile("p.jpg", jpeg_bytes(), content_type="image/jpeg")
    form = admin_product_form(photo, title="Wool Scarf", slug="wool-scarf")
    form |= {"option_names": '["Colour", "Length"]'} | variant_rows(
        ("Grey / Long", "SCARF-GL", "45.00", "3"),
        ("Red / Short", "SCARF-RS", "39.00", "2"),
    )
    response = staff_client.post(reverse("admin:shop_product_add"), form)
    assert response.status_code == 302, response.content.decode()[:3000]

    scarf = Product.objects.get(slug="wool-scarf")
    assert [(v.option_values, v.colour, str(v.price)) for v in scarf.variants.all()] == [
        (["Grey", "Long"], "Grey", "45.00"),
        (["Red", "Short"], "Red", "39.00"),
    ]
    assert (str(scarf.price), scarf.stock) == ("39.00", 5)  # the lowest price, the total stock
    page = staff_client.get(reverse("admin:shop_product_change", args=[scarf.pk])).content.decode()
    assert 'value="Grey / Long"' in page
    assert re.search(r'<div class="readonly">39\.00</div>', page)  # set by the variants


def test_a_variant_without_a_value_for_each_option_is_refused(staff_client):
    photo = SimpleUploadedFile("p.jpg", jpeg_bytes(), content_type="image/jpeg")
    form = admin_product_form(photo, title="Wool Hat", slug="wool-hat")
    form |= {"option_names": '["Size"]'} | variant_rows(
        ("M", "HAT-M", "20.00", "1"), ("M / Blue", "HAT-MB", "20.00", "1")
    )
    response = staff_client.post(reverse("admin:shop_product_add"), form)
    assert response.status_code == 400
    assert "Variant M / Blue: give Size." in response.content.decode()
    assert not Product.objects.filter(slug="wool-hat").exists()
