import sys

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from shop.catalogue_formats import FIELDS, CatalogueError, Mapping, catalogue_open
from shop.services import catalogue_import, products_set_demo_prices


class Command(BaseCommand):
    help = (
        "Import a catalogue: a Shopify product CSV export, a folder in the Kaggle layout "
        "(styles.csv + images/<id>.jpg), or any CSV / JSON Lines file with a column mapping. "
        "Re-running updates products by their id (Shopify: Handle) and never duplicates them; "
        "photo URLs are fetched by the workers."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help="the catalogue file, or a Kaggle-layout folder")
        parser.add_argument(
            "--mapping",
            metavar="FILE",
            help="JSON file naming the columns: "
            '{"fields": {"id": "...", "title": "...", ...}, "photos": [...], '
            '"options": {"Size": "..."}}',
        )
        parser.add_argument(
            "--map",
            action="append",
            default=[],
            metavar="FIELD=COLUMN",
            help="a column mapping on the command line, repeated: id=sku title=name "
            "photos=image1,image2 option:Size=size. Fields: " + ", ".join(FIELDS),
        )
        parser.add_argument(
            "--default-stock",
            type=int,
            default=0,
            help="stock of new products when the file has no stock column (default 0)",
        )
        parser.add_argument(
            "--demo-prices",
            action="store_true",
            help="give products without a price a made-up, repeatable one (for demo shops)",
        )

    def handle(self, *args, path, mapping, map, default_stock, demo_prices, **options):
        if default_stock < 0:
            raise CommandError("--default-stock cannot be negative")
        if mapping and map:
            raise CommandError("give --mapping or --map, not both")
        try:
            column_mapping = (
                Mapping.load(mapping) if mapping else Mapping.from_options(map) if map else None
            )
            catalogue = catalogue_open(path, mapping=column_mapping)
            total = catalogue.count_rows()
        except CatalogueError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(f"Reading {path} as a {catalogue.format_name} catalogue.")
        # A progress bar on a terminal only; logs and CI get the summary alone.
        with tqdm(
            total=total, unit="product", disable=not sys.stderr.isatty(), desc="Importing"
        ) as bar:
            try:
                report = catalogue_import(
                    path=path,
                    mapping=column_mapping,
                    default_stock=default_stock,
                    progress=bar.update,
                )
            except CatalogueError as error:
                raise CommandError(str(error)) from error
        for error in report.errors:
            self.stderr.write(f"skipped {error}")
        for error in report.photo_errors:
            self.stderr.write(f"photo skipped {error}")
        style = self.style.WARNING if report.errors or report.photo_errors else self.style.SUCCESS
        self.stdout.write(style(f"Imported {path}: {report}."))
        if report.photos_to_fetch:
            self.stdout.write(
                "The workers fetch the photos given as URLs; a photo that fails shows its "
                "reason on its product in the admin."
            )
        if demo_prices:
            self.stdout.write(f"Demo prices given to {products_set_demo_prices()} products.")
