"""Importing real shops' catalogues into the database: a Shopify export whose photos are URLs
(fetched by the workers' task, from a photo server of the test's own), generic files with
several photos per product, variants kept in step with the file, hostile files."""

import hashlib
from datetime import timedelta
from decimal import Decimal

import pytest
from celery.exceptions import SoftTimeLimitExceeded
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command
from django.utils import timezone

from shop.models import Product, ProductImage, ProductPhotoSource, ProductVariant
from shop.sample_catalogue import write_sample_shopify_catalogue
from shop.services import catalogue_import, photo_sources
from shop.tasks import fetch_pending_photos, fetch_product_photos
from shop.thumbnails import WIDTHS, thumbnail_name
from tests.factories.catalogue import ProductImageFactory, jpeg_bytes
from tests.shop.photo_server import PhotoServer
from tests.shop.test_catalogue_formats import SHOPIFY_HEADER
from tests.shop.test_catalogue_import import write_catalogue

pytestmark = pytest.mark.django_db


@pytest.fixture
def photo_server(tmp_path):
    with PhotoServer(root=tmp_path / "catalogue") as server:
        yield server


@pytest.fixture(autouse=True)
def loopback_allowed(settings):
    """The test's photo server runs on this machine, which the shop refuses by default."""
    settings.SHOP_PHOTO_FETCH_ALLOW_LOOPBACK = True
    settings.SHOP_PHOTO_FETCH_DEADLINE = 2
    settings.SHOP_PHOTO_FETCH_MAX_BYTES = 1024 * 1024


def import_file(path, capture, **options):
    with capture(execute=True):
        return catalogue_import(path=path, **options)


def run_photo_fetches(memory_queue) -> int:
    """Run the photo fetches the import queued, as a worker would; returns how many photos."""
    count = 0
    while memory_queue.qsize():
        message = memory_queue.get(block=False)
        if message.headers["task"] == fetch_product_photos.name:
            (source_ids,) = message.payload[0]
            fetch_product_photos.apply(args=[source_ids])
            count += len(source_ids)
    return count


def test_a_shopify_export_brings_products_variants_and_all_their_photos(
    tmp_path, photo_server, memory_queue, django_capture_on_commit_callbacks
):
    csv_path = write_sample_shopify_catalogue(
        tmp_path / "catalogue", photo_base_url=photo_server.base, products=6
    )
    report = import_file(csv_path, django_capture_on_commit_callbacks)

    assert (report.created, report.skipped, report.photos_to_fetch) == (6, 0, 18)
    assert photo_server.requests == []  # nothing is fetched while importing
    assert run_photo_fetches(memory_queue) == 18

    mug = Product.objects.get(external_id="black-mug-0")
    assert mug.title == "Black Mug No. 0"
    assert str(mug.category) == "Kitchen > Mugs"
    assert mug.description == "A black mug, made to last.\nKitchen > Mugs"
    assert mug.option_names == ["Size"]
    variants = list(mug.variants.all())
    assert [(v.sku, v.option_values) for v in variants] == [
        ("BLACK-MUG-0-S", ["Small"]),
        ("BLACK-MUG-0-L", ["Large"]),
    ]
    assert variants[1].price == variants[0].price + 10
    assert (mug.price, mug.stock) == (variants[0].price, variants[0].stock + variants[1].stock)
    images = list(mug.images.order_by("position"))
    files = [
        (tmp_path / "catalogue/photos" / f"black-mug-0-{n}.jpg").read_bytes() for n in (1, 2, 3)
    ]
    assert [image.sha256 for image in images] == [hashlib.sha256(f).hexdigest() for f in files]
    assert [image.is_primary for image in images] == [True, False, False]
    assert set(mug.photo_sources.values_list("status", flat=True)) == {"fetched"}
    # Their thumbnails are made by the worker too, before any shopper asks for them: the
    # widths up to the first that holds the whole 240 px photo (a larger one would repeat it).
    for image in images:
        made = [w for w in WIDTHS if default_storage.exists(thumbnail_name(image.image.name, w))]
        assert made == [160, 320]

    # The same file again changes nothing and fetches nothing.
    photo_server.requests.clear()
    again = import_file(csv_path, django_capture_on_commit_callbacks)
    assert (again.created, again.updated, again.unchanged, again.photos_to_fetch) == (0, 0, 6, 0)
    assert run_photo_fetches(memory_queue) == 0
    assert photo_server.requests == []


