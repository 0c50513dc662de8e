"""Simulated shoppers: visitors with hidden tastes browsing a running storefront over HTTP.

For tests, benchmarks and the demo shop, so that events, rails and Insights can be exercised
end to end. **Synthetic**: what they do follows the rules below, not real people, and proves
nothing about real shoppers.

The catalogue is read once to draw a few *styles*, each a gender, two or three categories and
two colours (a look: shirts, jeans and casual shoes in blue and white). Every visitor follows one
style: they open a category page of it (filtered by its gender), view the product that suits them
best among a few, then move through the page's rails, clicking items in proportion to
how well they suit the style and how high they sit, or go back to another category of the style.
A product that suits them well may go into the cart; a cart may be checked out (contact details
marked as simulated; the order takes stock like any other). The same seed gives the same visitors,
and, on the same catalogue and index, the same visits.
"""

from __future__ import annotations

import html
import http.cookiejar
import random
import re
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

BROWSER = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0 Safari/537.36 VitrineSimulatedShopper"
)
CONTACT = {
    "full_name": "Simulated Shopper",
    "email": "simulated-shopper@example.invalid",
    "phone": "",
    "address": "1 Simulation Street",
    "address_extra": "",
    "city": "London",
    "postcode": "SW1A 1AA",
    "country": "United Kingdom",
}
PRODUCT_LINK = re.compile(r'href="(/p/([^/"?]+)/(?:\?([^"]*))?)"')
HIDDEN = re.compile(r'name="(csrfmiddlewaretoken|checkout_token|expected_total)" value="([^"]*)"')


@dataclass(frozen=True)
class Product:
    slug: str
    gender: str
    category: str  # the category's slug
    colour: str


@dataclass(frozen=True)
class Style:
    gender: str
    categories: tuple[str, ...]  # slugs
    colours: tuple[str, ...]

    def suits(self, product: Product | None) -> float:
        """How much a visitor of this style wants ``product``, from 0.02 to 1."""
        if product is None or product.gender not in (self.gender, "Unisex"):
            return 0.02
        if product.category not in self.categories:
            return 0.05
        return 1.0 if product.colour in self.colours else 0.35


@dataclass
class Tally:
    visitors: int = 0
    views: int = 0
    rail_clicks: int = 0
    cart_adds: int = 0
    orders: int = 0
    errors: Counter = field(default_factory=Counter)

    def add(self, other: Tally) -> None:
        self.visitors += other.visitors
        self.views += other.views
        self.rail_clicks += other.rail_clicks
        self.cart_adds += other.cart_adds
        self.orders += other.orders
        self.errors.update(other.errors)


def styles_draw(products: list[Product], *, count: int, seed: int) -> list[Style]:
    """``count`` styles from the catalogue: each a gender, 2-3 of its categories with at least
    five products, and two of the colours common in them."""
    rng = random.Random(seed)
    by_gender: dict[str, Counter] = {}
    for product in products:
        by_gender.setdefault(product.gender, Counter())[product.category] += 1
    genders = sorted(gender for gender, categories in by_gender.items() if len(categories) >= 2)
    styles = []
    for _ in range(count):
        gender = rng.choice(genders)
        usable = sorted(category for category, n in by_gender[gender].items() if n >= 5)
        if len(usable) < 2:
            continue
        categories = tuple(rng.sample(usable, min(len(usable), rng.choice((2, 3)))))
        colours = Counter(
            p.colour for p in products if p.category in categories and p.gender == gender
        )
        common = [colour for colour, _ in colours.most_common(6) if colour]
        styles.append(Style(gender, categories, tuple(rng.sample(common, min(2, len(common))))))
    return styles


