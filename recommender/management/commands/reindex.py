import sys

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from recommender.encoders import ENCODER_NAMES
from recommender.indexing import index_build
from shop.models import Product


class Command(BaseCommand):
    help = (
        "Build a new similarity index (image vectors for every product, text vectors) beside "
        "the live one and switch to it when complete. Rails keep using the old one meanwhile."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--encoder",
            choices=["auto", *ENCODER_NAMES],
            help="image encoder (default: the RECOMMENDER_ENCODER setting)",
        )

    def handle(self, *args, encoder, **options):
        total = Product.objects.count()
        with tqdm(total=total, unit="product", disable=not sys.stderr.isatty()) as bar:
            try:
                index = index_build(encoder=encoder, progress=bar.update)
            except ValueError as error:
                raise CommandError(str(error)) from error
        failed = index.embeddings.filter(status="failed").count()
        self.stdout.write(
            self.style.SUCCESS(
                f"{index} is live: {total} products, {failed} failed photos. "
                f"Encoder {index.encoder} {index.encoder_version} ({index.encoder_reason})."
            )
        )
        if not index.shopper_space:
            self.stdout.write(
                self.style.WARNING(
                    "No shopper space (too few products with photos, "
                    "RECOMMENDER_SHOPPER_SPACE_PRODUCTS under 20, or learning failed: see the "
                    "log): search by photo ranks in the encoder's space."
                )
            )
