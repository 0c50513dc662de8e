"""Every kind of hostile or unusual upload (tests/security/hostile_images.py) through every path
that takes a photo: search by photo on the storefront and in the API, the admin's product
photo, and a staff product created or changed through the API with its photo.

Accepted kinds work: search answers with products, a created product has the photo, stored as
sent under a random name with the extension of its content. Refused kinds get a 4xx (the admin
shows its form again with the error, as a 400) whose message names the reason,
and nothing is stored. Never a 500, never a hang. A search photo is never stored, not even in a
temporary file; a stored photo is served as an image with ``nosniff`` by every server.
"""

from __future__ import annotations

import hashlib
import importlib
import mimetypes
import re
import shutil
import time
from pathlib import Path, PurePath

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile, TemporaryUploadedFile
from django.core.management import call_command
from django.test import override_settings
from django.urls import clear_url_caches, reverse
from django.utils.html import escape

from recommender.services import index_build
from shop import thumbnails
from shop.images import image_extension
from shop.models import Product, ProductImage
from tests.factories.catalogue import ProductImageFactory, admin_product_form, jpeg_bytes
from tests.security.hostile_images import KINDS, Kind

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db,
    # The EXIF bomb's tags make Pillow warn as it skips them; between one and two times the
    # pixel limit Pillow warns too. The outcome is what is tested, not Pillow's warnings.
    pytest.mark.filterwarnings("ignore::UserWarning:PIL"),
    pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning"),
]

ALL_KINDS = list(KINDS.values())
# Far above what any kind takes (the slowest, 10 MB, well under a second), far below a hang:
# the scan bomb alone would keep a worker busy for over 10 s.
REQUEST_SECONDS = 5
NGINX_CONF = Path(__file__).resolve().parents[2] / "config" / "nginx" / "default.conf"
CATALOGUE_COLOURS = {"Red": (200, 30, 30), "Blue": (30, 60, 200), "Green": (30, 160, 60)}


@pytest.fixture(scope="module")
def catalogue_media(django_db_setup, django_db_blocker, tmp_path_factory):
    """Three products with photos and all their thumbnails, in a live index (built once for
    the module; removed afterwards). Returns the media folder that holds their files."""
    media = tmp_path_factory.mktemp("catalogue-media")
    with django_db_blocker.unblock(), override_settings(MEDIA_ROOT=media):
        for name, colour in CATALOGUE_COLOURS.items():
            image = ProductImageFactory(
                product__title=f"{name} Shirt",
                image=ContentFile(jpeg_bytes(colour, size=(96, 128)), name="shirt.jpg"),
            )
            for width in thumbnails.WIDTHS:  # result pages then write no file of their own
                thumbnails.thumbnail(image, width)
        index_build(encoder="efficientnet_lite0")
        yield media
        call_command("flush", interactive=False, verbosity=0)


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path, catalogue_media):
    """Each test's own media folder (as in tests/conftest.py), holding the catalogue's files."""
    root = tmp_path / "media"
    shutil.copytree(catalogue_media, root)
    settings.MEDIA_ROOT = root
    return root


@pytest.fixture(autouse=True)
def upload_temp_dir(settings, tmp_path):
    """Where Django spools uploads over FILE_UPLOAD_MAX_MEMORY_SIZE (the 10 MB kind)."""
    folder = tmp_path / "uploads"
    folder.mkdir()
    settings.FILE_UPLOAD_TEMP_DIR = str(folder)
    return folder


def upload(kind: Kind) -> SimpleUploadedFile:
    # The declared type is a lie as often as the name: neither may decide anything.
    return SimpleUploadedFile(kind.filename, kind.data, content_type="image/jpeg")


def files_under(root: Path) -> set[str]:
    return {path.relative_to(root).as_posix() for path in root.rglob("*") if path.is_file()}


def timed(send, *args, **kwargs):
    started = time.monotonic()
    response = send(*args, **kwargs)
    elapsed = time.monotonic() - started
    assert elapsed < REQUEST_SECONDS, f"took {elapsed:.1f} s"
    assert response.status_code != 500
    return response


def assert_names_the_reason(message: str, kind: Kind) -> None:
    assert kind.reason.lower() in message.lower(), f"{message!r} does not say {kind.reason!r}"


def assert_stored_as_sent_under_a_content_name(image: ProductImage, kind: Kind, before, root):
    """A random name, the extension of what the bytes are (never the client's), the bytes
    unchanged, and no other file."""
    extension = image_extension(kind.data)
    assert extension in {".jpg", ".png", ".webp", ".gif"}
    name = image.image.name
    assert re.fullmatch(rf"products/[0-9a-f]{{2}}/[0-9a-f]{{32}}{re.escape(extension)}", name)
    assert PurePath(kind.filename).stem.lower() not in name.lower()
    assert (root / name).read_bytes() == kind.data
    assert files_under(root) - before == {name}


# The five upload paths, each with every kind -----------------------------------------------


