"""Catalogue files the shop imports, each read into ``CatalogueRow``s (rows.py):

- ``kaggle``: the "Fashion Product Images" layout, ``styles.csv`` + ``images/<id>.jpg``;
- ``shopify``: Shopify's product CSV export, photos as URLs;
- ``mapped``: any other CSV or JSON Lines file, through a mapping of its columns.

``catalogue_open`` tells them apart by the file's header.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Protocol

from shop.catalogue_formats.kaggle import KaggleCatalogue
from shop.catalogue_formats.mapped import FIELDS, MappedCatalogue, Mapping
from shop.catalogue_formats.rows import (
    CatalogueError,
    CatalogueRow,
    PhotoRef,
    RowError,
    VariantRow,
)
from shop.catalogue_formats.shopify import ShopifyCatalogue, is_shopify_header

__all__ = [
    "FIELDS",
    "CatalogueError",
    "CatalogueFile",
    "CatalogueRow",
    "KaggleCatalogue",
    "MappedCatalogue",
    "Mapping",
    "PhotoRef",
    "RowError",
    "ShopifyCatalogue",
    "VariantRow",
    "catalogue_open",
]


class CatalogueFile(Protocol):
    format_name: str

    def rows(self): ...

    def count_rows(self) -> int: ...


def catalogue_open(path: Path | str, *, mapping: Mapping | None = None) -> CatalogueFile:
    """The reader for the catalogue at ``path`` (a file, or a Kaggle-layout folder).

    With ``mapping``, the file is read through it whatever its header; without, a Shopify
    header is read as Shopify's export, anything else as the Kaggle layout's ``styles.csv``.
    """
    path = Path(path)
    if path.is_dir():
        return KaggleCatalogue.open(path)
    if not path.is_file():
        raise CatalogueError(f"No catalogue file at {path}")
    if mapping is not None:
        return MappedCatalogue(path, mapping)
    if path.suffix.lower() in {".jsonl", ".ndjson"}:
        raise CatalogueError(f"{path}: a JSON Lines catalogue needs a mapping (--mapping)")
    if is_shopify_header(_header(path)):
        return ShopifyCatalogue(path)
    return KaggleCatalogue.open(path)


def _header(path: Path) -> list[str]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            return [name.strip() for name in next(csv.reader(handle), [])]
    except (csv.Error, UnicodeDecodeError) as error:
        raise CatalogueError(f"{path}: unreadable header: {error}") from error
