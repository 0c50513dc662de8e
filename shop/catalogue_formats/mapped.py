"""Catalogues whose columns are named by a mapping: a generic CSV or JSON Lines file, and
Shopify's product CSV (shop/catalogue_formats/shopify.py), which is such a mapping plus a few
rules of its own.

A product may span several lines that share its id (Shopify's Handle): its first line holds the
product's fields, later ones add variants and photos. A line holds a variant when it gives an
option value, a SKU or a variant price.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from shop.catalogue_formats.html_text import html_to_text
from shop.catalogue_formats.rows import (
    CatalogueError,
    CatalogueRow,
    PhotoRef,
    RowError,
    VariantRow,
    choice_parse,
    currency_parse,
    price_parse,
    stock_parse,
    year_parse,
)
from shop.models import MAX_OPTIONS, Gender, ProductVariant, Season

# The fields a mapping can name, and what each holds.
FIELDS = {
    "id": "the product's identifier; lines with the same one are one product (required)",
    "title": "the product's name (required on its first line)",
    "description": "plain-text description",
    "description_html": "HTML description, sanitised into text",
    "category": 'category path, levels separated by " > "',
    "price": "price (of the variant, on a variant's line)",
    "compare_at_price": "the variant's former price",
    "stock": "stock (of the variant, on a variant's line)",
    "sku": "the variant's SKU",
    "currency": "three-letter currency code",
    "colour": "colour",
    "gender": "Men, Women, Boys, Girls or Unisex",
    "season": "Spring, Summer, Fall or Winter",
    "usage": "usage, e.g. Casual",
    "year": "year",
    "active": "shown in the shop: true/false, yes/no, 1/0, active/draft/archived",
}
TRUE_WORDS = {"true", "yes", "1", "active", "published"}
FALSE_WORDS = {"false", "no", "0", "draft", "archived", "unpublished"}
# Separates several photos in one cell of a generic file.
PHOTO_SEPARATOR = "|"


@dataclass
class Mapping:
    """Which column holds which field (``FIELDS``), which hold photos, which hold options.

    Columns named by none of them become the product's attributes (``attributes`` lists the
    ones to keep; empty keeps every other column)."""

    fields: dict[str, str] = field(default_factory=dict)
    photos: list[str] = field(default_factory=list)
    options: dict[str, str] = field(default_factory=dict)
    attributes: list[str] = field(default_factory=list)

    @classmethod
    def load(cls, path: Path | str) -> Mapping:
        """A mapping file: JSON with ``fields``, ``photos``, ``options``, ``attributes``."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise CatalogueError(f"mapping {path}: {error}") from error
        return cls.from_dict(data, where=f"mapping {path}")

    @classmethod
    def from_dict(cls, data, *, where: str = "mapping") -> Mapping:
        if not isinstance(data, dict) or set(data) - {"fields", "photos", "options", "attributes"}:
            raise CatalogueError(
                f"{where}: expected an object with fields, photos, options, attributes"
            )
        mapping = cls(
            fields=data.get("fields", {}),
            photos=data.get("photos", []),
            options=data.get("options", {}),
            attributes=data.get("attributes", []),
        )
        unknown = set(mapping.fields) - set(FIELDS)
        if unknown:
            raise CatalogueError(
                f"{where}: unknown field(s) {', '.join(sorted(unknown))}; known: "
                + ", ".join(FIELDS)
            )
        if "id" not in mapping.fields or "title" not in mapping.fields:
            raise CatalogueError(f"{where}: fields must name the id and title columns")
        if len(mapping.options) > MAX_OPTIONS:
            raise CatalogueError(f"{where}: at most {MAX_OPTIONS} options")
        return mapping

    @classmethod
    def from_options(cls, pairs: list[str]) -> Mapping:
        """``field=column`` pairs from the command line; ``photos=a,b`` and
        ``option:Size=size`` too."""
        data: dict = {"fields": {}, "photos": [], "options": {}}
        for pair in pairs:
            name, _, column = pair.partition("=")
            if not column:
                raise CatalogueError(f"--map {pair!r}: expected field=column")
            if name == "photos":
                data["photos"] = [c.strip() for c in column.split(",") if c.strip()]
            elif name.startswith("option:"):
                data["options"][name.removeprefix("option:")] = column
            else:
                data["fields"][name] = column
        return cls.from_dict(data, where="--map")

    def mapped_columns(self) -> set[str]:
        return {*self.fields.values(), *self.photos, *self.options.values()}


@dataclass
class Line:
    """One line of the file, with its values by column."""

    number: int
    values: dict[str, str]


