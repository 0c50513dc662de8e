"""Write one half of a Kaggle-layout catalogue (the evaluation's tuning or held-out split).

    python bench/catalogue_split.py ../shared/data/fashion-dev held-out /tmp/fashion-held-out

The photos are linked, not copied. Import the result with `manage.py import_catalog` into an
empty database and run `manage.py evaluate` there (see README, "Recommendation quality").
"""

import argparse
import csv
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from recommender.splits import SPLITS, split_of


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("catalogue", type=Path)
    parser.add_argument("split", choices=SPLITS)
    parser.add_argument("out", type=Path)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    images = args.out / "images"
    if not images.exists():
        images.symlink_to((args.catalogue / "images").resolve())
    with (
        (args.catalogue / "styles.csv").open(newline="", encoding="utf-8") as source,
        (args.out / "styles.csv").open("w", newline="", encoding="utf-8") as target,
    ):
        rows = csv.DictReader(source)
        writer = csv.DictWriter(target, rows.fieldnames)
        writer.writeheader()
        kept = 0
        for row in rows:
            if split_of(row["id"]) == args.split:
                writer.writerow(row)
                kept += 1
    print(f"{kept} products of {args.catalogue} in the {args.split} split: {args.out}")


if __name__ == "__main__":
    main()
