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


# Home goods for a Shopify-format sample: nothing in them is fashion (no gender, no season).
HOME_ARTICLES = [
    ("Kitchen > Mugs", "Mug", "mug"),
    ("Decor > Vases", "Vase", "vase"),
    ("Lighting > Table Lamps", "Table Lamp", "lamp"),
    ("Textiles > Cushions", "Cushion", "cushion"),
    ("Kitchen > Bowls", "Bowl", "bowl"),
]
HOME_SIZES = ["Small", "Large"]
SHOPIFY_HEADER = [
    "Handle",
    "Title",
    "Body (HTML)",
    "Vendor",
    "Type",
    "Tags",
    "Published",
    "Option1 Name",
    "Option1 Value",
    "Variant SKU",
    "Variant Inventory Qty",
    "Variant Price",
    "Image Src",
    "Image Position",
    "Image Alt Text",
    "Status",
    "Colour (product.metafields.vitrine.colour)",  # as export_catalogue writes it
]


def write_sample_shopify_catalogue(
    folder: Path,
    *,
    photo_base_url: str = "",
    products: int = 40,
    photos_per_product: int = 3,
    seed: int = 0,
) -> Path:
    """Write ``products`` home goods as a Shopify product export, ``folder/products.csv``, with
    ``photos_per_product`` photos each in ``folder/photos`` (a front view, a turned and nearer
    view, a close-up of the pattern), given as URLs under ``photo_base_url`` (without one, as
    paths beside the file); return the CSV.

    Each product has its own pattern and two sizes as variants, so that products look apart
    and a photo search by any of a product's photos has one right answer."""
    rng = random.Random(seed)
    photos = folder / "photos"
    photos.mkdir(parents=True, exist_ok=True)
    colours = list(COLOURS.items())
    lines = []
    for number in range(products):
        category, noun, shape = HOME_ARTICLES[number % len(HOME_ARTICLES)]
        colour, rgb = colours[(number // len(HOME_ARTICLES)) % len(colours)]
        handle = f"{colour}-{noun}-{number}".lower().replace(" ", "-")
        title = f"{colour} {noun} No. {number}"
        front = _draw_home(shape, rgb, _pattern(rng))
        views = [front, _turned(front, rng), _detail(front)][:photos_per_product]
        sources = []
        for position, view in enumerate(views, start=1):
            name = f"{handle}-{position}.jpg"
            view.save(photos / name, quality=88)
            base = f"{photo_base_url.rstrip('/')}/" if photo_base_url else ""
            sources.append(f"{base}photos/{name}")
        price = rng.randrange(12, 90)
        body = (
            f"<p>A {colour.lower()} {noun.lower()}, made to last.</p><ul><li>{category}</li></ul>"
        )
        for index, size in enumerate(HOME_SIZES):
            first = index == 0
            lines.append(
                [
                    handle,
                    title if first else "",
                    body if first else "",
                    "Vitrine Home" if first else "",
                    category if first else "",
                    f"{noun.lower()}, {colour.lower()}" if first else "",
                    "TRUE" if first else "",
                    "Size" if first else "",
                    size,
                    f"{handle}-{size[0]}".upper(),
                    rng.randrange(0, 20),
                    f"{price + 10 * index}.00",
                    sources[0] if first else (sources[1] if len(sources) > 1 else ""),
                    1 if first else (2 if len(sources) > 1 else ""),
                    title if first else "",
                    "active" if first else "",
                    colour if first else "",
                ]
            )
        for position, source in enumerate(sources[2:], start=3):
            lines.append([handle, *[""] * 11, source, position, "", "", ""])
    path = folder / "products.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(SHOPIFY_HEADER)
        writer.writerows(lines)
    return path


def _pattern(rng: random.Random) -> dict:
    return {
        "kind": rng.choice(["stripes", "dots", "band", "checks"]),
        "count": rng.randrange(2, 9),
        "accent": tuple(rng.randrange(0, 256) for _ in range(3)),
        "angle": rng.randrange(-30, 31),
    }


def _draw_home(shape: str, rgb: tuple[int, int, int], pattern: dict) -> Image.Image:
    image = Image.new("RGB", (240, 240), "white")
    body = Image.new("RGB", (240, 240), rgb)
    _paint_pattern(body, pattern)
    mask = Image.new("L", (240, 240), 0)
    draw = ImageDraw.Draw(mask)
    if shape == "mug":
        draw.rounded_rectangle([(55, 60), (165, 200)], radius=10, fill=255)
        draw.arc([(140, 90), (200, 160)], start=270, end=90, fill=255, width=12)
    elif shape == "vase":
        draw.polygon(
            [
                (95, 30),
                (145, 30),
                (135, 70),
                (185, 150),
                (150, 215),
                (90, 215),
                (55, 150),
                (105, 70),
            ],
            fill=255,
        )
    elif shape == "lamp":
        draw.polygon([(70, 40), (170, 40), (195, 120), (45, 120)], fill=255)
        draw.rectangle([(112, 120), (128, 190)], fill=255)
        draw.ellipse([(75, 185), (165, 215)], fill=255)
    elif shape == "cushion":
        draw.rounded_rectangle([(35, 55), (205, 190)], radius=35, fill=255)
    else:  # bowl
        draw.chord([(30, 40), (210, 210)], start=0, end=180, fill=255)
    image.paste(body, mask=mask)
    return image


def _paint_pattern(image: Image.Image, pattern: dict) -> None:
    draw = ImageDraw.Draw(image)
    step = 240 // (pattern["count"] + 1)
    accent = pattern["accent"]
    if pattern["kind"] == "stripes":
        for i in range(pattern["count"]):
            draw.rectangle([(0, step * (i + 1) - 4), (240, step * (i + 1) + 4)], fill=accent)
    elif pattern["kind"] == "dots":
        for i in range(1, pattern["count"] + 1):
            for j in range(1, pattern["count"] + 1):
                draw.ellipse(
                    [(i * step - 5, j * step - 5), (i * step + 5, j * step + 5)], fill=accent
                )
    elif pattern["kind"] == "band":
        draw.rectangle([(0, 100), (240, 100 + 8 * pattern["count"])], fill=accent)
    else:
        for i in range(pattern["count"]):
            draw.rectangle([(step * (i + 1) - 3, 0), (step * (i + 1) + 3, 240)], fill=accent)
            draw.rectangle([(0, step * (i + 1) - 3), (240, step * (i + 1) + 3)], fill=accent)
    rotated = image.rotate(
        pattern["angle"], resample=Image.Resampling.BILINEAR, expand=False, fillcolor=accent
    )
    image.paste(rotated)


def _turned(front: Image.Image, rng: random.Random) -> Image.Image:
    """The product seen again: turned a little, nearer, off centre."""
    angle = rng.choice([-12, -8, 8, 12])
    turned = front.rotate(angle, resample=Image.Resampling.BICUBIC, fillcolor="white")
    zoomed = turned.resize((288, 288), Image.Resampling.BICUBIC)
    offset = rng.randrange(0, 48)
    return zoomed.crop((offset, 24, offset + 240, 264))


def _detail(front: Image.Image) -> Image.Image:
    """A close-up: the middle of the product, enlarged."""
    return front.crop((60, 60, 180, 180)).resize((240, 240), Image.Resampling.BICUBIC)
