"""Reading a catalogue in the Kaggle "Fashion Product Images" layout: ``styles.csv`` + ``images/``.

No database here: rows come out parsed and checked, or as ``RowError`` with their line number.
Real files have titles with unquoted commas and empty fields; both are handled.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from shop.catalogue_formats.rows import (
    CatalogueError,
    CatalogueRow,
    PhotoRef,
    RowError,
    choice_parse,
    currency_parse,
    price_parse,
    stock_parse,
    year_parse,
)
from shop.models import IMAGE_EXTENSIONS, Gender, Season

# Kaggle column -> what it is. Columns not listed here go into the product's attributes.
ID, TITLE = "id", "productDisplayName"
CATEGORY_COLUMNS = ("masterCategory", "subCategory", "articleType")
KNOWN_COLUMNS = {
    ID,
    TITLE,
    *CATEGORY_COLUMNS,
    "gender",
    "baseColour",
    "season",
    "usage",
    "year",
    "price",
    "currency",
    "description",
    "stock",
}


@dataclass
class KaggleCatalogue:
    format_name = "Kaggle"
    styles_path: Path
    images_dir: Path

    @classmethod
    def open(cls, path: Path | str) -> KaggleCatalogue:
        """``path`` is the catalogue folder or its ``styles.csv``."""
        path = Path(path)
        styles = path / "styles.csv" if path.is_dir() else path
        if not styles.is_file():
            raise CatalogueError(f"No styles.csv found at {path}")
        return cls(styles_path=styles, images_dir=styles.parent / "images")

    def rows(self) -> Iterator[CatalogueRow | RowError]:
        with self.styles_path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            header = [name.strip() for name in next(reader, [])]
            missing = {ID, TITLE} - set(header)
            if missing:
                raise CatalogueError(
                    f"{self.styles_path}: header lacks required column(s) "
                    + ", ".join(sorted(missing))
                )
            line = reader.line_num
            for fields in reader:
                start, line = line + 1, reader.line_num
                if not any(value.strip() for value in fields):
                    continue  # blank line
                yield self._parse(start, header, fields)

    def count_rows(self) -> int:
        with self.styles_path.open(newline="", encoding="utf-8-sig") as handle:
            return max(sum(1 for fields in csv.reader(handle) if any(fields)) - 1, 0)

    def _parse(self, line: int, header: list[str], fields: list[str]) -> CatalogueRow | RowError:
        fields = _fold_unquoted_commas(header, fields)
        if len(fields) != len(header):
            raw_id = fields[header.index(ID)].strip() if len(fields) > header.index(ID) else ""
            return RowError(line, raw_id, f"expected {len(header)} fields, found {len(fields)}")
        values = {name: value.strip() for name, value in zip(header, fields, strict=True)}
        external_id = values[ID]
        if not external_id:
            return RowError(line, "", "empty id")
        if any("\x00" in value for value in values.values()):  # PostgreSQL cannot store it
            return RowError(line, external_id.replace("\x00", ""), "a NUL character in a field")
        try:
            return self._row(line, external_id, values)
        except ValueError as error:
            return RowError(line, external_id, str(error))

    def _row(self, line: int, external_id: str, values: dict[str, str]) -> CatalogueRow:
        title = values[TITLE]
        if not title:
            raise ValueError(f"empty {TITLE}")
        image_path = self._image_path(external_id)
        if image_path is None:
            raise ValueError(f"missing image images/{external_id}.jpg")
        row = CatalogueRow(
            line=line,
            external_id=external_id,
            title=title,
            photos=[PhotoRef(path=image_path, alt_text=title)],
            categories=[values[c] for c in CATEGORY_COLUMNS if values.get(c)],
            gender=choice_parse(values.get("gender", ""), "gender", Gender),
            colour=values.get("baseColour", ""),
            season=choice_parse(values.get("season", ""), "season", Season),
            usage=values.get("usage", ""),
            year=year_parse(values.get("year", "")),
            attributes={k: v for k, v in values.items() if k not in KNOWN_COLUMNS and v},
            columns=frozenset(values),
        )
        if "price" in values:
            row.price = price_parse(values["price"])
        if "currency" in values:
            row.currency = currency_parse(values["currency"])
        if "description" in values:
            row.description = values["description"]
        if "stock" in values:
            row.stock = stock_parse(values["stock"])
        return row

    def _image_path(self, external_id: str) -> Path | None:
        if "/" in external_id or "\\" in external_id or external_id.startswith("."):
            raise ValueError(f"id {external_id!r} cannot name an image file")
        for extension in (".jpg", *sorted(IMAGE_EXTENSIONS - {".jpg"})):
            candidate = self.images_dir / f"{external_id}{extension}"
            if candidate.is_file():
                return candidate
        return None


def _fold_unquoted_commas(header: list[str], fields: list[str]) -> list[str]:
    """Rejoin a title that was split by unquoted commas (extra fields belong to the title)."""
    extra = len(fields) - len(header)
    if extra <= 0:
        return fields
    at = header.index(TITLE)
    return [*fields[:at], ",".join(fields[at : at + extra + 1]), *fields[at + extra + 1 :]]
