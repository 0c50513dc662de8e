"""A small catalogue drawn on the spot, so that a first run has products without any download.

Written in the Kaggle layout, so it goes through the same import as a real catalogue.
"""

import csv
import random
from pathlib import Path

from PIL import Image, ImageDraw

# (master, sub, article type, shape) — the shape is what the drawing looks like.
ARTICLES = [
    ("Apparel", "Topwear", "Tshirts", "tshirt"),
    ("Apparel", "Bottomwear", "Trousers", "trousers"),
    ("Footwear", "Shoes", "Casual Shoes", "shoe"),
    ("Accessories", "Bags", "Handbags", "bag"),
]
COLOURS = {
    "Black": (30, 30, 30),
    "White": (235, 235, 235),
    "Red": (200, 40, 40),
    "Blue": (40, 80, 190),
    "Green": (40, 140, 70),
    "Yellow": (230, 200, 40),
}
GENDERS = ["Men", "Women"]


def write_sample_catalogue(folder: Path, *, seed: int = 0) -> Path:
    """Write 48 products (4 article types x 6 colours x 2 genders) to ``folder``; return it."""
    rng = random.Random(seed)
    images = folder / "images"
    images.mkdir(parents=True, exist_ok=True)
    header = [
        "id",
        "gender",
        "masterCategory",
        "subCategory",
        "articleType",
        "baseColour",
        "season",
        "year",
        "usage",
        "productDisplayName",
        "price",
    ]
    rows = []
    next_id = 1
    for master, sub, article, shape in ARTICLES:
        for colour, rgb in COLOURS.items():
            for gender in GENDERS:
                _draw(shape, rgb).save(images / f"{next_id}.jpg", quality=90)
                title = f"Vitrine {gender} {colour} {article.rstrip('s')}"
                price = f"{rng.randrange(15, 120)}.{rng.choice(['00', '50', '99'])}"
                rows.append(
                    [
                        next_id,
                        gender,
                        master,
                        sub,
                        article,
                        colour,
                        "Summer",
                        2024,
                        "Casual",
                        title,
                        price,
                    ]
                )
                next_id += 1
    with (folder / "styles.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return folder


def _draw(shape: str, rgb: tuple[int, int, int]) -> Image.Image:
    image = Image.new("RGB", (240, 320), "white")
    draw = ImageDraw.Draw(image)
    outline = tuple(max(c - 60, 0) for c in rgb)
    if shape == "tshirt":
        draw.polygon(
            [
                (60, 70),
                (95, 55),
                (145, 55),
                (180, 70),
                (215, 120),
                (185, 140),
                (175, 125),
                (175, 270),
                (65, 270),
                (65, 125),
                (55, 140),
                (25, 120),
            ],
            fill=rgb,
            outline=outline,
            width=3,
        )
    elif shape == "trousers":
        draw.polygon(
            [(70, 40), (170, 40), (185, 290), (135, 290), (120, 120), (105, 290), (55, 290)],
            fill=rgb,
            outline=outline,
            width=3,
        )
    elif shape == "shoe":
        draw.polygon(
            [(30, 200), (40, 150), (100, 150), (150, 185), (210, 200), (215, 235), (30, 235)],
            fill=rgb,
            outline=outline,
            width=3,
        )
        draw.rectangle([(30, 235), (215, 245)], fill=(60, 60, 60))
    else:
        draw.rounded_rectangle(
            [(45, 130), (195, 280)], radius=18, fill=rgb, outline=outline, width=3
        )
        draw.arc([(80, 70), (160, 170)], start=180, end=360, fill=outline, width=8)
    return image
