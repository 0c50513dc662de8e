"""Reading product photos safely: the one place that decides whether bytes are a usable image."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from io import BytesIO

from PIL import Image, UnidentifiedImageError

ALLOWED_FORMATS = {"JPEG": ".jpg", "PNG": ".png", "WEBP": ".webp", "GIF": ".gif"}
MAX_IMAGE_BYTES = 10 * 1024 * 1024
# Pillow refuses images over twice this many pixels and warns above it; a product photo
# never needs more than ~40 megapixels. Set here on purpose, not left to Pillow's default.
MAX_IMAGE_PIXELS = 40_000_000
Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS


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
    """Decode ``data`` fully and return what it is, or raise ``InvalidImage``."""
    if not data:
        raise InvalidImage("the file is empty")
    if len(data) > MAX_IMAGE_BYTES:
        raise InvalidImage(f"the file is larger than {MAX_IMAGE_BYTES // (1024 * 1024)} MB")
    try:
        with Image.open(BytesIO(data)) as image:
            if image.format not in ALLOWED_FORMATS:
                raise InvalidImage(
                    f"{image.format} images are not accepted (use JPEG, PNG, WebP or GIF)"
                )
            image.load()  # decodes every pixel: truncated and corrupt files fail here
            width, height = image.size
    except InvalidImage:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError) as error:
        raise InvalidImage(_describe(error)) from error
    except (OSError, SyntaxError, ValueError, EOFError) as error:
        raise InvalidImage(f"the image is corrupt or truncated ({error})") from error
    return CheckedImage(data, image.format, width, height, hashlib.sha256(data).hexdigest())


def _describe(error: Exception) -> str:
    if isinstance(error, Image.DecompressionBombError):
        return "the image has too many pixels"
    return "the file is not an image"
