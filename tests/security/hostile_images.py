"""A corpus of hostile and unusual uploads, made on the fly: one function per kind.

Each kind is registered with the outcome every upload path must give it: ``accepted`` (a
photo, stored or searched for) or refused with a ``reason``, words the message shown to the
person who sent it must contain. ``filename`` is what the client calls the file: often a lie,
since the name and declared type must never decide anything.
"""

from __future__ import annotations

import base64
import functools
import random
import struct
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from io import BytesIO

from PIL import Image

from shop.images import (
    MAX_IMAGE_BYTES,
    MAX_IMAGE_PIXELS,
    MAX_JPEG_SCANS,
    MAX_JPEG_SEGMENTS,
    MAX_PNG_CHUNKS,
    MIN_IMAGE_SIDE,
)


@dataclass(frozen=True)
class Kind:
    name: str
    make: Callable[[], bytes]
    accepted: bool
    reason: str  # for refused kinds: what the message must say (case is ignored)
    filename: str

    @property
    def data(self) -> bytes:
        return self.make()

    def __str__(self) -> str:
        return self.name


KINDS: dict[str, Kind] = {}


def _kind(*, accepted: bool = False, reason: str = "", filename: str = "photo.jpg"):
    assert accepted != bool(reason), "a kind is accepted, or refused for a reason"

    def register(make: Callable[[], bytes]) -> Callable[[], bytes]:
        cached = functools.cache(make)
        KINDS[make.__name__] = Kind(make.__name__, cached, accepted, reason, filename)
        return cached

    return register


# Building blocks ---------------------------------------------------------------------------


