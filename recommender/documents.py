"""A product as text for the text model: the one module that knows which catalogue fields feed
it (title, description, category path, colour, gender, usage, season, and the values of
whatever attributes the catalogue has: a vendor, tags, a material) and which exact facts
(category, colour) become field tokens. Every field but the title is optional: a catalogue of
home goods or food has no gender or season, and its words come from its own categories and
attributes."""

from __future__ import annotations

from shop.models import Category, Product


def product_text(product: Product, category_names: dict[int, list[str]] | None = None) -> str:
    names = (category_names or {}).get(product.category_id)
    if names is None and product.category_id:
        names = [
            c.name for c in [*Category.objects.get_ancestors(product.category), product.category]
        ]
    fields = [
        product.title,
        product.description,
        *(names or []),
        product.colour,
        product.gender,
        product.usage,
        product.season,
        *_attribute_values(product.attributes),
    ]
    return " ".join(field for field in fields if field)


def _attribute_values(attributes) -> list[str]:
    """The words of free-form attributes: their values (text or numbers), not their names
    ("Vendor", "material" would be shared by every product that has them)."""
    if not isinstance(attributes, dict):
        return []
    return [str(v) for v in attributes.values() if isinstance(v, str | int | float)]


# Colour values that say nothing: products "of colour NA" are not alike.
COLOUR_PLACEHOLDERS = {"na", "n/a", "none", "unknown", "-"}


COLOUR_TOKEN_PREFIX = "colour:"


def colour_token(colour: str) -> str | None:
    """The field token of a catalogue colour; None for a colour that says nothing."""
    colour = colour.strip().lower()
    known = colour and colour not in COLOUR_PLACEHOLDERS
    return f"{COLOUR_TOKEN_PREFIX}{colour}" if known else None


def product_fields(product: Product) -> list[str]:
    """The catalogue facts that place a product exactly: its own category and its colour."""
    fields = [f"category:{product.category_id}"] if product.category_id else []
    colour = colour_token(product.colour)
    return fields + ([colour] if colour else [])


def category_paths() -> dict[int, list[str]]:
    """Every category's names from its root down to itself, by category id."""
    by_path = {c.path: c for c in Category.objects.all()}
    step = Category.steplen
    return {
        c.pk: [by_path[c.path[: i + step]].name for i in range(0, len(c.path), step)]
        for c in by_path.values()
    }
