"""Shopify's product CSV export, read as Shopify documents it
(https://help.shopify.com/en/manual/products/import-export/using-csv): one product per Handle
across its lines, the first line with the product's fields, each variant and photo on a line.

Where it differs from a generic file: the option names are on the product's first line
(Option1 Name ...), photos carry a position and alt text (Image Src, Image Position, Image Alt
Text, Variant Image), the category is the Product Category path or else the Type, Status
(or Published) says whether the product is shown, and the single variant Shopify gives a
product without options ("Title" / "Default Title") is the product itself.
"""

from __future__ import annotations

from shop.catalogue_formats.mapped import Line, MappedCatalogue, Mapping
from shop.catalogue_formats.rows import PhotoRef, choice_parse
from shop.models import Gender

HANDLE, TITLE = "Handle", "Title"
OPTION_NAME, OPTION_VALUE = "Option{} Name", "Option{} Value"
IMAGE_SRC, IMAGE_POSITION, IMAGE_ALT, VARIANT_IMAGE = (
    "Image Src",
    "Image Position",
    "Image Alt Text",
    "Variant Image",
)
# The option Shopify gives a product that has none (its value: "Default Title").
DEFAULT_OPTION_NAME = "Title"
GOOGLE_GENDER = {"male": "Men", "female": "Women", "unisex": "Unisex"}

# Fields Shopify has no column for, as metafield columns (written by export_catalogue).
METAFIELDS = {
    f"{name.title()} (product.metafields.vitrine.{name})": name
    for name in ("colour", "gender", "season", "usage", "year")
}
EXPORT_HEADER = [
    HANDLE,
    TITLE,
    "Body (HTML)",
    "Vendor",
    "Type",
    "Tags",
    "Published",
    *(f"Option{i} {part}" for i in range(1, 4) for part in ("Name", "Value")),
    "Variant SKU",
    "Variant Inventory Qty",
    "Variant Price",
    "Variant Compare At Price",
    IMAGE_SRC,
    IMAGE_POSITION,
    IMAGE_ALT,
    "Status",
    *METAFIELDS,
]

MAPPING = Mapping(
    fields={
        "id": HANDLE,
        "title": TITLE,
        "description_html": "Body (HTML)",
        "price": "Variant Price",
        "compare_at_price": "Variant Compare At Price",
        "stock": "Variant Inventory Qty",
        "sku": "Variant SKU",
        **{name: column for column, name in METAFIELDS.items() if name != "gender"},
    },
    photos=[IMAGE_SRC, VARIANT_IMAGE],
    options={},
    attributes=["Vendor", "Tags", "Type"],
)
OPTIONAL_FIELDS = {
    "Variant Price": "price",
    "Variant Inventory Qty": "stock",
    "Variant Compare At Price": "compare_at_price",
    "Variant SKU": "sku",
}


def is_shopify_header(header: list[str]) -> bool:
    return {HANDLE, TITLE} <= set(header) and bool(
        {"Body (HTML)", "Variant Price", IMAGE_SRC, OPTION_NAME.format(1)} & set(header)
    )


class ShopifyCatalogue(MappedCatalogue):
    format_name = "Shopify"

    def __init__(self, path, mapping: Mapping | None = None):
        super().__init__(path, mapping or MAPPING)
        self.header: list[str] = []

    def check_header(self, header: list[str]) -> None:
        super().check_header(header)
        self.header = header
        # Exports leave out what a shop does not use (inventory, compare-at prices, Status).
        fields = {k: v for k, v in self.mapping.fields.items() if v in header or k in {"id"}}
        if "Status" in header or "Published" in header:
            fields["active"] = "Status" if "Status" in header else "Published"
        self.mapping = Mapping(
            fields={**fields, "title": TITLE},
            photos=[c for c in self.mapping.photos if c in header],
            attributes=[c for c in self.mapping.attributes if c in header],
        )

    def option_names(self, lines: list[Line]) -> list[str]:
        """Named on the product's first line, Option1 to Option3."""
        names = [lines[0].values.get(OPTION_NAME.format(i), "").strip() for i in range(1, 4)]
        names = [name for name in names if name]
        return [] if names == [DEFAULT_OPTION_NAME] else names

    def option_values(self, line: Line, option_names: list[str]) -> list[str]:
        return [
            line.values.get(OPTION_VALUE.format(i), "").strip()
            for i in range(1, len(option_names) + 1)
        ]

    def categories(self, line: Line) -> list[str]:
        path = line.values.get("Product Category", "").strip()
        if not path:
            path = line.values.get("Type", "").strip()
        return [name.strip() for name in path.split(">") if name.strip()]

    def attributes(self, line: Line) -> dict[str, str]:
        """Vendor, Tags and Type; Type only beside a Product Category (else it is the category)."""
        attributes = super().attributes(line)
        if not line.values.get("Product Category", "").strip():
            attributes.pop("Type", None)
        return attributes

    def gender(self, line: Line) -> str:
        """Vitrine's own gender metafield, else Google Shopping's (Male, Female, Unisex)."""
        column = next(c for c, name in METAFIELDS.items() if name == "gender")
        if line.values.get(column, "").strip():
            return choice_parse(line.values[column].strip(), "gender", Gender)
        raw = line.values.get("Google Shopping / Gender", "").strip().lower()
        return GOOGLE_GENDER.get(raw, "")

    def photos(self, lines: list[Line], title: str) -> list[PhotoRef]:
        """Photos in Image Position order (unpositioned ones after, in file order), then variant
        images that are not among them."""
        positioned: list[tuple[int, int, str, str]] = []
        for order, line in enumerate(lines):
            source = line.values.get(IMAGE_SRC, "").strip()
            if source:
                position = line.values.get(IMAGE_POSITION, "").strip()
                rank = int(position) if position.isdigit() else 10_000
                alt = line.values.get(IMAGE_ALT, "").strip() or title
                positioned.append((rank, order, source, alt))
        photos: dict[str, PhotoRef] = {}
        for _, _, source, alt in sorted(positioned):
            photos.setdefault(source, self.photo(source, alt))
        for line in lines:
            source = line.values.get(VARIANT_IMAGE, "").strip()
            if source:
                photos.setdefault(source, self.photo(source, title))
        return list(photos.values())