def shopify_file(tmp_path, lines):
    path = tmp_path / "products_export.csv"
    path.write_text("\n".join([SHOPIFY_HEADER, *lines]) + "\n", encoding="utf-8")
    return path


def product_line(handle, title, photo_url, *, body="", sku="", price="10.00"):
    return (
        f'{handle},{title},"{body}",,,Things,,TRUE,Title,Default Title,,,,,{sku},,,3,{price},,'
        f"{photo_url},1,,,,active"
    )


def test_a_hostile_catalogue_loses_only_what_is_bad_each_with_a_reason(
    tmp_path, photo_server, memory_queue, django_capture_on_commit_callbacks, client, admin_user
):
    photo_server.photos["/good.jpg"] = jpeg_bytes()
    photo_server.photos["/busy.jpg"] = jpeg_bytes((0, 90, 200))
    photo_server.failures_left["/busy.jpg"] = 2  # down twice, then back
    url = photo_server.url
    lines = [
        product_line(
            "good",
            "Good",
            url("/good.jpg"),
            body="<p>Fine</p><script>alert(1)</script><img src=x onerror=alert(2)>",
        ),
        product_line("private", "Private", url("/redirect-private")),
        product_line("metadata", "Metadata", url("/redirect-metadata")),
        product_line("endless", "Endless", url("/never-ends")),
        product_line("huge", "Huge", url("/two-gigabytes")),
        product_line("page", "Page", url("/not-an-image")),
        product_line("busy", "Busy", url("/busy.jpg")),
        product_line("local", "Local", "http://localhost:1/none.jpg"),
        "short,line",
    ]
    report = import_file(shopify_file(tmp_path, lines), django_capture_on_commit_callbacks)
    assert (report.created, report.skipped) == (8, 1)
    assert "expected 26 fields, found 2" in str(report.errors[0])
    run_photo_fetches(memory_queue)

    good = Product.objects.get(external_id="good")
    assert good.description == "Fine"
    assert good.primary_image is not None
    reasons = dict(ProductPhotoSource.objects.values_list("product__external_id", "reason"))
    assert reasons["good"] == reasons["busy"] == ""
    assert "10.11.12.13 is a private, link-local or reserved address" in reasons["private"]
    assert "169.254.169.254 is a private" in reasons["metadata"]
    assert "took longer than 2 s" in reasons["endless"]
    assert "larger than 1 MB" in reasons["huge"]
    assert "not a usable image" in reasons["page"]
    assert "cannot reach localhost" in reasons["local"]
    assert Product.objects.get(external_id="busy").images.count() == 1  # after two retries
    assert photo_server.requests.count("/busy.jpg") == 3
    # No image was stored for a failed photo; the products stand without one.
    assert ProductImage.objects.filter(product__external_id__in=["private", "huge"]).count() == 0

    # The shop admin sees why on the product's page.
    client.force_login(admin_user)
    page = client.get(
        f"/admin/shop/product/{Product.objects.get(external_id='private').pk}/change/"
    )
    assert "10.11.12.13 is a private, link-local or reserved address" in page.content.decode()

    # A re-import tries the failed URLs again, and leaves the fetched ones alone.
    photo_server.requests.clear()
    again = import_file(shopify_file(tmp_path, lines), django_capture_on_commit_callbacks)
    assert again.photos_to_fetch == 6
    run_photo_fetches(memory_queue)
    assert "/good.jpg" not in photo_server.requests and "/busy.jpg" not in photo_server.requests


