"""What reading one uploaded photo costs (tests/security/photo_cost.py): the upload check and
the encoder's decoding, as a search by photo does them, each photo in a fresh process.

    .venv/bin/python -m bench.photo_bombs

The photos: the "small files that decode huge" of tests/security/hostile_images.py (a few
kilobytes, up to 40 megapixels) beside real-sized photos for scale.
"""

from __future__ import annotations

from io import BytesIO

from PIL import Image

from tests.security.hostile_images import KINDS, PHOTO_BOMBS, noise
from tests.security.photo_cost import photo_cost


def encoded(image: Image.Image, fmt: str, **params) -> bytes:
    buffer = BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def photos() -> dict[str, bytes]:
    return {
        **{name: KINDS[name].data for name in PHOTO_BOMBS},
        "jpeg 12 MP (a phone photo)": encoded(noise((4000, 3000)), "JPEG", quality=90),
        "png 2 MP (a screenshot)": encoded(Image.effect_noise((1600, 1200), 40), "PNG"),
    }


def main() -> None:
    print("| photo | bytes | check ms | decode ms | peak MiB above the process |")
    print("|---|---:|---:|---:|---:|")
    for name, data in photos().items():
        cost = photo_cost(data)
        label = f"{name} (refused: {cost.refused})" if cost.refused else name
        figures = f"{cost.check_seconds * 1000:.0f} | {cost.decode_seconds * 1000:.0f}"
        print(f"| {label} | {len(data):,} | {figures} | {cost.peak_bytes / 2**20:.0f} |")


if __name__ == "__main__":
    main()
