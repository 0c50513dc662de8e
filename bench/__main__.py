"""Every benchmark in one run, written to bench/RESULTS.md (``make bench``).

    .venv/bin/python -m bench [--quick] [--only scale-100k,load] [--output bench/RESULTS.md]

The benchmarks that read a catalogue use their own embedded database in var/bench (fashion-dev
imported and indexed once, kept between runs); the scale runs make and delete their own.
``--quick`` leaves out the million-product run (about 40 minutes on 2 cores). Figures are
ratios measured side by side in one run; nothing here is a test.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CATALOGUE = ROOT.parent / "shared/data/fashion-dev"

SCALE = ["bench.scale", "--candidates", "40,100,200"]
# (name, title, module and arguments, whether it reads the var/bench catalogue)
STEPS = [
    (
        "encoders",
        "Indexing throughput of each encoder: end to end against the bare forward pass",
        ["bench.encoder_throughput", "--images", "512"],
        False,
    ),
    (
        "index-build",
        "Index build through the shop (import, TF-IDF fit, photos to vectors in PostgreSQL)",
        ["bench.indexing", "--products", "4001"],
        True,
    ),
    (
        "scale-fashion-dev",
        "Rails against catalogue size: fashion-dev itself",
        [*SCALE, "--products", "4001", "--text-refit"],
        False,
    ),
    (
        "scale-100k",
        "Rails against catalogue size: 100,000 products",
        [*SCALE, "--products", "100000", "--text-refit", "--full-index"],
        False,
    ),
    (
        "scale-1m",
        "Rails against catalogue size: 1,000,000 products",
        [*SCALE, "--products", "1000000"],
        False,
    ),
    (
        "queries",
        "Rails and search by photo on fashion-dev, shop against brute force",
        ["bench.query_latency", "--queries", "200"],
        True,
    ),
    (
        "shopper-search",
        "Search by a shopper's photo: the product found in the photo against the whole photo",
        ["bench.shopper_search", "--queries", "100"],
        True,
    ),
    (
        "load",
        "Whole requests: gunicorn loaded by wrk",
        ["bench.load", "--seconds", "60", "--profile", "bench/profiles"],
        True,
    ),
    (
        "overload",
        "Twice the capacity: pages, photo searches and checkouts, open loop",
        ["bench.overload", "--seconds", "60"],
        True,
    ),
    (
        "events",
        "Recording what shoppers do: product pages with events off, on, and beside 2,000 events/s",
        ["bench.events", "--seconds", "15", "--rounds", "2"],
        True,
    ),
    (
        "events-cpu",
        "What 2,000 events/s through the API cost in CPU, per process",
        ["bench.events_cpu"],
        True,
    ),
    (
        "behaviour",
        "Behaviour rails at scale: a refit over 10 million events, rails at 100,000 products",
        ["bench.behaviour"],
        False,
    ),
    (
        "shopify-import",
        "A Shopify export of 10,000 products, 3 photos each over HTTP: imported and indexed",
        ["bench.shopify_import", "--products", "10000"],
        False,
    ),
    (
        "several-photos",
        "Several photos per product: search by another photo, and rails by which photo",
        ["bench.several_photos", "--products", "100"],
        False,
    ),
    ("memory", "Memory: Celery worker and encoders", ["bench.memory", "--tasks", "20"], True),
    ("photo-bombs", "Reading one uploaded photo: time and memory", ["bench.photo_bombs"], False),
    (
        "photo-bomb-load",
        "A category page while one client uploads photo bombs within the rate limits",
        ["bench.photo_bomb_load", "--seconds", "52"],
        True,
    ),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="leave out the 1,000,000 run")
    parser.add_argument("--only", default="", help="comma-separated step names")
    parser.add_argument("--output", type=Path, default=ROOT / "bench/RESULTS.md")
    args = parser.parse_args()
    chosen = [name for name in args.only.split(",") if name]
    steps = [
        step
        for step in STEPS
        if (not chosen or step[0] in chosen) and not (args.quick and step[0] == "scale-1m")
    ]
    if not (CATALOGUE / "styles.csv").exists():
        raise SystemExit(f"the benchmarks need fashion-dev at {CATALOGUE}")
    bench_env = {**os.environ, "VITRINE_VAR_DIR": str(ROOT / "var/bench")}
    if any(uses_catalogue for *_, uses_catalogue in steps):
        prepare_catalogue(bench_env)

    sections: dict[str, str] = {}
    for name, title, command, uses_catalogue in steps:
        print(f"== {name}: {' '.join(command)}", flush=True)
        start = time.perf_counter()
        result = subprocess.run(
            [sys.executable, "-m", *command],
            cwd=ROOT,
            env=bench_env if uses_catalogue else os.environ.copy(),
            capture_output=True,
            text=True,
        )
        minutes = (time.perf_counter() - start) / 60
        body = result.stdout.strip() if result.returncode == 0 else failure(result)
        print(body, flush=True)
        when = f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, commit {commit()}, {minutes:.1f} min"
        shown = f"`python -m {' '.join(command)}` ({when})"
        sections[name] = f"{MARK}{name} -->\n## {title}\n\n{shown}\n\n{body}\n"
    # A partial run (--only) replaces its own sections and keeps the others.
    kept = previous_sections(args.output) if chosen else {}
    merged = {name: sections.get(name) or kept.get(name) for name, *_ in STEPS}
    run = [name for name, *_ in steps]
    args.output.write_text(header(run) + "\n".join(text for text in merged.values() if text))
    print(f"written {args.output}")


MARK = "<!-- step: "


def previous_sections(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    parts = path.read_text().split(MARK)[1:]
    return {part.split(" -->", 1)[0]: MARK + part for part in parts}


def prepare_catalogue(env: dict) -> None:
    """fashion-dev imported and indexed in var/bench, once."""

    def manage(*arguments: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "manage.py", *arguments],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )

    manage("migrate", "--verbosity", "0")
    check = "from recommender.selectors import index_live; print(index_live() is not None)"
    if manage("shell", "--no-imports", "-c", check).stdout.strip() != "True":
        manage("import_catalogue", str(CATALOGUE), "--default-stock", "10", "--demo-prices")
        manage("reindex")


def failure(result: subprocess.CompletedProcess) -> str:
    tail = "\n".join(result.stderr.strip().splitlines()[-15:])
    return f"**failed (exit {result.returncode})**\n\n```\n{tail}\n```"


def commit() -> str:
    return subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()


def header(run: list[str]) -> str:
    memory = Path("/proc/meminfo").read_text().split("\n")[0].split()[1]
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return (
        "# Benchmark results\n\n"
        f"Written by `make bench` (`python -m bench`) on a machine with {os.cpu_count()} cores "
        f"({cpu}), {int(memory) / 1024**2:.0f} GiB, Python {platform.python_version()}, no GPU. "
        f"Latest run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC at commit {commit()}: "
        + ", ".join(run)
        + " (each section gives its own command and duration). How to read them and the "
        "choices they led to: bench/README.md.\n\n"
    )


if __name__ == "__main__":
    main()
