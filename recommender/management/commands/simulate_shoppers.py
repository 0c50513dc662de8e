import time

from django.core.management.base import BaseCommand, CommandError

from recommender.behaviour.simulated_shoppers import Product, shoppers_simulate
from recommender.selectors import index_live
from shop.models import Product as CatalogueProduct


class Command(BaseCommand):
    help = (
        "Send simulated shoppers with hidden tastes to a running storefront over HTTP: they "
        "browse categories, click rails, fill carts and check out. Synthetic: for tests, "
        "benchmarks and the demo, never evidence about real shoppers."
    )

    def add_arguments(self, parser):
        parser.add_argument("base_url", help="the storefront, e.g. http://127.0.0.1:8000")
        parser.add_argument("--visitors", type=int, default=100)
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--concurrency", type=int, default=4)
        parser.add_argument("--styles", type=int, default=12, help="tastes the visitors share")
        parser.add_argument(
            "--checkout-rate", type=float, default=0.5, help="share of carts checked out"
        )
        parser.add_argument(
            "--wait-for-index",
            type=int,
            default=0,
            metavar="SECONDS",
            help="wait up to this long for a live similarity index (rails) before starting",
        )

    def handle(self, *args, base_url, visitors, seed, concurrency, styles, checkout_rate, **more):
        if not base_url.startswith(("http://", "https://")):
            raise CommandError(f"base_url must be an http(s) URL, got {base_url!r}")
        deadline = time.monotonic() + more["wait_for_index"]
        while index_live() is None and time.monotonic() < deadline:
            time.sleep(5)
        catalogue = [
            Product(slug, gender, category, colour)
            for slug, gender, category, colour in CatalogueProduct.objects.filter(
                is_active=True, category__isnull=False
            ).values_list("slug", "gender", "category__slug", "colour")
        ]
        try:
            tally = shoppers_simulate(
                base_url=base_url,
                catalogue=catalogue,
                visitors=visitors,
                seed=seed,
                concurrency=concurrency,
                styles=styles,
                checkout_rate=checkout_rate,
            )
        except ValueError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(
            f"{tally.visitors} simulated visitors: {tally.views} product views, "
            f"{tally.rail_clicks} rail clicks, {tally.cart_adds} added to carts, "
            f"{tally.orders} orders (synthetic)."
        )
        for error, count in tally.errors.most_common(5):
            self.stderr.write(f"{count} x {error}")
        if tally.errors:
            raise CommandError(f"{sum(tally.errors.values())} requests failed")
