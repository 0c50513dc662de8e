"""Twice the shop's capacity for a bounded time: only deliberate 503/429, and no order lost.

    .venv/bin/python -m bench.overload [--seconds 60] [--factor 2] [--workers 2]

gunicorn (as in bench.load) on the var/bench catalogue, driven on loopback by an open-loop
generator: operations start on a schedule whatever the server answers, as shoppers arrive, in
a mix of product pages (70 %), searches by photo through the API (20 %) and checkouts (10 %:
product page, add to cart, checkout page, place the order; each request of it counts).

After a 5 s warm-up, a quarter of the remaining ``--seconds`` measures the capacity of that
mix: operations per second completed with a few always in flight (closed loop). The rest
offers ``--factor`` times that capacity. Every request carries ``X-Request-Start`` stamped as
it is sent, as nginx stamps it in front of the shop (config/nginx), so that requests queued
past ``REQUEST_QUEUE_TIMEOUT`` are turned away with a 503. Afterwards every order whose
confirmation a client saw is looked up in the database. "other" counts answers an operation
did not expect (a product sold out, a checkout sent back to its cart, a 4xx). Exits 1 when a
5xx other than 503 came back or a confirmed order is missing. The photo-search rate limits
are lifted: this measures the server, not the limits.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import django

from bench.load import free_port, photo_body, start_gunicorn

MIX = (("page", 0.7), ("photo", 0.2), ("checkout", 0.1))
CLOSED_LOOP_IN_FLIGHT = 4  # two sync workers, each with one request queued behind it
WARM_UP_S = 5  # encoders, caches and thumbnails, before anything is counted
REQUEST_TIMEOUT_S = 20  # longer than any answer should take: a timeout is a failure
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
HIDDEN = re.compile(r'name="(checkout_token|expected_total)" value="([^"]+)"')
ORDER = re.compile(r"/orders/([A-Z0-9]+)/$")
CONTACT = {
    "full_name": "Load Test",
    "email": "load@example.com",
    "phone": "",
    "address": "1 Bench Street",
    "address_extra": "",
    "city": "Loopback",
    "postcode": "12345",
    "country": "Testland",
}


@dataclass
class Tally:
    """What the clients saw in one phase."""

    operations: Counter = field(default_factory=Counter)  # (kind, outcome)
    statuses: Counter = field(default_factory=Counter)  # every request's status (or error)
    latency: dict = field(default_factory=lambda: defaultdict(list))  # kind -> seconds, ok only
    confirmed: list = field(default_factory=list)  # order references shown to clients

    def ok(self) -> int:
        return sum(n for (_, outcome), n in self.operations.items() if outcome == "ok")


class Shop:
    """The requests an operation makes; each answer's status is counted in the tally."""

    def __init__(self, base: str, connector, products: list[tuple[int, str]], bodies: list[bytes]):
        self.base, self.connector = base, connector
        self.products, self.bodies = products, bodies

    def session(self) -> aiohttp.ClientSession:
        return aiohttp.ClientSession(
            self.base,
            connector=self.connector,
            connector_owner=False,
            cookie_jar=aiohttp.CookieJar(unsafe=True),  # cookies for 127.0.0.1
            timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S),
        )

    async def request(self, session, tally: Tally, method: str, path: str, **options):
        headers = {"X-Request-Start": f"t={time.time():.3f}", **options.pop("headers", {})}
        try:
            async with session.request(
                method, path, headers=headers, allow_redirects=False, **options
            ) as response:
                text = await response.text(errors="replace")
                tally.statuses[response.status] += 1
                return response.status, response.headers.get("Location", ""), text
        except (TimeoutError, aiohttp.ClientError) as error:
            tally.statuses[type(error).__name__] += 1
            return None, "", ""

    async def operation(self, kind: str, rng: random.Random, tally: Tally) -> None:
        started = time.perf_counter()
        async with self.session() as session:
            outcome = await getattr(self, kind)(session, rng, tally)
        tally.operations[kind, outcome] += 1
        if outcome == "ok":
            tally.latency[kind].append(time.perf_counter() - started)

    async def page(self, session, rng, tally) -> str:
        _, slug = rng.choice(self.products)
        status, _, _ = await self.request(session, tally, "GET", f"/p/{slug}/")
        return outcome_of(status, 200)

    async def photo(self, session, rng, tally) -> str:
        body, boundary = rng.choice(self.bodies), "vitrine-bench-boundary"
        status, _, _ = await self.request(
            session,
            tally,
            "POST",
            "/api/v1/search/photo/",
            data=body,
            headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
        )
        return outcome_of(status, 200)

    async def checkout(self, session, rng, tally) -> str:
        product_id, slug = rng.choice(self.products)
        status, _, page = await self.request(session, tally, "GET", f"/p/{slug}/")
        if status != 200:
            return outcome_of(status, 200)
        token = CSRF.search(page)
        if token is None:  # sold out meanwhile: the page has no add-to-cart form
            return "sold out"
        form = {"csrfmiddlewaretoken": token.group(1), "quantity": "1"}
        status, _, _ = await self.request(
            session, tally, "POST", f"/cart/add/{product_id}/", data=form
        )
        if status != 302:
            return outcome_of(status, 302)
        status, _, page = await self.request(session, tally, "GET", "/checkout/")
        if status != 200:
            return outcome_of(status, 200)
        form = {"csrfmiddlewaretoken": CSRF.search(page).group(1), **dict(HIDDEN.findall(page))}
        status, location, _ = await self.request(
            session, tally, "POST", "/checkout/", data={**form, **CONTACT}
        )
        placed = ORDER.search(location) if status == 302 else None
        if placed is None:
            return outcome_of(status, 302) if status != 302 else "refused"
        tally.confirmed.append(placed.group(1))
        return "ok"


