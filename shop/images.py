"""Reading product photos safely: the one place that decides whether bytes are a usable image.

Every upload path (search by photo, the API, the admin, staff product writes, the catalogue
import) passes the bytes through ``check_image`` before anything else reads them; only what it
accepts is stored, indexed or searched for. No input up to ``MAX_IMAGE_BYTES`` keeps it busy
for more than a second or two (the worst: a real 40-megapixel photo), and the only error it
raises is ``InvalidImage``, whose message says why, for the person who sent the file.

Decisions:

- The size is checked before a byte is decoded (the forms check the upload's size even
  before reading it).
- The format is decided by the content, never by the file's name or declared type, and only
  Pillow's JPEG, PNG, WebP and GIF readers see the bytes here: no other Pillow plugin parses
  them. Files that start as something else (SVG, HTML, PDF, TIFF, HEIC, ...) are refused and
  named, so a document with an image inside it ("content-first" polyglots) is a document.
- What decoding will take is known from the header, before a pixel is decoded: a photo whose
  decoding would take more than ``MAX_DECODED_BYTES`` is refused (in practice WebPs over
  4096 x 4096, which Pillow decodes through 16 bytes a pixel), and so is one over what its
  request has left (``request_photo_budget``: the admin's many photo rows). Small files that
  decode huge (a 1.5 KB lossless WebP, a 90 KB 16-bit PNG of 40 megapixels) cost that and no
  more: nothing is converted or copied at full size, here or in
  ``shop.photo_decoding.load_reduced``.
- Images whose header declares more than ``MAX_IMAGE_PIXELS`` are refused before decoding
  (Pillow itself only warns between one and two times its limit), and so are images smaller
  than ``MIN_IMAGE_SIDE`` on a side (a 1x1 tracking pixel is not a product photo).
- JPEGs with more than ``MAX_JPEG_SCANS`` scans are refused before decoding: a progressive
  JPEG decodes its whole picture once per scan, so a few hundred kilobytes of repeated scans
  keep a worker busy for minutes. So are JPEGs and PNGs made of a flood of tiny header
  segments or chunks (``MAX_JPEG_SEGMENTS``, ``MAX_PNG_CHUNKS``), which Pillow reads one at a
  time: before Pillow sees them, by walking their structure without decoding anything.
- Every pixel is then decoded (truncated and corrupt files fail here) and the EXIF orientation
  read, the same work the encoder and the thumbnails do later.
- Unusual photos that Pillow reads are real product photos and are accepted: CMYK JPEGs,
  16-bit PNGs, palette and transparent images, camera JPEGs with a second picture (Pillow
  calls them MPO), animated GIFs and WebPs (their first frame is the photo). The encoder and
  the thumbnails convert them to 8-bit RGB.
- Bytes after the end of an accepted image ("image-first" polyglots: a JPEG with HTML or a
  ZIP appended) are kept: phones append videos to photos that way, and where the image ends
  cannot be told for every format without parsing it ourselves. They are harmless because a
  stored photo is only ever served as an image: under a random name with the extension of its
  content (``image_extension``), with ``X-Content-Type-Options: nosniff``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from io import BytesIO

from PIL import Image, UnidentifiedImageError

ALLOWED_FORMATS = {"JPEG": ".jpg", "PNG": ".png", "WEBP": ".webp", "GIF": ".gif"}
# Camera JPEGs that carry a second picture (depth map, stereo pair): Pillow calls them MPO.
# Their first picture is a plain JPEG that every browser shows.
FORMAT_ALIASES = {"MPO": "JPEG"}
ACCEPTED = "use a JPEG, PNG, WebP or GIF photo"
MAX_IMAGE_BYTES = 10 * 1024 * 1024
# Pillow refuses images over twice this many pixels and warns above it; a product photo
# never needs more than ~40 megapixels. Set here on purpose, not left to Pillow's default,
# and enforced exactly by ``check_image`` (not Pillow's warning) before any pixel is decoded.
MAX_IMAGE_PIXELS = 40_000_000
Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
# Smaller than this on either side is an icon or a tracking pixel, not a photo of a product.
MIN_IMAGE_SIDE = 16
# Encoders write 1 (baseline) to about 10 (progressive) scans per picture; 64 leaves room for
# camera JPEGs with several pictures and keeps the worst case at 40 megapixels near a second.
MAX_JPEG_SCANS = 64
_START_OF_SCAN = b"\xff\xda"  # cannot occur inside entropy-coded data (0xFF is stuffed there)
_STANDALONE_MARKERS = {0x00, 0x01, *range(0xD0, 0xDA)}  # no length follows these
# Pillow reads a JPEG's header segments and a PNG's chunks one at a time, in Python: millions
# of empty ones fit in 10 MB and take seconds. Cameras and editors write a few dozen segments
# (a large ICC profile or extended XMP: a few hundred); PNG encoders write pixel data in chunks
# of 8 KB or more, so a 10 MB PNG has about a thousand.
MAX_JPEG_SEGMENTS = 1_000
MAX_PNG_CHUNKS = 20_000

# How files that are not accepted begin, to say what they are: (prefix, what, is an image).
_SIGNATURES = (
    (b"%PDF", "a PDF document", False),
    (b"PK\x03\x04", "a ZIP archive", False),
    (b"II*\x00", "TIFF", True),
    (b"MM\x00*", "TIFF", True),
    (b"BM", "BMP", True),
    (b"\x00\x00\x01\x00", "ICO", True),
    (b"8BPS", "Photoshop (PSD)", True),
    (b"\x00\x00\x00\x0cjP  ", "JPEG 2000", True),
    (b"\xff\x4f\xff\x51", "JPEG 2000", True),
)
_ISO_BRANDS = {b"heic": "HEIC", b"heix": "HEIC", b"mif1": "HEIF", b"avif": "AVIF"}
_MARKUP = {b"<svg": "an SVG drawing", b"<html": "an HTML page", b"<!doctype html": "an HTML page"}


# Memory a photo takes while it is decoded, the bound on what one photo may cost: a WebP of
# 4096 x 4096 pixels, a PNG at the pixel limit. Pillow keeps 1, 2 or 4 bytes a pixel by mode;
# it decodes a WebP through libwebp's RGBA canvas and two copies of it, 16 bytes a pixel; a
# JPEG is decoded at 1/8 scale (measured with bench/photo_bombs.py).
MAX_DECODED_BYTES = 256 * 2**20
_WEBP_BYTES_PER_PIXEL = 16
_BYTES_PER_PIXEL = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16L": 2, "I;16B": 2}  # else 4

# What one request's photo checks may still decode, in bytes (None: no budget, outside a
# request; PhotoBudgetMiddleware opens one for each request).
_request_bytes_left: ContextVar[list[int] | None] = ContextVar("photo_bytes_left", default=None)


@contextmanager
def request_photo_budget(decoded_bytes: int) -> Iterator[None]:
    """Let the photos checked inside this block decode at most ``decoded_bytes`` in all: a
    request that carries many large photos (the admin's photo rows) is refused past that
    instead of keeping a worker busy for each of them."""
    token = _request_bytes_left.set([decoded_bytes])
    try:
        yield
    finally:
        _request_bytes_left.reset(token)


class InvalidImage(ValueError):
    """The bytes are not a photo we accept; the message says why, for the person who sent it."""


@dataclass(frozen=True)
class CheckedImage:
    data: bytes
    format: str
    width: int
    height: int
    sha256: str

    @property
    def extension(self) -> str:
        return ALLOWED_FORMATS[self.format]


def check_image(data: bytes) -> CheckedImage:
    """Decode ``data`` fully and return what it is, or raise ``InvalidImage`` saying why."""
    if not data:
        raise InvalidImage("the file is empty")
    if len(data) > MAX_IMAGE_BYTES:
        raise InvalidImage(f"the file is larger than {MAX_IMAGE_BYTES // (1024 * 1024)} MB")
    _check_structure(data)
    try:
        with Image.open(BytesIO(data), formats=list(ALLOWED_FORMATS)) as image:
            image_format = FORMAT_ALIASES.get(image.format, image.format)
            width, height = image.size
            _check_dimensions(width, height)
            _check_decoded_size(image)
            # A JPEG is read whole but its picture built at 1/8 scale: every byte is still
            # decoded (truncated and corrupt files fail the same), for a fraction of the work.
            # Other formats are decoded at full size, in their own mode (at most 4 bytes a
            # pixel), and nothing is converted or copied at that size.
            image.draft(image.mode, (1, 1))
            image.load()  # decodes every pixel (of the first frame): truncated files fail here
            image.getexif()  # reads EXIF as the encoder will
    except InvalidImage:
        raise
    except UnidentifiedImageError as error:
        raise InvalidImage(_not_accepted(data)) from error
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        # Pillow's own guard, at twice the limit (or at the limit where warnings are errors).
        raise InvalidImage(f"the image has far too many pixels; {_too_many_pixels()}") from error
    except Exception as error:
        # Pillow's readers fail on hostile bytes with many kinds of error (OSError, SyntaxError,
        # struct.error, IndexError, ...). Any of them here means the file cannot be used.
        raise InvalidImage(f"the image is corrupt or truncated ({error})") from error
    return CheckedImage(data, image_format, width, height, hashlib.sha256(data).hexdigest())


def image_extension(head: bytes) -> str:
    """The extension for an image that starts with ``head`` (its first 12 bytes at least),
    from its content: ``.jpg``, ``.png``, ``.webp``, ``.gif``, or ``""`` for anything else.
    Pillow tells these four formats apart by the same signatures."""
    if head.startswith(b"\xff\xd8\xff"):
        return ".jpg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return ".png"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return ".gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return ".webp"
    return ""


def _check_structure(data: bytes) -> None:
    """Refuse, before Pillow reads them, files whose structure alone costs seconds to read."""
    extension = image_extension(data[:12])
    if extension == ".jpg":
        if _jpeg_header_segments(data, limit=MAX_JPEG_SEGMENTS) > MAX_JPEG_SEGMENTS:
            raise InvalidImage(
                f"the JPEG has more than {MAX_JPEG_SEGMENTS} segments before its picture; "
                "save it again as an ordinary JPEG"
            )
        scans = data.count(_START_OF_SCAN)
        if scans > MAX_JPEG_SCANS:
            raise InvalidImage(
                f"the JPEG has {scans} scans (at most {MAX_JPEG_SCANS}); "
                "save it again as an ordinary JPEG"
            )
    elif extension == ".png" and _png_chunks(data, limit=MAX_PNG_CHUNKS) > MAX_PNG_CHUNKS:
        raise InvalidImage(
            f"the PNG has more than {MAX_PNG_CHUNKS} chunks; save it again as an ordinary PNG"
        )


def _jpeg_header_segments(data: bytes, *, limit: int) -> int:
    """How many markers (fill bytes included) a JPEG has before its first scan, counted up to
    one past ``limit``."""
    count, at = 0, 2
    while count <= limit:
        at = data.find(b"\xff", at)
        if at < 0 or at + 1 >= len(data):
            break
        marker = data[at + 1]
        count += 1
        if marker == 0xDA:  # start of scan: the header ends
            break
        if marker == 0xFF:  # a fill byte
            at += 1
        elif marker in _STANDALONE_MARKERS:
            at += 2
        else:  # a segment: its length (two bytes, itself included) follows the marker
            at += 2 + int.from_bytes(data[at + 2 : at + 4], "big")
    return count


def _png_chunks(data: bytes, *, limit: int) -> int:
    """How many chunks a PNG has, counted up to one past ``limit``."""
    count, at = 0, 8
    while at + 8 <= len(data) and count <= limit:
        count += 1
        if data[at + 4 : at + 8] == b"IEND":
            break
        at += 12 + int.from_bytes(data[at : at + 4], "big")  # length, type, data, CRC
    return count


def _check_dimensions(width: int, height: int) -> None:
    if width * height > MAX_IMAGE_PIXELS:
        raise InvalidImage(
            f"the image is {width} x {height} pixels ({width * height / 1e6:.0f} megapixels); "
            + _too_many_pixels()
        )
    if min(width, height) < MIN_IMAGE_SIDE:
        raise InvalidImage(
            f"the image is {width} x {height} pixels; a photo must be at least "
            f"{MIN_IMAGE_SIDE} pixels on each side"
        )


def decoded_bytes(image: Image.Image) -> int:
    """The memory that decoding ``image`` (opened, not loaded) takes, as ``check_image`` and
    the encoder decode it."""
    width, height = image.size
    if image.format in ("JPEG", "MPO"):
        return (width // 8 + 1) * (height // 8 + 1) * 4
    if image.format == "WEBP":
        return width * height * _WEBP_BYTES_PER_PIXEL
    return width * height * _BYTES_PER_PIXEL.get(image.mode, 4)


def _check_decoded_size(image: Image.Image) -> None:
    """Refuse a photo whose decoding alone would take more than ``MAX_DECODED_BYTES``, or
    more than its request has left, before a pixel is decoded."""
    cost = decoded_bytes(image)
    if cost > MAX_DECODED_BYTES:
        per_pixel = cost / (image.width * image.height)
        most = MAX_DECODED_BYTES / per_pixel / 1e6
        raise InvalidImage(
            f"the image is {image.width} x {image.height} pixels; a {image.format} photo can "
            f"have at most {most:.0f} megapixels (save it smaller, or as a JPEG)"
        )
    left = _request_bytes_left.get()
    if left is None:
        return
    if cost > left[0]:
        raise InvalidImage(
            "the photos sent at once are too large together; send them in several goes"
        )
    left[0] -= cost


def _too_many_pixels() -> str:
    return f"photos can have at most {MAX_IMAGE_PIXELS // 1_000_000} megapixels"


def _not_accepted(data: bytes) -> str:
    """Why bytes that none of the accepted formats' readers could open are refused."""
    if image_extension(data[:12]):
        return "the image is corrupt or truncated (its header cannot be read)"
    for prefix, what, is_image in _SIGNATURES:
        if data.startswith(prefix):
            if is_image:
                return f"{what} images are not accepted ({ACCEPTED})"
            return f"the file is not an image: it is {what} ({ACCEPTED})"
    if data[4:8] == b"ftyp" and data[8:12] in _ISO_BRANDS:
        return f"{_ISO_BRANDS[data[8:12]]} images are not accepted ({ACCEPTED})"
    start = data[:1024].lower()
    tags = sorted((start.find(tag), what) for tag, what in _MARKUP.items() if tag in start)
    if tags:  # the first tag says what it is: an HTML page may hold an <svg>, and vice versa
        return f"the file is not an image: it is {tags[0][1]} ({ACCEPTED})"
    return f"the file is not an image ({ACCEPTED})"
