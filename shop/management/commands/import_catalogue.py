import sys

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from shop.catalogue_csv import Catalogue, CatalogueError
from shop.services import catalogue_import, products_set_demo_prices


class Command(BaseCommand):
    help = (
        "Import a catalogue in the Kaggle layout (styles.csv + images/<id>.jpg). "
        "Re-running updates products by their id and never duplicates them."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help="the catalogue folder, or its styles.csv")
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

    def handle(self, *args, path, default_stock, demo_prices, **options):
        if default_stock < 0:
            raise CommandError("--default-stock cannot be negative")
        try:
            total = Catalogue.open(path).count_rows()
        except CatalogueError as error:
            raise CommandError(str(error)) from error
        # A progress bar on a terminal only; logs and CI get the summary alone.
        with tqdm(
            total=total, unit="row", disable=not sys.stderr.isatty(), desc="Importing"
        ) as bar:
            try:
                report = catalogue_import(
                    path=path, default_stock=default_stock, progress=bar.update
                )
            except CatalogueError as error:
                raise CommandError(str(error)) from error
        for error in report.errors:
            self.stderr.write(f"skipped {error}")
        style = self.style.WARNING if report.errors else self.style.SUCCESS
        self.stdout.write(style(f"Imported {path}: {report}."))
        if demo_prices:
            self.stdout.write(f"Demo prices given to {products_set_demo_prices()} products.")
