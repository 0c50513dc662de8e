"""What every catalogue format reads into: products as ``CatalogueRow``, or ``RowError`` with the
line they start on. No database here, so that a format can be tested on its own."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path


class CatalogueError(Exception):
    """The catalogue as a whole cannot be read (missing file, no header, required columns)."""


@dataclass
class RowError:
    line: int
    external_id: str
    reason: str

    def __str__(self) -> str:
        where = f"line {self.line}" + (f" (id {self.external_id})" if self.external_id else "")
        return f"{where}: {self.reason}"


@dataclass(frozen=True)
class PhotoRef:
    """A product photo as a catalogue gives it: a file next to the catalogue, or a URL that a
    worker fetches after the import (shop/photo_fetch.py)."""

    path: Path | None = None
    url: str = ""
    alt_text: str = ""

    @property
    def source(self) -> str:
        return self.url or str(self.path)


@dataclass
class VariantRow:
    option_values: list[str]
    sku: str = ""
    price: Decimal | None = None
    compare_at_price: Decimal | None = None
    stock: int = 0


@dataclass
class CatalogueRow:
    line: int
    external_id: str
    title: str
    photos: list[PhotoRef]
    categories: list[str]
    gender: str = ""
    colour: str = ""
    season: str = ""
    usage: str = ""
    year: int | None = None
    attributes: dict[str, str] = field(default_factory=dict)
    # Fields that only some catalogues have: None when the file has no such column,
    # so that re-importing never wipes what a shop admin set by hand.
    price: Decimal | None = None
    currency: str | None = None
    description: str | None = None
    stock: int | None = None
    active: bool | None = None
    # None: the file says nothing of variants; [] for both: the product has none.
    option_names: list[str] | None = None
    variants: list[VariantRow] | None = None
    columns: frozenset[str] = frozenset()


def year_parse(raw: str) -> int | None:
    if not raw:
        return None
    try:
        year = float(raw)
    except ValueError:
        raise ValueError(f"year {raw!r} is not a number") from None
    if not year.is_integer() or not 1900 <= year <= 2100:
        raise ValueError(f"year {raw!r} is not a plausible year")
    return int(year)


def price_parse(raw: str, name: str = "price") -> Decimal | None:
    if not raw:
        return None
    try:
        price = Decimal(raw)
    except InvalidOperation:
        raise ValueError(f"{name} {raw!r} is not a number") from None
    if not price.is_finite() or price < 0 or price >= Decimal("1e8"):
        raise ValueError(f"{name} {raw!r} is out of range")
    return price.quantize(Decimal("0.01"))


def stock_parse(raw: str, name: str = "stock") -> int | None:
    """A whole number of items; a negative one (Shopify exports oversold stock so) counts as 0."""
    if not raw:
        return None
    digits = raw[1:] if raw.startswith("-") else raw
    if not digits.isdigit():
        raise ValueError(f"{name} {raw!r} is not a whole number")
    return max(int(raw), 0)


def currency_parse(raw: str) -> str | None:
    currency = raw.strip().upper() or None
    if currency and not (len(currency) == 3 and currency.isalpha()):
        raise ValueError(f"currency {raw!r} is not a three-letter code")
    return currency


def choice_parse(raw: str, column: str, choices) -> str:
    if not raw:
        return ""
    for value in choices.values:
        if value.lower() == raw.lower():
            return value
    raise ValueError(f"{column} {raw!r} is not one of {', '.join(choices.values)}")