def encoded(image: Image.Image, fmt: str, **params) -> bytes:
    buffer = BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def product_photo(size=(96, 128), colour=(30, 90, 200), mode="RGB") -> Image.Image:
    """A product on a white background, like the catalogue's photos."""
    image = Image.new("RGB", size, (255, 255, 255))
    width, height = size
    image.paste(colour, (width // 4, height // 5, 3 * width // 4, 4 * height // 5))
    return image.convert(mode)


def noise(size=(300, 300)) -> Image.Image:
    """Detailed content: a truncated or bit-flipped file of it breaks in its pixel data."""
    return Image.effect_noise(size, 60).convert("RGB")


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_raw(width: int, height: int, *, bit_depth: int, colour_type: int, rows: bytes) -> bytes:
    """A PNG written by hand, for what Pillow will not write (16-bit RGB, huge sizes)."""
    header = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", rows)
        + png_chunk(b"IEND", b"")
    )


def blank_png(width: int, height: int) -> bytes:
    """A 1-bit black PNG of any size: a few hundred kilobytes even at 400 megapixels."""
    compressor = zlib.compressobj(9)
    row = b"\x00" * (1 + (width + 7) // 8)  # filter byte, then 8 pixels a byte
    rows = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    return png_raw(width, height, bit_depth=1, colour_type=0, rows=rows)


def jpeg_with_size(data: bytes, width: int, height: int) -> bytes:
    """``data`` (a JPEG) with the size in its frame header replaced: a lie about its pixels."""
    for sof in (b"\xff\xc0", b"\xff\xc2"):
        at = data.find(sof)
        if at >= 0:
            start = at + 5  # marker (2), length (2), precision (1), then height and width
            return data[:start] + struct.pack(">HH", height, width) + data[start + 4 :]
    raise ValueError("no frame header")


def jpeg_scans(data: bytes) -> tuple[bytes, list[bytes]]:
    """A JPEG's bytes before its first scan, and each scan (header and entropy-coded data)."""
    first = data.index(b"\xff\xda")
    return data[:first], [b"\xff\xda" + part for part in data[first:-2].split(b"\xff\xda")[1:]]


def exif_segment(tiff: bytes) -> bytes:
    payload = b"Exif\x00\x00" + tiff
    return b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload


def after_soi(jpeg: bytes, segment: bytes) -> bytes:
    return jpeg[:2] + segment + jpeg[2:]


def flip_bits(data: bytes, *, start: int, end: int, count: int, seed: int) -> bytes:
    rng = random.Random(seed)
    mutated = bytearray(data)
    for _ in range(count):
        mutated[rng.randrange(start, end)] ^= 1 << rng.randrange(8)
    return bytes(mutated)


def a_jpeg() -> bytes:
    return encoded(product_photo(), "JPEG", quality=90)


def a_png() -> bytes:
    return encoded(product_photo(), "PNG")


def a_zip(*members: tuple[str, bytes]) -> bytes:
    buffer = BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members:
            archive.writestr(name, data)
    return buffer.getvalue()


SCRIPT = b"<script>alert(document.cookie)</script>"


# Photos, some of them unusual: accepted -----------------------------------------------------


@_kind(accepted=True)
def jpeg_photo() -> bytes:
    return a_jpeg()


@_kind(accepted=True, filename="photo.gif")  # the name lies: the content decides
def png_with_transparency() -> bytes:
    image = Image.new("RGBA", (96, 128), (0, 0, 0, 0))
    image.paste((200, 30, 30, 255), (24, 24, 72, 104))
    return encoded(image, "PNG")


@_kind(accepted=True, filename="photo.webp")
def webp_photo() -> bytes:
    return encoded(product_photo(colour=(20, 160, 60)), "WEBP", quality=80)


@_kind(accepted=True, filename="dance.gif")
def animated_gif() -> bytes:
    frames = [product_photo(colour=colour).convert("P") for colour in ((200, 0, 0), (0, 0, 200))]
    return encoded(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)


@_kind(accepted=True, filename="print.jpg")
def cmyk_jpeg() -> bytes:
    return encoded(product_photo(mode="CMYK"), "JPEG", quality=90)


@_kind(accepted=True, filename="scan.png")
def png_16_bit_grey() -> bytes:
    image = Image.new("I;16", (96, 128), 65535)
    image.paste(12000, (24, 24, 72, 104))
    return encoded(image, "PNG")


@_kind(accepted=True, filename="scan.png")
def png_16_bit_rgb() -> bytes:
    white, blue = b"\xff\xff" * 3, b"\x10\x00\x30\x00\xc0\x00"
    rows = b"".join(b"\x00" + (white * 16 + blue * 32 + white * 16) for _ in range(64))
    return png_raw(64, 64, bit_depth=16, colour_type=2, rows=zlib.compress(rows))


@_kind(accepted=True)
def progressive_jpeg() -> bytes:
    return encoded(product_photo(), "JPEG", quality=85, progressive=True)


@_kind(accepted=True, filename="IMG_0001.JPG")
def camera_mpo_jpeg() -> bytes:
    """A camera JPEG with a second picture (a depth map, say): Pillow's "MPO"."""
    second = product_photo(colour=(90, 90, 90))
    return encoded(product_photo(), "MPO", save_all=True, append_images=[second])


@_kind(accepted=True)
def exif_bomb_jpeg() -> bytes:
    """EXIF whose directories loop back on themselves and whose tags claim gigabytes.

    Accepted: only the orientation is read from EXIF, by Pillow, which reads the one 64 KB
    segment, skips tags that point outside it and does not follow directory loops."""
    count = 4_000  # 48 KB of directory entries
    entries = [struct.pack(">HHII", 0x0112, 3, 1, 6 << 16)]  # orientation: rotate 90
    for tag in (0x8769, 0x8825, 0xA005):  # Exif, GPS and interoperability IFDs: IFD0 itself
        entries.append(struct.pack(">HHII", tag, 4, 1, 8))
    for number in range(count - len(entries)):
        entries.append(struct.pack(">HHII", 0x9000 + number, 4, 0x3FFF_FFFF, 8))
    entries.sort()
    tiff = b"MM\x00*" + struct.pack(">IH", 8, count) + b"".join(entries) + struct.pack(">I", 8)
    return after_soi(a_jpeg(), exif_segment(tiff))


@_kind(accepted=True, filename="noextension")
def greyscale_jpeg() -> bytes:
    return encoded(product_photo(mode="L"), "JPEG")


@_kind(accepted=True, filename="icon.png")
def smallest_accepted_png() -> bytes:
    return encoded(product_photo(size=(MIN_IMAGE_SIDE, MIN_IMAGE_SIDE)), "PNG")


# Image-first polyglots: images by their content, accepted and only ever served as images.


@_kind(accepted=True, filename="page.html")
def polyglot_jpeg_then_html() -> bytes:
    return a_jpeg() + b"<!doctype html><html><body>" + SCRIPT + b"</body></html>"


@_kind(accepted=True, filename="photo.gif")
def polyglot_gif_then_zip() -> bytes:
    """A "GIFAR": a GIF that is also a ZIP archive (read from its end)."""
    gif = encoded(product_photo().convert("P"), "GIF")
    return gif + a_zip(("evil.html", b"<html>" + SCRIPT + b"</html>"))


@_kind(accepted=True, filename="app.js")
def polyglot_png_then_script() -> bytes:
    return a_png() + b"\n" + SCRIPT


@_kind(accepted=True, filename="photo.svg")
def polyglot_jpeg_script_in_comment() -> bytes:
    comment = b"<html>" + SCRIPT + b"</html>"
    return after_soi(a_jpeg(), b"\xff\xfe" + struct.pack(">H", len(comment) + 2) + comment)


# Not images, or not images we take: refused ------------------------------------------------


@_kind(reason="empty")
def zero_bytes() -> bytes:
    return b""


@_kind(reason="not an image")
def text_file_named_jpg() -> bytes:
    return b"Shopping list: milk, eggs, a blue shirt.\n"


@_kind(reason="not an image")
def random_bytes() -> bytes:
    return random.Random(8).randbytes(4096)


@_kind(reason="SVG", filename="logo.svg")
def svg_drawing() -> bytes:
    return (
        b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64">'
        b'<rect width="64" height="64" fill="red"/></svg>'
    )


@_kind(reason="SVG")
def polyglot_svg_with_script_and_png() -> bytes:
    """Content-first: an SVG (which runs scripts when opened) with a real PNG inside."""
    inside = base64.b64encode(a_png())
    return (
        b'<svg xmlns="http://www.w3.org/2000/svg" width="96" height="128">'
        + SCRIPT
        + b'<image width="96" height="128" href="data:image/png;base64,'
        + inside
        + b'"/></svg>'
    )


@_kind(reason="HTML")
def html_page() -> bytes:
    return (
        b"<!DOCTYPE html>\n<html><head><title>x</title></head><body>" + SCRIPT + b"</body></html>"
    )


@_kind(reason="HTML")
def polyglot_html_then_jpeg() -> bytes:
    """Content-first: an HTML page with a whole JPEG after it."""
    return b"<html><body><img src=x onerror=alert(1)>" + SCRIPT + b"</body></html>" + a_jpeg()


@_kind(reason="PDF", filename="catalogue.pdf")
def pdf_document() -> bytes:
    return b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<</Type/Catalogue>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


@_kind(reason="PDF")
def polyglot_pdf_with_jpeg_inside() -> bytes:
    """Content-first: a PDF whose page image is a JPEG stream."""
    jpeg = a_jpeg()
    head = (
        b"%PDF-1.4\n1 0 obj<</Type/XObject/Subtype/Image/Width 96/Height 128/ColorSpace"
        b"/DeviceRGB/BitsPerComponent 8/Filter/DCTDecode/Length "
        + str(len(jpeg)).encode()
        + b">>stream\n"
    )
    return head + jpeg + b"\nendstream endobj\ntrailer<<>>\n%%EOF\n"


@_kind(reason="ZIP")
def zip_with_a_photo_inside() -> bytes:
    return a_zip(("photo.jpg", a_jpeg()))


@_kind(reason="TIFF", filename="photo.tif")
def tiff_photo() -> bytes:
    return encoded(product_photo(), "TIFF")


@_kind(reason="BMP")
def bmp_photo() -> bytes:
    return encoded(product_photo(), "BMP")


@_kind(reason="ICO", filename="favicon.ico")
def ico_icon() -> bytes:
    return encoded(product_photo(size=(32, 32)), "ICO")


@_kind(reason="HEIC", filename="IMG_0002.HEIC")
def heic_header() -> bytes:
    """What an iPhone sends by default (only its header: Pillow cannot write HEIC)."""
    box = b"ftypheic" + b"\x00\x00\x00\x00" + b"mif1heic"
    return struct.pack(">I", len(box) + 4) + box + random.Random(2).randbytes(2000)


@_kind(reason="corrupt or truncated")
def truncated_jpeg() -> bytes:
    data = encoded(noise(), "JPEG", quality=90)
    return data[: len(data) // 2]


@_kind(reason="corrupt or truncated", filename="photo.png")
def truncated_png() -> bytes:
    data = encoded(noise(), "PNG")
    return data[: len(data) // 2]


@_kind(reason="corrupt or truncated", filename="photo.png")
def bit_flipped_png() -> bytes:
    """Flipped bits in the compressed pixels: the decompressor finds the stream broken."""
    data = encoded(noise((200, 200)), "PNG")
    idat = data.index(b"IDAT") + 4
    return flip_bits(data, start=idat + 2, end=idat + 200, count=40, seed=1)


@_kind(reason="corrupt or truncated")
def corrupt_jpeg_tables() -> bytes:
    """Huffman tables whose code counts are all set: the decoder cannot even start."""
    data = encoded(noise((64, 64)), "JPEG", quality=90)
    tables = data.index(b"\xff\xc4") + 5  # DHT: the code counts, then the symbols
    return data[:tables] + b"\xff" * 16 + data[tables + 16 :]


@_kind(reason="corrupt or truncated")
def jpeg_header_then_garbage() -> bytes:
    return b"\xff\xd8\xff\xe0" + random.Random(3).randbytes(3000)


@_kind(reason=f"at least {MIN_IMAGE_SIDE} pixels", filename="pixel.png")
def png_1x1() -> bytes:
    return encoded(Image.new("RGB", (1, 1), (255, 0, 0)), "PNG")


@_kind(reason=f"at least {MIN_IMAGE_SIDE} pixels", filename="track.gif")
def gif_1x1_tracking_pixel() -> bytes:
    return encoded(Image.new("P", (1, 1), 0), "GIF")


@_kind(reason="megapixels", filename="bomb.png")
def png_20000x20000() -> bytes:
    """400 megapixels in 50 KB: a decompression bomb (Pillow's own guard stops it too)."""
    return blank_png(20_000, 20_000)


@_kind(reason="megapixels", filename="big.png")
def png_between_1x_and_2x_the_pixel_limit() -> bytes:
    """49 megapixels: over our limit, under twice it, where Pillow only warns."""
    side = int((1.2 * MAX_IMAGE_PIXELS) ** 0.5) + 1
    return blank_png(side, side)


@_kind(reason="megapixels")
def jpeg_claiming_48_megapixels() -> bytes:
    return jpeg_with_size(a_jpeg(), 8000, 6000)


@_kind(reason="megapixels", filename="big.gif")
def gif_with_a_huge_screen() -> bytes:
    data = bytearray(encoded(product_photo().convert("P"), "GIF"))
    data[6:10] = struct.pack("<HH", 8000, 8000)  # logical screen: 64 megapixels
    return bytes(data)


@_kind(reason="megapixels", filename="big.webp")
def webp_with_a_huge_canvas() -> bytes:
    frames = [product_photo(colour=colour) for colour in ((200, 0, 0), (0, 0, 200))]
    data = bytearray(encoded(frames[0], "WEBP", save_all=True, append_images=frames[1:]))
    assert data[12:16] == b"VP8X"
    data[24:30] = (8000 - 1).to_bytes(3, "little") * 2  # canvas: 64 megapixels
    return bytes(data)


@_kind(reason="scans")
def jpeg_scan_bomb() -> bytes:
    """A progressive JPEG whose refinement scan repeats two thousand times: each repeat makes
    the decoder go over the whole 16-megapixel picture again. 150 KB, over 10 s to decode."""
    data = encoded(Image.new("RGB", (4000, 4000), "white"), "JPEG", progressive=True)
    header, scans = jpeg_scans(data)
    # A refinement scan of one component: Ns = 1, Ss > 0 and Ah > 0.
    refinement = next(scan for scan in scans if scan[4] == 1 and scan[7] > 0 and scan[9] >> 4)
    repeats = 30 * MAX_JPEG_SCANS
    return header + b"".join(scans) + refinement * repeats + b"\xff\xd9"


# Small files that decode huge: real sizes (under the pixel limit), a few kilobytes each, that
# once took seconds and a gigabyte to read. Accepted, and bounded by decoding them reduced.
BOMB_SIDE = int(MAX_IMAGE_PIXELS**0.5)  # 6324 x 6324: just under the limit


def flat_png(*, bit_depth: int, colour_type: int, channels: int, side: int = BOMB_SIDE) -> bytes:
    """A PNG of one flat colour written row by row: megabytes of pixels in kilobytes."""
    compressor = zlib.compressobj(9)
    row = b"\x00" + b"\x80" * (side * channels * bit_depth // 8)
    rows = b"".join(compressor.compress(row) for _ in range(side)) + compressor.flush()
    return png_raw(side, side, bit_depth=bit_depth, colour_type=colour_type, rows=rows)


@_kind(reason="WEBP photo can have at most", filename="bomb.webp")
def webp_lossless_40_megapixels() -> bytes:
    """The review's 1,592-byte lossless WebP: 6324 x 6324 pixels, which Pillow decodes through
    600 MB. WebPs are held to what fits the decoding bound (4096 x 4096)."""
    return encoded(Image.new("RGB", (BOMB_SIDE, BOMB_SIDE), "white"), "WEBP", lossless=True)


@_kind(accepted=True, filename="bomb.webp")
def webp_lossless_16_megapixels() -> bytes:
    """The largest WebP accepted, in a few hundred bytes."""
    return encoded(Image.new("RGB", (4096, 4096), "white"), "WEBP", lossless=True)


@_kind(accepted=True, filename="bomb.png")
def png_16_bit_grey_40_megapixels() -> bytes:
    """The review's 16-bit PNG: once converted through float64 at full size (320 MB)."""
    return flat_png(bit_depth=16, colour_type=0, channels=1)


@_kind(accepted=True, filename="bomb.png")
def png_16_bit_rgba_40_megapixels() -> bytes:
    return flat_png(bit_depth=16, colour_type=6, channels=4)


@_kind(accepted=True, filename="bomb.png")
def png_rgba_40_megapixels() -> bytes:
    return flat_png(bit_depth=8, colour_type=6, channels=4)


@_kind(accepted=True, filename="bomb.gif")
def gif_40_megapixels() -> bytes:
    return encoded(Image.new("P", (BOMB_SIDE, BOMB_SIDE), 3), "GIF")


PHOTO_BOMBS = [
    "webp_lossless_40_megapixels",
    "webp_lossless_16_megapixels",
    "png_16_bit_grey_40_megapixels",
    "png_16_bit_rgba_40_megapixels",
    "png_rgba_40_megapixels",
    "gif_40_megapixels",
]


# Floods of tiny pieces, which Pillow reads one at a time in Python: 10 MB of them take it
# seconds. These are a fifth of that, refused by count before Pillow reads them.
FLOOD_BYTES = 2 * 1024 * 1024


@_kind(reason="segments")
def jpeg_segment_flood() -> bytes:
    """Empty APP1 segments, half a million of them, before the picture."""
    empty_app1 = b"\xff\xe1\x00\x02"
    assert FLOOD_BYTES // 4 > MAX_JPEG_SEGMENTS
    data = a_jpeg()
    return data[:2] + empty_app1 * (FLOOD_BYTES // 4) + data[2:]


@_kind(reason="segments")
def jpeg_fill_byte_flood() -> bytes:
    """0xFF fill bytes, which may pad markers: two million of them."""
    data = a_jpeg()
    return data[:2] + b"\xff" * FLOOD_BYTES + data[2:]


@_kind(reason="chunks", filename="photo.png")
def png_chunk_flood() -> bytes:
    """Tiny text chunks, a hundred and fifty thousand of them, before the pixels."""
    chunk = png_chunk(b"tEXt", b"a\x00b")
    assert FLOOD_BYTES // len(chunk) > MAX_PNG_CHUNKS
    data = a_png()
    at = data.index(b"IDAT") - 4
    return data[:at] + chunk * (FLOOD_BYTES // len(chunk)) + data[at:]


@_kind(reason="corrupt or truncated", filename="notes.png")
def png_text_chunk_bomb() -> bytes:
    """A compressed text chunk that inflates to 100 MB, before the pixels."""
    text = b"Comment\x00\x00" + zlib.compress(b"\x00" * 100_000_000, 9)
    data = a_png()
    at = data.index(b"IDAT") - 4
    return data[:at] + png_chunk(b"zTXt", text) + data[at:]


@_kind(reason="10 MB")
def over_10_mb() -> bytes:
    """A real JPEG padded past the limit: refused for its size alone, before decoding."""
    data = a_jpeg()
    return data + b"\x00" * (MAX_IMAGE_BYTES + 1 - len(data))
