import csv
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from recommender.splits import SPLITS, split_of


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
        with (
            styles.open(newline="", encoding="utf-8") as source,
            (out / "styles.csv").open("w", newline="", encoding="utf-8") as target,
        ):
            rows = csv.DictReader(source)
            if "id" not in (rows.fieldnames or []):
                raise CommandError(f"{styles} has no id column")
            writer = csv.DictWriter(target, rows.fieldnames)
            writer.writeheader()
            for row in rows:
                if split_of(row["id"]) == split:
                    writer.writerow(row)
                    kept += 1
        self.stdout.write(f"{kept} products of {catalogue} in the {split} split: {out}")
