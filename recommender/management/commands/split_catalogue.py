import csv
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from recommender.quality.splits import SPLITS, split_of


class Command(BaseCommand):
    help = (
        "Write one half of a Kaggle-layout catalogue (the evaluation's tuning or held-out split) "
        "to a new folder, photos linked rather than copied; import it into an empty database "
        "and run `evaluate` there."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "catalogue", type=Path, help="the catalogue folder (styles.csv, images/)"
        )
        parser.add_argument("split", choices=SPLITS)
        parser.add_argument("out", type=Path, help="the folder to write")

    def handle(self, *args, catalogue: Path, split: str, out: Path, **options):
        styles = catalogue / "styles.csv"
        if not styles.is_file():
            raise CommandError(f"{styles} does not exist")
        if (out / "styles.csv").exists():
            raise CommandError(f"{out / 'styles.csv'} exists already; choose an empty folder")
        out.mkdir(parents=True, exist_ok=True)
        images = out / "images"
        if not images.exists():
            images.symlink_to((catalogue / "images").resolve())
        kept = 0
        partial = out / "styles.csv.partial"
        # Rows are copied as lists, extra fields included: titles with unquoted commas (as in
        # Kaggle's file) stay as they are, for the importer to read as it always does.
        with (
            styles.open(newline="", encoding="utf-8-sig") as source,
            partial.open("w", newline="", encoding="utf-8") as target,
        ):
            rows = csv.reader(source)
            header = next(rows, [])
            if "id" not in header:
                partial.unlink()
                raise CommandError(f"{styles} has no id column")
            column = header.index("id")
            writer = csv.writer(target)
            writer.writerow(header)
            for row in rows:
                if len(row) > column and split_of(row[column].strip()) == split:
                    writer.writerow(row)
                    kept += 1
        partial.replace(out / "styles.csv")  # all or nothing: a failed run leaves no half file
        self.stdout.write(f"{kept} products of {catalogue} in the {split} split: {out}")
