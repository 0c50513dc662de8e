"""Storefront pages of the catalogue: home, category and search lists, the product page with
its rail. Thin: read the request, call a selector or service, render."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from recommender.behaviour.recording import (
    rail_click_record,
    rail_configuration,
    recently_viewed,
    recently_viewed_note,
    shopper_event_record,
)
from recommender.selectors import (
    behaviour_trusted,
    product_embedding_status,
    product_list_also_viewed,
    product_list_bought_together,
    product_list_by_text,
    product_list_picked_for,
    product_list_recently_viewed,
    product_list_similar,
    rail_blend,
)
from shop.cart import Cart
from shop.forms import (
    SORT_CHOICES,
    ProductFilterForm,
    QuantityForm,
    SortForm,
)
from shop.models import Category, Product
from shop.selectors import (
    category_children,
    category_top,
    filter_choices,
    product_get_storefront,
    product_list_storefront,
    product_search_storefront,
)

PRODUCTS_PER_PAGE = 24

RAIL_SIZE = 10


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    new_arrivals = product_list_storefront()[:12]
    picked = product_list_picked_for(product_ids=recently_viewed(request), k=RAIL_SIZE)
    if picked:
        shown = [item.product.pk for item in picked]
        shopper_event_record(request, kind="impression", rail="picked_for_you", shown=shown)
    return render(
        request,
        "shop/home.html",
        {"new_arrivals": new_arrivals, "categories": category_top(), "picked": picked},
    )


@require_GET
def category(request: HttpRequest, slug: str) -> HttpResponse:
    category = get_object_or_404(Category, slug=slug)
    return _product_list(
        request,
        category=category,
        title=category.name,
        extra={
            "category": category,
            "ancestors": list(Category.objects.get_ancestors(category)),
            "children": category_children(category=category),
        },
    )


@require_GET
def search(request: HttpRequest) -> HttpResponse:
    # NUL cannot reach PostgreSQL (and is never typed by a person).
    query = request.GET.get("q", "").replace("\x00", "").strip()[:200]
    title = f"Results for “{query}”" if query else "All products"
    return _product_list(request, search=query, title=title, extra={"query": query})


def _product_list(request, *, title, extra, category=None, search=""):
    filter_form = ProductFilterForm(request.GET, **filter_choices())
    filters = filter_form.filters(category)
    sort = SortForm(request.GET).value(default="relevance" if search else "new")
    if search:
        found = product_search_storefront(filters=filters, search=search, sort=sort)
        products, searched = found.products, found.searched if found.corrected else ""
    else:
        products, searched = product_list_storefront(filters=filters, sort=sort), ""
    page = Paginator(products, PRODUCTS_PER_PAGE).get_page(request.GET.get("page"))
    if search and page.number == 1:  # a search, not its further pages
        shopper_event_record(
            request, kind="text_search", query=search, results=page.paginator.count
        )
    context = {
        "title": title,
        "page": page,
        "searched_instead": searched,
        "filter_form": filter_form,
        "sort": sort,
        "sort_choices": ([("relevance", "Best match")] if search else []) + SORT_CHOICES,
        # Product links carry the filters, so that their rails stay within them.
        "filter_query": _filter_query(request.GET),
        **extra,
    }
    if not page.object_list and search:
        context["suggestions"] = product_list_by_text(text=search, k=RAIL_SIZE, filters=filters)
    return render(request, "shop/product_list.html", context)


def _filter_query(query) -> str:
    kept = query.copy()
    for key in list(kept):
        if key not in ProductFilterForm.base_fields:
            del kept[key]
    return kept.urlencode()


@require_GET
def product(request: HttpRequest, slug: str) -> HttpResponse:
    product = product_get_storefront(slug=slug)
    if product is None:
        raise Http404("No such product")
    filter_form = ProductFilterForm(request.GET, **filter_choices())
    filters = filter_form.filters()
    shopper_event_record(request, kind="view", product_id=product.pk)
    rail_click_record(request, product_id=product.pk)
    rails = _rails(request, product, filters)
    cart = Cart(request.session)
    ancestors = list(Category.objects.get_ancestors(product.category)) if product.category else []
    variants = list(product.variants.all())
    return render(
        request,
        "shop/product_detail.html",
        {
            "product": product,
            "images": list(product.images.all()),
            "variants": variants,
            "prices_vary": len({v.unit_price for v in variants}) > 1,
            "chosen_variant": next((v.pk for v in variants if v.stock > 0), None),
            "ancestors": ancestors,
            "attributes": _attributes(product, ancestors),
            **rails,
            "rail_filtered": filter_form.active,
            "rail_missing": (
                "" if rails["rail"] else _rail_missing(product, filtered=filter_form.active)
            ),
            "filter_query": _filter_query(request.GET),
            "in_cart": sum(cart.quantity(product.pk, variant.pk) for variant in variants)
            + cart.quantity(product.pk),
            "quantity_form": QuantityForm(initial={"quantity": 1}),
        },
    )


def _rails(request: HttpRequest, product: Product, filters) -> dict[str, list]:
    """The product page's rails for this shopper, each recorded as shown: the look-alikes (with
    their configuration, or their arm's in an experiment), "also viewed", "bought together" and
    the shopper's recently viewed."""
    config = rail_configuration(request)
    rail = product_list_similar(
        product=product,
        k=RAIL_SIZE,
        image_weight=config["image_weight"],
        text_weight=config["text_weight"],
        candidates=config["candidates"],
        filters=filters,
        cached=True,
    )
    also_viewed = product_list_also_viewed(product=product, k=RAIL_SIZE, filters=filters)
    if config["behaviour_share"] and (trusted := behaviour_trusted(also_viewed)):
        rail = rail_blend(rail, trusted, share=config["behaviour_share"], k=RAIL_SIZE)
    earlier = recently_viewed_note(request, product_id=product.pk)
    rails = {
        "rail": rail,
        "also_viewed": also_viewed,
        "bought_together": product_list_bought_together(
            product=product, k=RAIL_SIZE, filters=filters
        ),
        "recently_viewed": product_list_recently_viewed(product_ids=earlier, k=RAIL_SIZE),
    }
    for context_name, rail_name in (
        ("rail", "similar"),
        ("also_viewed", "also_viewed"),
        ("bought_together", "bought_together"),
        ("recently_viewed", "recently_viewed"),
    ):
        shown = [getattr(item, "product", item).pk for item in rails[context_name]]
        if shown:
            shopper_event_record(
                request, kind="impression", product_id=product.pk, rail=rail_name, shown=shown
            )
    return rails


def _rail_missing(product: Product, *, filtered: bool) -> str:
    """Why a product page has no rail, in the shopper's words."""
    status = product_embedding_status(product=product)
    if status is None:
        return "Similar products appear here once the catalogue has been indexed."
    if status == "pending":
        return "This product is new: similar products appear here once its photo has been indexed."
    if status == "failed":
        return "Similar products cannot be shown for this product."
    if filtered:
        return "No similar products within the filters of the list you came from."
    return "No similar products yet."


def _attributes(product: Product, ancestors: list[Category]) -> list[tuple[str, str]]:
    path = [*ancestors, product.category] if product.category else []
    rows = [
        ("Category", " > ".join(category.name for category in path)),  # as str(category)
        ("Gender", product.get_gender_display()),
        ("Colour", product.colour),
        ("Season", product.get_season_display()),
        ("Usage", product.usage),
        ("Year", str(product.year or "")),
    ]
    if isinstance(product.attributes, dict):  # free-form JSON: only an object has labels
        rows += [(str(key).capitalize(), str(value)) for key, value in product.attributes.items()]
    return [(label, value) for label, value in rows if value]