@pytest.mark.parametrize("kind", ALL_KINDS, ids=str)
def test_storefront_search_by_photo(client, media_root, upload_temp_dir, kind):
    before = files_under(media_root)
    response = timed(client.post, reverse("shop:photo_search"), {"photo": upload(kind)})
    if kind.accepted:
        assert response.status_code == 200
        assert {item.product.title for item in response.context["results"]} >= {"Red Shirt"}
    else:
        assert response.status_code == 400
        assert "results" not in response.context
        message = " ".join(response.context["form"].errors["photo"])
        assert_names_the_reason(message, kind)
        assert escape(message) in response.content.decode()  # shown on the page
    assert files_under(media_root) == before  # a search photo is never stored
    assert not any(upload_temp_dir.iterdir())


@pytest.mark.parametrize("kind", ALL_KINDS, ids=str)
@pytest.mark.parametrize("endpoint", ["api:photo-search", "api:photo-search-items"])
def test_api_search_by_photo(api, media_root, upload_temp_dir, kind, endpoint):
    before = files_under(media_root)
    url = reverse(endpoint)
    response = timed(api.post, url, {"photo": upload(kind)}, format="multipart")
    body = response.json()
    if kind.accepted:
        assert response.status_code == 200, body
        results = body if endpoint == "api:photo-search" else body["results"]
        assert {item["product"]["title"] for item in results} == set(
            f"{name} Shirt" for name in CATALOGUE_COLOURS
        )
    else:
        assert response.status_code == 400, body
        assert body["error"] == "invalid" and "photo" in body["fields"]
        assert_names_the_reason(body["detail"], kind)
    assert files_under(media_root) == before
    assert not any(upload_temp_dir.iterdir())


@pytest.mark.parametrize("kind", ALL_KINDS, ids=str)
def test_admin_product_photo(admin_client, media_root, kind):
    before = files_under(media_root)
    slug = f"admin-{kind.name.replace('_', '-')}"
    form = admin_product_form(upload(kind), title=f"Admin {kind.name}", slug=slug)
    response = timed(admin_client.post, reverse("admin:shop_product_add"), form)
    if kind.accepted:
        assert response.status_code == 302, response.context["errors"]
        image = ProductImage.objects.get(product__slug=slug)
        assert image.is_primary and image.sha256 == hashlib.sha256(kind.data).hexdigest()
        assert_stored_as_sent_under_a_content_name(image, kind, before, media_root)
    else:
        # The form again with its errors, as Django's admin does, but as a 400 (shop/admin/catalogue.py).
        assert response.status_code == 400
        message = " ".join(response.context["inline_admin_formsets"][0].formset.errors[0]["image"])
        assert_names_the_reason(message, kind)
        assert escape(message) in response.content.decode()
        assert not Product.objects.filter(slug=slug).exists()
        assert files_under(media_root) == before


@pytest.mark.parametrize("kind", ALL_KINDS, ids=str)
def test_api_staff_product_create_with_photo(staff_api, media_root, kind):
    before = files_under(media_root)
    title = f"API {kind.name}"
    fields = {"title": title, "price": "25.00", "stock": 4, "photo": upload(kind)}
    response = timed(staff_api.post, reverse("api:product-list"), fields, format="multipart")
    body = response.json()
    if kind.accepted:
        assert response.status_code == 201, body
        image = ProductImage.objects.get(product_id=body["id"])
        assert body["images"][0]["width"] == image.width > 0
        assert_stored_as_sent_under_a_content_name(image, kind, before, media_root)
    else:
        assert response.status_code == 400, body
        assert body["error"] == "invalid" and "photo" in body["fields"]
        assert_names_the_reason(body["detail"], kind)
        assert not Product.objects.filter(title=title).exists()
        assert files_under(media_root) == before


@pytest.mark.parametrize("kind", ALL_KINDS, ids=str)
def test_api_staff_product_update_with_photo(
    staff_api, media_root, kind, django_capture_on_commit_callbacks
):
    old = ProductImageFactory(product__title="Old Photo Shirt")
    before = files_under(media_root)
    url = reverse("api:product-detail", args=[old.product_id])
    with django_capture_on_commit_callbacks(execute=True):
        response = timed(staff_api.patch, url, {"photo": upload(kind)}, format="multipart")
    body = response.json()
    if kind.accepted:
        assert response.status_code == 200, body
        image = ProductImage.objects.get(product_id=old.product_id)
        assert image.pk != old.pk and image.sha256 == hashlib.sha256(kind.data).hexdigest()
        assert_stored_as_sent_under_a_content_name(
            image, kind, before - {old.image.name}, media_root
        )
    else:
        assert response.status_code == 400, body
        assert body["error"] == "invalid" and "photo" in body["fields"]
        assert_names_the_reason(body["detail"], kind)
        assert ProductImage.objects.get(product_id=old.product_id) == old  # kept as it was
        assert files_under(media_root) == before