def outcome_of(status: int | None, expected: int) -> str:
    if status == expected:
        return "ok"
    if status is None:
        return "no answer"
    return {503: "503 busy", 429: "429"}.get(status, f"{status}")


def measuring(args) -> float:
    """Seconds of the capacity phase: a quarter of what the warm-up leaves."""
    return (args.seconds - WARM_UP_S) / 4


def overloading(args) -> float:
    return args.seconds - WARM_UP_S - measuring(args)


async def closed_loop(shop: Shop, seconds: float, seed: int) -> Tally:
    tally, deadline = Tally(), time.perf_counter() + seconds

    async def shopper(rng: random.Random) -> None:
        while time.perf_counter() < deadline:
            await shop.operation(pick(rng), rng, tally)

    await asyncio.gather(*(shopper(random.Random(seed + i)) for i in range(CLOSED_LOOP_IN_FLIGHT)))
    return tally


async def open_loop(shop: Shop, seconds: float, rate: float, seed: int) -> Tally:
    """Start ``rate`` operations a second for ``seconds``, never waiting for answers."""
    tally, rng, started = Tally(), random.Random(seed), time.perf_counter()
    running = []
    for n in range(int(seconds * rate)):
        delay = started + n / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        running.append(asyncio.create_task(shop.operation(pick(rng), random.Random(n), tally)))
    await asyncio.gather(*running)
    return tally


def pick(rng: random.Random) -> str:
    return rng.choices([kind for kind, _ in MIX], weights=[share for _, share in MIX])[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60, help="capacity and overload, in all")
    parser.add_argument("--factor", type=float, default=2.0, help="offered load / capacity")
    parser.add_argument("--workers", type=int, default=os.cpu_count())
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    django.setup()
    from django.db.models import Sum

    from recommender.selectors import index_live
    from shop.models import Order, Product

    if index_live() is None:
        raise SystemExit("no live index: run `manage.py reindex` first")
    rng = random.Random(args.seed)
    buyable = Product.objects.filter(is_active=True, stock__gt=0, price__isnull=False)
    sample = rng.sample(list(buyable.prefetch_related("images")), 500)
    work = Path(tempfile.mkdtemp(prefix="vitrine-overload-"))
    bodies = [photo_body(p, work).read_bytes() for p in sample[:50] if p.primary_image is not None]
    stock_before = Product.objects.aggregate(units=Sum("stock"))["units"]
    orders_before = set(Order.objects.values_list("reference", flat=True))

    port = free_port()
    os.environ["PHOTO_SEARCH_RATE"] = "1000000/m"  # the storefront's limit, lifted too
    server = start_gunicorn(port, args.workers)
    try:
        capacity, overload, rate = asyncio.run(run(args, port, sample, bodies))
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)

    confirmed = capacity.confirmed + overload.confirmed
    stored = set(Order.objects.filter(reference__in=confirmed).values_list("reference", flat=True))
    new_orders = Order.objects.exclude(reference__in=orders_before).count()
    stock_after = Product.objects.aggregate(units=Sum("stock"))["units"]
    print(report(args, capacity, overload, rate, confirmed, stored, new_orders))
    print(f"- Stock taken by the run's orders: {stock_before - stock_after} units.")
    bad = [s for t in (capacity, overload) for s in t.statuses if isinstance(s, int) and s >= 500]
    if any(status != 503 for status in bad) or len(stored) != len(confirmed):
        sys.exit(1)