class MappedCatalogue:
    """A CSV or JSON Lines catalogue read through a ``Mapping``."""

    format_name = "generic"

    def __init__(self, path: Path, mapping: Mapping):
        self.path = path
        self.mapping = mapping
        self.folder = path.parent.resolve()

    # Reading lines -----------------------------------------------------------------------

    def lines(self) -> Iterator[Line | RowError]:
        if self.path.suffix.lower() in {".jsonl", ".ndjson"}:
            yield from self._json_lines()
        else:
            yield from self._csv_lines()

    def _csv_lines(self) -> Iterator[Line | RowError]:
        with self.path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle, strict=True)
            try:
                header = [name.strip() for name in next(reader, [])]
            except (csv.Error, UnicodeDecodeError) as error:
                raise CatalogueError(f"{self.path}: unreadable header: {error}") from error
            self.check_header(header)
            line = reader.line_num
            while True:
                try:
                    fields = next(reader)
                except StopIteration:
                    return
                except (csv.Error, UnicodeDecodeError) as error:
                    # The csv module cannot resynchronise after a broken quote: stop here.
                    yield RowError(line + 1, "", f"malformed CSV, reading stopped: {error}")
                    return
                start, line = line + 1, reader.line_num
                if not any(value.strip() for value in fields):
                    continue
                if len(fields) != len(header):
                    yield RowError(start, "", f"expected {len(header)} fields, found {len(fields)}")
                    continue
                yield Line(start, dict(zip(header, fields, strict=True)))

    def _json_lines(self) -> Iterator[Line | RowError]:
        with self.path.open(encoding="utf-8-sig") as handle:
            for number, text in enumerate(handle, start=1):
                if not text.strip():
                    continue
                try:
                    record = json.loads(text)
                except ValueError as error:
                    yield RowError(number, "", f"not JSON: {error}")
                    continue
                if not isinstance(record, dict):
                    yield RowError(number, "", "not a JSON object")
                    continue
                yield Line(number, {key: _json_text(value) for key, value in record.items()})

    def check_header(self, header: list[str]) -> None:
        missing = {self.mapping.fields["id"], self.mapping.fields["title"]} - set(header)
        if missing:
            raise CatalogueError(
                f"{self.path}: header lacks required column(s) {', '.join(sorted(missing))}"
            )

    def count_rows(self) -> int:
        """Products in the file (ids), for a progress bar."""
        id_column = self.mapping.fields["id"]
        return len(
            {line.values.get(id_column, "") for line in self.lines() if isinstance(line, Line)}
        )

    # Lines into products ----------------------------------------------------------------

    def rows(self) -> Iterator[CatalogueRow | RowError]:
        """One product per id, in the order of their first lines; a product whose lines hold
        a bad value is reported as a whole (with its first line) and skipped."""
        products: dict[str, list[Line]] = {}
        id_column = self.mapping.fields["id"]
        for line in self.lines():
            if isinstance(line, RowError):
                yield line
                continue
            external_id = line.values.get(id_column, "").strip()
            if not external_id:
                yield RowError(line.number, "", "empty id")
            elif any("\x00" in value for value in line.values.values()):
                yield RowError(line.number, external_id.replace("\x00", ""), "a NUL character")
            else:
                products.setdefault(external_id, []).append(line)
        for external_id, lines in products.items():
            try:
                yield self.product(external_id, lines)
            except ValueError as error:
                yield RowError(lines[0].number, external_id, str(error))

    def value(self, line: Line, name: str) -> str:
        column = self.mapping.fields.get(name)
        return line.values.get(column, "").strip() if column else ""

    def product(self, external_id: str, lines: list[Line]) -> CatalogueRow:
        first = lines[0]
        title = self.value(first, "title")
        if not title:
            raise ValueError(f"empty {self.mapping.fields['title']}")
        row = CatalogueRow(
            line=first.number,
            external_id=external_id,
            title=title,
            photos=self.photos(lines, title),
            categories=self.categories(first),
            gender=self.gender(first),
            colour=self.value(first, "colour"),
            season=choice_parse(self.value(first, "season"), "season", Season),
            usage=self.value(first, "usage"),
            year=year_parse(self.value(first, "year")),
            attributes=self.attributes(first),
            columns=frozenset(self.mapping.fields),
        )
        if "description_html" in self.mapping.fields:
            row.description = html_to_text(self.value(first, "description_html"))
            row.columns |= {"description"}
        elif "description" in self.mapping.fields:
            row.description = self.value(first, "description")
        if "currency" in self.mapping.fields:
            row.currency = currency_parse(self.value(first, "currency"))
        if "active" in self.mapping.fields:
            row.active = self.active(first)
        row.option_names = self.option_names(lines)
        variants = [
            self.variant(line, row.option_names)
            for line in lines
            if self.is_variant(line, row.option_names)
        ]
        self._check_variants(variants, row.option_names)
        if len(variants) > 1 or (variants and row.option_names):
            row.variants = variants
            row.price = min((v.price for v in variants if v.price is not None), default=None)
            row.stock = sum(v.stock for v in variants)
            row.columns |= {"price", "stock"}
            if not row.colour:
                row.colour = _variant_colour(row.option_names, variants)
        else:
            # No options: the product is sold as it is; a single variant's values are its own.
            single = variants[0] if variants else self.variant(first, [])
            row.option_names, row.variants = [], [single] if single.sku else []
            if "price" in self.mapping.fields:
                row.price = single.price
            if "stock" in self.mapping.fields:
                row.stock = single.stock
        return row

    def categories(self, line: Line) -> list[str]:
        path = self.value(line, "category")
        return [name.strip() for name in path.split(">") if name.strip()]

    def gender(self, line: Line) -> str:
        return choice_parse(self.value(line, "gender"), "gender", Gender)

    def active(self, line: Line) -> bool | None:
        raw = self.value(line, "active").lower()
        if not raw:
            return None
        if raw in TRUE_WORDS | FALSE_WORDS:
            return raw in TRUE_WORDS
        raise ValueError(f"{self.mapping.fields['active']} {raw!r} is neither true nor false")

    def attributes(self, line: Line) -> dict[str, str]:
        mapped = self.mapping.mapped_columns()
        wanted = self.mapping.attributes or [c for c in line.values if c not in mapped]
        return {c: line.values[c].strip() for c in wanted if line.values.get(c, "").strip()}

    def option_names(self, lines: list[Line]) -> list[str]:
        """The mapping's options that the product's lines give values for."""
        return [
            name
            for name, column in self.mapping.options.items()
            if any(line.values.get(column, "").strip() for line in lines)
        ]

    def option_values(self, line: Line, option_names: list[str]) -> list[str]:
        return [line.values.get(self.mapping.options[name], "").strip() for name in option_names]

    def is_variant(self, line: Line, option_names: list[str]) -> bool:
        return any(self.option_values(line, option_names)) or any(
            self.value(line, name) for name in ("sku", "price", "stock")
        )

    def variant(self, line: Line, option_names: list[str]) -> VariantRow:
        values = self.option_values(line, option_names)
        if not all(values):
            raise ValueError(
                f"line {line.number}: a variant needs a value for each of "
                + ", ".join(option_names)
            )
        return VariantRow(
            option_values=values,
            sku=self.value(line, "sku"),
            price=price_parse(self.value(line, "price")),
            compare_at_price=price_parse(self.value(line, "compare_at_price"), "compare-at price"),
            stock=stock_parse(self.value(line, "stock")) or 0,
        )

    def photos(self, lines: list[Line], title: str) -> list[PhotoRef]:
        photos: dict[str, PhotoRef] = {}
        for line in lines:
            for column in self.mapping.photos:
                for source in line.values.get(column, "").split(PHOTO_SEPARATOR):
                    if source.strip() and source.strip() not in photos:
                        photos[source.strip()] = self.photo(source.strip(), title)
        return list(photos.values())

    def photo(self, source: str, alt_text: str) -> PhotoRef:
        """An http(s) URL, or a path inside the catalogue's folder."""
        scheme = urlsplit(source).scheme.lower()
        if scheme in {"http", "https"}:
            return PhotoRef(url=source, alt_text=alt_text)
        if scheme and len(scheme) > 1:  # one letter: a Windows drive
            raise ValueError(f"photo {source!r}: only http(s) URLs or files beside the catalogue")
        path = (self.folder / source).resolve()
        if not path.is_relative_to(self.folder):
            raise ValueError(f"photo {source!r} is outside the catalogue's folder")
        return PhotoRef(path=path, alt_text=alt_text)

    @staticmethod
    def _check_variants(variants: list[VariantRow], option_names: list[str]) -> None:
        seen: set[tuple[str, ...]] = set()
        for variant in variants:
            key = tuple(variant.option_values)
            if option_names and key in seen:
                raise ValueError(f"two variants are both {' / '.join(key)}")
            seen.add(key)
        skus = [v.sku for v in variants if v.sku]
        if len(skus) != len(set(skus)):
            raise ValueError("two variants share a SKU")


def _variant_colour(option_names: list[str], variants: list[VariantRow]) -> str:
    """The first variant's colour option, as the shop reads one (``ProductVariant``)."""
    if not variants:
        return ""
    return ProductVariant(option_values=variants[0].option_values).colour_from_options(option_names)


def _json_text(value) -> str:
    """A JSON value as a cell: lists (several photos) joined, numbers and booleans as text."""
    if isinstance(value, list):
        return PHOTO_SEPARATOR.join(_json_text(item) for item in value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else json.dumps(value)