def test_the_corpus_has_every_kind_the_issue_lists():
    assert len(KINDS) >= 20
    accepted = {kind.name for kind in KINDS.values() if kind.accepted}
    assert {"cmyk_jpeg", "png_16_bit_grey", "animated_gif", "webp_photo"} <= accepted
    for required in ("svg", "html", "pdf", "truncated_jpeg", "truncated_png", "bit_flipped",
                     "zero_bytes", "1x1", "20000x20000", "between_1x_and_2x", "exif_bomb",
                     "tiff", "bmp", "ico", "text_file", "over_10_mb"):  # fmt: skip
        assert any(required in name for name in KINDS), required
    polyglots = [name for name in KINDS if name.startswith("polyglot")]
    assert sum(KINDS[name].accepted for name in polyglots) >= 2  # image first
    assert sum(not KINDS[name].accepted for name in polyglots) >= 2  # content first


# A search photo leaves nothing behind ------------------------------------------------------


@pytest.mark.parametrize("path", ["storefront", "api", "api-items"])
def test_a_search_photo_is_not_kept_even_in_a_temporary_file(
    path, client, api, settings, media_root, upload_temp_dir, monkeypatch
):
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 0  # every upload is spooled to a temporary file
    spooled = []
    spool = TemporaryUploadedFile.__init__

    def recording_spool(self, *args, **kwargs):
        spool(self, *args, **kwargs)
        spooled.append(Path(self.temporary_file_path()))

    monkeypatch.setattr(TemporaryUploadedFile, "__init__", recording_spool)
    before = files_under(media_root)
    photo = upload(KINDS["jpeg_photo"])
    if path == "storefront":
        response = client.post(reverse("shop:photo_search"), {"photo": photo})
        assert response.status_code == 200 and response.context["results"]
    else:
        url = reverse("api:photo-search" if path == "api" else "api:photo-search-items")
        response = api.post(url, {"photo": photo}, format="multipart")
        assert response.status_code == 200 and response.json()
    assert spooled and spooled[0].parent == upload_temp_dir  # it did go through a file...
    assert not any(path.exists() for path in spooled)  # ...removed with the request
    assert not any(upload_temp_dir.iterdir())
    assert files_under(media_root) == before


# Stored photos are only ever served as images ----------------------------------------------


@pytest.fixture
def debug_media_urls(settings, media_root):
    """config/urls.py as it is with DEBUG on: Django's static() serves MEDIA_ROOT."""
    import config.urls

    settings.DEBUG = True
    importlib.reload(config.urls)
    clear_url_caches()
    yield
    settings.DEBUG = False
    importlib.reload(config.urls)
    clear_url_caches()


SERVED_KINDS = [kind for kind in ALL_KINDS if kind.accepted]


def assert_served_as_an_image(response, data: bytes | None = None) -> str:
    assert response.status_code == 200
    content_type = response["Content-Type"]
    assert content_type.startswith("image/") and "svg" not in content_type
    assert response["X-Content-Type-Options"] == "nosniff"
    if data is not None:
        assert b"".join(response.streaming_content) == data
    return content_type


@pytest.mark.parametrize("kind", SERVED_KINDS, ids=str)
@pytest.mark.parametrize("path", ["admin", "api"])
def test_a_stored_photo_and_its_thumbnails_are_served_as_images_with_nosniff(
    path, kind, admin_client, staff_api, client, debug_media_urls
):
    if path == "admin":
        form = admin_product_form(upload(kind), title="Served", slug="served")
        assert admin_client.post(reverse("admin:shop_product_add"), form).status_code == 302
    else:
        fields = {"title": "Served", "price": "9.00", "stock": 1, "photo": upload(kind)}
        response = staff_api.post(reverse("api:product-list"), fields, format="multipart")
        assert response.status_code == 201
    image = ProductImage.objects.get(product__title="Served")

    served = client.get(image.image.url)  # what the DEBUG server and nginx both serve
    content_type = assert_served_as_an_image(served, kind.data)
    assert content_type == mimetypes.guess_type(f"x{image_extension(kind.data)}")[0]
    for width in thumbnails.WIDTHS:
        thumbnail = client.get(thumbnails.thumbnail(image, width).url)
        assert assert_served_as_an_image(thumbnail) == "image/webp"


def test_nginx_serves_media_with_nosniff_and_types_from_the_extension():
    """Production: nginx serves /media/ itself. Its type comes from the file's extension
    (mime.types: .jpg, .png, .webp, .gif are image/*), which is always that of the content."""
    conf = NGINX_CONF.read_text()
    media = re.search(r"location /media/ \{(.*?)\}", conf, re.DOTALL)
    assert media, "no /media/ location"
    block = media.group(1)
    assert re.search(r"add_header\s+X-Content-Type-Options\s+\"?nosniff\"?", block)
    assert not re.search(r"\b(default_type|types|autoindex on)\b", block)