def test_a_re_import_follows_the_file_photos_reordered_variants_changed_and_removed(
    tmp_path, django_capture_on_commit_callbacks
):
    folder = tmp_path / "feed"
    (folder / "photos").mkdir(parents=True)
    for name, colour in [("a", (200, 0, 0)), ("b", (0, 200, 0)), ("c", (0, 0, 200))]:
        (folder / "photos" / f"{name}.jpg").write_bytes(jpeg_bytes(colour))
    (folder / "photos" / "broken.jpg").write_bytes(b"\xff\xd8 not really")
    mapping = [
        "id=ref",
        "title=name",
        "price=cost",
        "stock=qty",
        "sku=code",
        "photos=pics",
        "option:Size=size",
    ]
    header = "ref,name,cost,qty,code,pics,size"

    def run(lines):
        (folder / "feed.csv").write_text("\n".join([header, *lines]) + "\n")
        from shop.catalogue_formats import Mapping

        return import_file(
            folder / "feed.csv",
            django_capture_on_commit_callbacks,
            mapping=Mapping.from_options(mapping),
        )

    first = run(
        ["R1,Rug,50,2,RUG-S,photos/a.jpg|photos/broken.jpg|photos/b.jpg,S", "R1,,70,1,RUG-L,,L"]
    )
    assert (first.created, len(first.photo_errors)) == (1, 1)
    assert "broken.jpg" in str(first.photo_errors[0])
    rug = Product.objects.get(external_id="R1")
    a, b = (hashlib.sha256((folder / f"photos/{n}.jpg").read_bytes()).hexdigest() for n in "ab")
    assert list(rug.images.order_by("position").values_list("sha256", "is_primary")) == [
        (a, True),
        (b, False),
    ]

    second = run(["R1,Rug,50,2,RUG-S,photos/c.jpg|photos/b.jpg,S", "R1,,65,4,RUG-M,,M"])
    assert (second.updated, second.photo_errors) == (1, [])
    c = hashlib.sha256((folder / "photos/c.jpg").read_bytes()).hexdigest()
    assert list(rug.images.order_by("position").values_list("sha256", "is_primary")) == [
        (c, True),
        (b, False),
    ]
    assert list(
        ProductVariant.objects.filter(product=rug).values_list("sku", "price", "stock")
    ) == [
        ("RUG-S", Decimal("50.00"), 2),
        ("RUG-M", Decimal("65.00"), 4),
    ]
    rug.refresh_from_db()
    assert (rug.price, rug.stock) == (Decimal("50.00"), 6)


def test_a_sku_of_another_product_skips_the_product_that_would_take_it(
    tmp_path, django_capture_on_commit_callbacks
):
    lines = [
        product_line("first", "First", "", sku="SKU-1"),
        product_line("second", "Second", "", sku="SKU-1"),
    ]
    report = import_file(shopify_file(tmp_path, lines), django_capture_on_commit_callbacks)
    assert report.created == 1
    assert "SKU SKU-1 belongs to product first" in str(report.errors[0])
    assert ProductVariant.objects.get(sku="SKU-1").product.external_id == "first"


def shop_contents() -> dict:
    """What a shopper or shop admin would compare between two shops, by handle."""
    contents = {}
    for product in Product.objects.prefetch_related("images", "variants").select_related(
        "category"
    ):
        contents[product.external_id or product.slug] = {
            "fields": (
                product.title,
                product.description,
                str(product.category),
                product.price,
                product.stock,
                product.is_active,
                product.colour,
                product.gender,
                product.season,
                product.year,
                product.option_names,
            ),
            "variants": [
                (v.sku, v.option_values, v.price, v.compare_at_price, v.stock)
                for v in product.variants.all()
            ],
            "photos": [
                (i.sha256, i.alt_text, i.is_primary) for i in product.images.order_by("position")
            ],
        }
    return contents


def test_an_exported_catalogue_imports_into_an_empty_shop_as_the_same_shop(
    tmp_path, photo_server, memory_queue, django_capture_on_commit_callbacks, settings
):
    csv_path = write_sample_shopify_catalogue(
        tmp_path / "catalogue", photo_base_url=photo_server.base, products=5
    )
    import_file(csv_path, django_capture_on_commit_callbacks)
    run_photo_fetches(memory_queue)
    # A fashion product made by hand, with the fields Shopify has no column for.
    import_file(
        write_catalogue(
            tmp_path / "kaggle",
            ["9,Women,Apparel,Topwear,Tops,Teal,Winter,2019,Casual,Teal Top"],
            {"9": jpeg_bytes((0, 128, 128))},
        ),
        django_capture_on_commit_callbacks,
    )
    Product.objects.filter(external_id="black-mug-0").update(is_active=False)
    before = shop_contents()

    exported = tmp_path / "export.csv"
    # The shop's media (MEDIA_URL /media/), served as a web server would.
    assert settings.MEDIA_ROOT.name == "media"
    with PhotoServer(root=settings.MEDIA_ROOT.parent) as media_server:
        call_command("export_catalogue", "--output", exported, "--base-url", media_server.base)
        Product.objects.all().delete()  # an empty shop
        report = import_file(exported, django_capture_on_commit_callbacks)
        run_photo_fetches(memory_queue)

    assert (report.created, report.skipped) == (6, 0)
    assert shop_contents() == before
    assert len(before["black-mug-0"]["photos"]) == 3 and before["9"]["fields"][7] == "Women"