async def run(args, port: int, sample, bodies) -> tuple[Tally, Tally, float]:
    connector = aiohttp.TCPConnector(limit=0, force_close=True)  # gunicorn sync: no keep-alive
    products = [(p.pk, p.slug) for p in sample]
    shop = Shop(f"http://127.0.0.1:{port}", connector, products, bodies)
    try:
        # Warm-up (encoders, caches, thumbnails); its orders are checked with the rest.
        warm_up = await closed_loop(shop, WARM_UP_S, args.seed)
        capacity = await closed_loop(shop, measuring(args), args.seed)
        capacity.confirmed += warm_up.confirmed
        rate = args.factor * capacity.ok() / measuring(args)
        overload = await open_loop(shop, overloading(args), rate, args.seed)
    finally:
        await connector.close()
    return capacity, overload, rate


def report(args, capacity, overload, rate, confirmed, stored, new_orders) -> str:
    measure, overload_s = measuring(args), overloading(args)
    lines = [
        f"gunicorn, {args.workers} sync workers, DEBUG off, REQUEST_QUEUE_TIMEOUT "
        f"{os.environ.get('REQUEST_QUEUE_TIMEOUT', '5')} s; mix "
        + ", ".join(f"{kind} {share:.0%}" for kind, share in MIX)
        + f"; capacity measured for {measure:.0f} s with {CLOSED_LOOP_IN_FLIGHT} operations in "
        f"flight, then {args.factor:g}x that offered open-loop for {overload_s:.0f} s "
        f"({args.seconds:g} s in all with a {WARM_UP_S} s warm-up).",
        "",
        "| phase | operations/s offered | operations | ok | 503 busy | 429 | other 5xx "
        "| no answer | other | page p50/p99 ms | photo p50/p99 ms | checkout p50/p99 ms |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---|",
    ]
    for name, tally, offered in (
        ("capacity (closed loop)", capacity, "-"),
        (f"{args.factor:g}x capacity (open loop)", overload, f"{rate:.1f}"),
    ):
        outcomes = Counter()
        for (_, outcome), n in tally.operations.items():
            outcomes[outcome] += n
        other_5xx = sum(n for o, n in outcomes.items() if o[:1] == "5" and o != "503 busy")
        cells = [
            name,
            offered,
            str(sum(outcomes.values())),
            str(outcomes["ok"]),
            str(outcomes["503 busy"]),
            str(outcomes["429"]),
            str(other_5xx),
            str(outcomes["no answer"]),
            str(sum(outcomes.values()) - sum(outcomes[o] for o in KNOWN) - other_5xx),
        ]
        cells += [percentiles(tally.latency[kind]) for kind, _ in MIX]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    lines.append(
        f"- Capacity of the mix: {capacity.ok() / measure:.1f} operations/s; offered "
        f"{rate:.1f}/s under overload, of which {overload.ok() / overload_s:.1f}/s "
        "were served."
    )
    statuses = Counter()
    for tally in (capacity, overload):
        statuses.update(tally.statuses)
    lines.append(
        "- Every request's answer: "
        + ", ".join(f"{status}: {n}" for status, n in sorted(statuses.items(), key=str))
        + "."
    )
    lines.append(
        f"- Checkouts confirmed to a client: {len(confirmed)}; found in the database: "
        f"{len(stored)}; orders written by the run: {new_orders} (an order written whose "
        "confirmation never reached its client would show here as a difference)."
    )
    return "\n".join(lines)


KNOWN = ("ok", "503 busy", "429", "no answer")


def percentiles(seconds: list[float]) -> str:
    if len(seconds) < 2:
        return "-"
    cuts = statistics.quantiles(seconds, n=100)
    return f"{cuts[49] * 1000:.0f} / {cuts[98] * 1000:.0f}"


if __name__ == "__main__":
    main()