class Visitor:
    """One simulated shopper's visit, with a browser's cookies and user agent."""

    def __init__(self, base_url: str, style: Style, catalogue: dict[str, Product], seed: int):
        self.base = base_url.rstrip("/")
        self.style = style
        self.catalogue = catalogue
        self.rng = random.Random(seed)
        self.tally = Tally(visitors=1)
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )

    def visit(self, *, views: int, cart_rate: float, checkout_rate: float) -> Tally:
        page, in_cart = None, 0
        for _ in range(views):
            clicked = self._rail_click(page) if page is not None else None
            if clicked is None:
                page = self._from_category()
            else:
                page = clicked
                self.tally.rail_clicks += 1
            if page is None:
                break
            self.tally.views += 1
            product = self.catalogue.get(page[0])
            wanted = self.rng.random() < cart_rate * self.style.suits(product)
            if wanted and self._post(f"/cart/add/{page[2]}/", {"quantity": "1"}, page[1]):
                self.tally.cart_adds += 1
                in_cart += 1
        if in_cart and self.rng.random() < checkout_rate:
            self._checkout()
        return self.tally

    def _from_category(self):
        category = self.rng.choice(self.style.categories)
        listing = self._get(f"/c/{category}/?gender={urllib.parse.quote(self.style.gender)}")
        if listing is None:
            return None
        slugs = list(dict.fromkeys(slug for _, slug, _ in PRODUCT_LINK.findall(listing)))[:12]
        if not slugs:
            return None
        weights = [self.style.suits(self.catalogue.get(slug)) for slug in slugs]
        return self._open(self.rng.choices(slugs, weights)[0], "")

    def _rail_click(self, page):
        """Maybe click an item of one of the page's rails: in proportion to how well it suits
        the style, less the lower it sits; None to go back to a category instead."""
        _, text, _ = page
        items = [
            (slug, query)
            for _, slug, query in PRODUCT_LINK.findall(text)
            if "rail=" in html.unescape(query)
        ]
        weights = [
            self.style.suits(self.catalogue.get(slug)) / (1 + 0.15 * _position(query))
            for slug, query in items
        ]
        if not items or self.rng.random() > min(0.9, 1.2 * max(weights)):
            return None
        slug, query = self.rng.choices(items, weights)[0]
        return self._open(slug, html.unescape(query))

    def _open(self, slug: str, query: str):
        text = self._get(f"/p/{slug}/" + (f"?{query}" if query else ""))
        if text is None:
            return None
        product_id = re.search(r'action="/cart/add/(\d+)/"', text)
        return (slug, text, product_id.group(1)) if product_id else None

    def _checkout(self) -> None:
        page = self._get("/checkout/")
        if page is None:
            return
        hidden = dict(HIDDEN.findall(page))
        if self._post("/checkout/", {**CONTACT, **hidden}, page, expect="/orders/"):
            self.tally.orders += 1

    def _get(self, path: str) -> str | None:
        request = urllib.request.Request(self.base + path, headers={"User-Agent": BROWSER})
        try:
            with self.opener.open(request, timeout=60) as response:
                return response.read().decode()
        except (urllib.error.URLError, OSError) as error:
            self.tally.errors[f"GET {path.split('?')[0].split('/')[1]}: {error}"] += 1
            return None

    def _post(self, path: str, data: dict, page: str, *, expect: str = "") -> bool:
        token = dict(HIDDEN.findall(page)).get("csrfmiddlewaretoken", "")
        body = urllib.parse.urlencode({"csrfmiddlewaretoken": token, **data}).encode()
        headers = {"User-Agent": BROWSER, "Referer": self.base + "/"}
        request = urllib.request.Request(self.base + path, data=body, headers=headers)
        try:
            with self.opener.open(request, timeout=60) as response:
                if "/p/" in response.url:  # back on the product's page: viewed again
                    self.tally.views += 1
                return expect in response.url
        except (urllib.error.URLError, OSError) as error:
            self.tally.errors[f"POST {path.split('/')[1]}: {error}"] += 1
            return False


def shoppers_simulate(
    *,
    base_url: str,
    catalogue: list[Product],
    visitors: int,
    seed: int = 0,
    concurrency: int = 4,
    styles: int = 12,
    views: tuple[int, int] = (3, 10),
    cart_rate: float = 0.15,
    checkout_rate: float = 0.5,
) -> Tally:
    """Send ``visitors`` simulated shoppers to the storefront at ``base_url``."""
    drawn = styles_draw(catalogue, count=styles, seed=seed)
    if not drawn:
        raise ValueError("the catalogue has too few products per category to draw styles")
    by_slug = {product.slug: product for product in catalogue}
    rng = random.Random(seed)
    plans = [
        (rng.choice(drawn), rng.randrange(2**32), rng.randint(*views)) for _ in range(visitors)
    ]

    def one(plan) -> Tally:
        style, visitor_seed, count = plan
        visitor = Visitor(base_url, style, by_slug, visitor_seed)
        return visitor.visit(views=count, cart_rate=cart_rate, checkout_rate=checkout_rate)

    total = Tally()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        for tally in pool.map(one, plans):
            total.add(tally)
    return total


def _position(query: str) -> int:
    """An item's place in its rail, from 0 (its link's ``pos``)."""
    position = urllib.parse.parse_qs(query).get("pos", ["1"])[0]
    return int(position) - 1 if position.isdigit() else 0
