"""Product photo thumbnails: made once per photo and width, kept in media storage beside it.

A page asks for the width it displays; browsers pick from a ``srcset`` of these widths. The
thumbnail's name derives from the photo's (random, never reused) name, so a replaced photo
gets new thumbnails and no cache ever serves a stale one.
"""

from __future__ import annotations

from dataclasses import dataclass
from io import BytesIO
from pathlib import PurePosixPath

from django.core.cache import cache
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from PIL import Image

from shop.models import ProductImage
from shop.photo_decoding import load_reduced, to_rgb

WIDTHS = (160, 320, 640)
QUALITY = 80
# Half the time of Pillow's default (4) for files about 5% larger (bench/README.md).
WEBP_METHOD = 2
CACHE_SECONDS = 24 * 3600


@dataclass(frozen=True)
class Thumbnail:
    url: str
    width: int
    height: int


def thumbnail(image: ProductImage, width: int) -> Thumbnail:
    """The thumbnail of ``image`` that fits a ``width`` x ``width`` box (never upscaled)."""
    name = thumbnail_name(image.image.name, width_made(image, width))
    key = f"thumbnail:{name}"
    size = cache.get(key)
    if size is None:
        size = _existing_size(name) or _make(image, name, width)
        cache.set(key, size, CACHE_SECONDS)
    return Thumbnail(default_storage.url(name), *size)


def thumbnails_make(image: ProductImage, photo: Image.Image) -> None:
    """``image``'s thumbnails now, from ``photo`` (its decoded pixels), so that the first
    shopper to see it does not wait: a worker storing a fetched photo calls this. One decode
    for every width; widths beyond the photo's own size, which would repeat the largest one
    that holds it whole, are left to be made if a page ever asks."""
    largest = max(photo.size)
    for width in WIDTHS:
        name = thumbnail_name(image.image.name, width)
        small = to_rgb(photo.copy())
        small.thumbnail((width, width), Image.Resampling.LANCZOS)
        cache.set(f"thumbnail:{name}", _save(small, name), CACHE_SECONDS)
        if width >= largest:
            break


def width_made(image: ProductImage, width: int) -> int:
    """The width whose file serves ``width``: beyond the photo's own size every box gives the
    same picture, kept once, under the first width that holds the photo whole (the one
    ``thumbnails_make`` stops at)."""
    largest = max(image.width or 0, image.height or 0)
    if not largest or width <= largest:  # size unknown (not measured yet): as asked
        return width
    return min((made for made in WIDTHS if made >= largest), default=width)


def thumbnail_name(photo_name: str, width: int) -> str:
    return str(PurePosixPath("thumbs", f"w{width}", photo_name).with_suffix(".webp"))


def _existing_size(name: str) -> tuple[int, int] | None:
    if not default_storage.exists(name):
        return None
    with default_storage.open(name, "rb") as handle, Image.open(handle) as existing:
        return existing.size


def _make(image: ProductImage, name: str, width: int) -> tuple[int, int]:
    with image.image.open("rb") as handle, Image.open(handle) as photo:
        small = to_rgb(load_reduced(photo, at_least=width))
        small.thumbnail((width, width), Image.Resampling.LANCZOS)
    return _save(small, name)


def _save(small: Image.Image, name: str) -> tuple[int, int]:
    buffer = BytesIO()
    small.save(buffer, "WEBP", quality=QUALITY, method=WEBP_METHOD)
    saved = default_storage.save(name, ContentFile(buffer.getvalue()))
    if saved != name:  # another process made it first; keep theirs
        default_storage.delete(saved)
    return small.size