def test_an_export_with_photos_served_as_paths_needs_the_shops_address(tmp_path, db):
    ProductImageFactory()
    exports = tmp_path / "exports"
    exports.mkdir()
    with pytest.raises(CommandError, match="give the shop's address"):
        call_command("export_catalogue", "--output", exports / "out.csv")
    assert list(exports.iterdir()) == []  # no half-written file


def test_fetched_photos_are_embedded_in_batches_without_refitting_the_words(
    tmp_path, photo_server, memory_queue, django_capture_on_commit_callbacks
):
    csv_path = write_sample_shopify_catalogue(
        tmp_path / "catalogue", photo_base_url=photo_server.base, products=10
    )
    import_file(csv_path, django_capture_on_commit_callbacks)
    queued = [memory_queue.get(block=False) for _ in range(memory_queue.qsize())]
    fetches = [m.payload[0][0] for m in queued if m.headers["task"] == fetch_product_photos.name]
    assert [len(batch) for batch in fetches] == [24, 6]  # 30 photos, a product's together

    with django_capture_on_commit_callbacks(execute=True):
        for batch in fetches:
            fetch_product_photos.apply(args=[batch])
    sent = [memory_queue.get(block=False) for _ in range(memory_queue.qsize())]
    assert [m.headers["task"] for m in sent] == ["recommender.tasks.embed_products"] * 2
    assert sorted(pid for m in sent for pid in m.payload[0][0]) == sorted(
        Product.objects.values_list("pk", flat=True)
    )


def test_photos_whose_fetch_was_never_queued_are_queued_by_the_hourly_sweep(
    tmp_path, photo_server, memory_queue, django_capture_on_commit_callbacks, settings
):
    csv_path = write_sample_shopify_catalogue(
        tmp_path / "catalogue", photo_base_url=photo_server.base, products=2
    )
    catalogue_import(path=csv_path)  # its commit callbacks never run: the messages are lost
    assert memory_queue.qsize() == 0
    with django_capture_on_commit_callbacks(execute=True):
        assert fetch_pending_photos() == 0  # too recent: their messages may still be queued
        long_ago = timezone.now() - timedelta(seconds=settings.SHOP_PHOTO_FETCH_SWEEP_SECONDS + 1)
        Product.objects.update(updated_at=long_ago)
        assert fetch_pending_photos() == 6
    assert run_photo_fetches(memory_queue) == 6
    assert ProductImage.objects.count() == 6


def test_a_photo_cut_off_by_the_tasks_time_limit_fails_alone(
    tmp_path, photo_server, memory_queue, django_capture_on_commit_callbacks, monkeypatch
):
    """A server that trickles its headers is stopped by the task's time limit, not by the
    fetch's own deadline: that photo fails; the photos after it in the batch are still fetched."""
    for name in ("a", "b", "c"):
        photo_server.photos[f"/{name}.jpg"] = jpeg_bytes()
    lines = [product_line(n, n.upper(), photo_server.url(f"/{n}.jpg")) for n in "abc"]
    import_file(shopify_file(tmp_path, lines), django_capture_on_commit_callbacks)
    real_fetch = photo_sources.photo_fetch

    def slow_headers(url, limits):
        if url.endswith("/b.jpg"):
            raise SoftTimeLimitExceeded()  # what Celery raises in the task at its soft limit
        return real_fetch(url, limits)

    monkeypatch.setattr(photo_sources, "photo_fetch", slow_headers)
    assert run_photo_fetches(memory_queue) == 3  # one task of the three photos
    statuses = dict(ProductPhotoSource.objects.values_list("product__external_id", "status"))
    assert statuses == {"a": "fetched", "b": "failed", "c": "fetched"}
    assert ProductPhotoSource.objects.get(product__external_id="b").reason == (
        "the photo's server took too long"
    )
