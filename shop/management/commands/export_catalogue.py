import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from shop.services.catalogue_export import ExportError, catalogue_export_shopify


class Command(BaseCommand):
    help = (
        "Write the catalogue as a Shopify product CSV: products, variants, photos (as URLs), "
        "for Shopify or for import_catalogue into another Vitrine."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--output", "-o", metavar="FILE", help="where to write (default: standard output)"
        )
        parser.add_argument(
            "--base-url",
            default="",
            help="the shop's address, e.g. https://shop.example.com, for photo URLs that "
            "storage serves as paths (/media/...)",
        )

    def handle(self, *args, output, base_url, **options):
        if base_url and not base_url.startswith(("http://", "https://")):
            raise CommandError("--base-url must start with http:// or https://")
        partial = Path(f"{output}.partial") if output else None
        try:
            if output:
                # Written beside, then moved: a failed export never leaves half a file.
                with partial.open("w", newline="", encoding="utf-8") as out:
                    count = catalogue_export_shopify(out=out, base_url=base_url)
                partial.replace(output)
            else:
                count = catalogue_export_shopify(out=sys.stdout, base_url=base_url)
        except ExportError as error:
            if partial:
                partial.unlink(missing_ok=True)
            raise CommandError(str(error)) from error
        if output:
            self.stdout.write(self.style.SUCCESS(f"Exported {count} products to {output}."))
