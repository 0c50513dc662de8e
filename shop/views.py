"""Storefront pages. Thin: read the request, call a selector or service, render."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from config.ratelimits import post_limit_exceeded
from recommender.encoders import UnreadableImage
from recommender.encoding import IndexOutdated
from recommender.selectors import (
    SimilarProduct,
    live_index,
    products_by_photo,
    products_by_text,
    products_you_may_like,
    similar_products,
)
from shop.cart import Cart, CartError, cart_totals
from shop.forms import (
    SORT_CHOICES,
    CheckoutForm,
    PhotoSearchForm,
    ProductFilterForm,
    QuantityForm,
    SortForm,
)
from shop.models import Category, Order, Product
from shop.selectors import (
    ProductFilters,
    category_children,
    category_top,
    colour_choices,
    product_get_storefront,
    product_list_storefront,
)
from shop.services import OrderError, order_place

PRODUCTS_PER_PAGE = 24
RAIL_SIZE = 10
PHOTO_RESULTS = 24
SESSION_ORDERS = "orders"  # references of the orders placed in this session
SESSION_CHECKOUT_TOKENS = "checkout_tokens"  # tokens of the checkout pages this session was given
CHECKOUT_TOKENS_KEPT = 5


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    new_arrivals = product_list_storefront()[:12]
    return render(
        request, "shop/home.html", {"new_arrivals": new_arrivals, "categories": category_top()}
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
    filter_form = ProductFilterForm(request.GET, colours=colour_choices())
    filters = filter_form.filters(category)
    sort = SortForm(request.GET).value(default="relevance" if search else "new")
    products = product_list_storefront(filters=filters, search=search, sort=sort)
    page = Paginator(products, PRODUCTS_PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "title": title,
        "page": page,
        "filter_form": filter_form,
        "sort": sort,
        "sort_choices": ([("relevance", "Best match")] if search else []) + SORT_CHOICES,
        # Product links carry the filters, so that their rails stay within them.
        "filter_query": _filter_query(request.GET),
        **extra,
    }
    if not page.object_list and search:
        context["suggestions"] = products_by_text(text=search, k=RAIL_SIZE, filters=filters)
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
    filter_form = ProductFilterForm(request.GET, colours=colour_choices())
    filters = filter_form.filters()
    rail = similar_products(product=product, k=RAIL_SIZE, filters=filters)
    cart = Cart(request.session)
    ancestors = list(Category.objects.get_ancestors(product.category)) if product.category else []
    return render(
        request,
        "shop/product_detail.html",
        {
            "product": product,
            "images": list(product.images.all()),
            "ancestors": ancestors,
            "attributes": _attributes(product, ancestors),
            "rail": rail,
            "rail_filtered": filter_form.active,
            "filter_query": _filter_query(request.GET),
            "in_cart": cart.quantity(product.pk),
            "quantity_form": QuantityForm(initial={"quantity": 1}),
        },
    )


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


@require_POST
def cart_add(request: HttpRequest, product_id: int) -> HttpResponse:
    product = get_object_or_404(Product, pk=product_id, is_active=True)
    form = QuantityForm(request.POST)
    back = _safe_next(request) or reverse("shop:product", args=[product.slug])
    if not form.is_valid() or form.cleaned_data["quantity"] < 1:
        messages.error(request, "Choose a quantity of at least 1.")
        return redirect(back)
    cart = Cart(request.session)
    wanted = cart.quantity(product.pk) + form.cleaned_data["quantity"]
    try:
        product, got = cart.set(product.pk, wanted)
    except CartError as error:
        messages.error(request, str(error))
        return redirect(back)
    if got < wanted:
        messages.warning(
            request, f"Only {product.stock} of {product.title} in stock: {got} in your cart."
        )
    else:
        messages.success(request, f"Added {product.title} to your cart.")
    return redirect(back)


@require_POST
def cart_update(request: HttpRequest, product_id: int) -> HttpResponse:
    cart = Cart(request.session)
    form = QuantityForm(request.POST)
    if "remove" in request.POST or (form.is_valid() and form.cleaned_data["quantity"] == 0):
        cart.remove(product_id)
        messages.success(request, "Removed from your cart.")
    elif not form.is_valid():
        messages.error(request, "Choose a quantity from 0 to 99.")
    else:
        wanted = form.cleaned_data["quantity"]
        try:
            product, got = cart.set(product_id, wanted)
        except CartError as error:
            messages.error(request, str(error))
        else:
            if got < wanted:
                messages.warning(request, f"Only {product.stock} of {product.title} in stock.")
    return redirect("shop:cart")


@require_GET
def cart(request: HttpRequest) -> HttpResponse:
    lines = Cart(request.session).lines()
    return render(
        request,
        "shop/cart.html",
        {
            "lines": lines,
            "totals": cart_totals(lines),
            "can_checkout": bool(lines) and not any(line.problem for line in lines),
            "suggestions": _you_may_like(lines),
        },
    )


def _you_may_like(lines) -> list:
    """Like what is in the cart; for an empty cart, what is new and in stock."""
    if lines:
        return products_you_may_like(products=[line.product for line in lines], k=RAIL_SIZE)
    in_stock = product_list_storefront(filters=ProductFilters(in_stock=True))
    return [SimilarProduct(product, 0.0, 0.0, 0.0) for product in in_stock[:RAIL_SIZE]]


@require_http_methods(["GET", "POST"])
def checkout(request: HttpRequest) -> HttpResponse:
    cart = Cart(request.session)
    lines = cart.lines()
    if not lines:
        messages.info(request, "Your cart is empty.")
        return redirect("shop:cart")
    totals = cart_totals(lines)
    # Posted, the order's own checks say what went wrong (under the stock locks).
    if len(totals) > 1 or (request.method == "GET" and any(line.problem for line in lines)):
        messages.error(request, "Change or remove the lines marked in your cart to check out.")
        return redirect("shop:cart")
    (total,) = totals.values()
    form = CheckoutForm(request.POST or None, initial={"expected_total": total})
    if request.method == "POST" and form.is_valid():
        token = form.cleaned_data["checkout_token"]
        if str(token) not in request.session.get(SESSION_CHECKOUT_TOKENS, []):
            # Not a page this session was given: placing it could hand back another
            # session's order (the token makes a resubmitted page return its first order).
            messages.error(
                request, "This checkout page has expired. Please check and submit it again."
            )
        else:
            try:
                order = order_place(
                    items=cart.items(),
                    contact=form.cleaned_data,
                    checkout_token=token,
                    expected_total=form.cleaned_data["expected_total"],
                )
            except OrderError as error:
                for problem in error.problems.values():
                    messages.error(request, f"Your order was not placed: {problem}.")
                return redirect("shop:cart")
            cart.clear()
            request.session[SESSION_ORDERS] = [
                *request.session.get(SESSION_ORDERS, []),
                order.reference,
            ]
            return redirect("shop:order", reference=order.reference)
    form = _with_checkout_token(request, form)
    return render(request, "shop/checkout.html", {"form": form, "lines": lines, "total": total})


def _with_checkout_token(request: HttpRequest, form: CheckoutForm) -> CheckoutForm:
    """Give the page a checkout token of this session's own (a few stay valid: several tabs)."""
    token = str(uuid.uuid4())
    issued = request.session.get(SESSION_CHECKOUT_TOKENS, [])
    request.session[SESSION_CHECKOUT_TOKENS] = [*issued, token][-CHECKOUT_TOKENS_KEPT:]
    if form.is_bound:
        data = form.data.copy()
        data["checkout_token"] = token
        form.data = data
    else:
        form.initial["checkout_token"] = token
    return form


@require_GET
def order(request: HttpRequest, reference: str) -> HttpResponse:
    # Only the session that placed an order sees it: the reference alone is not a password.
    if reference not in request.session.get(SESSION_ORDERS, []):
        raise Http404("No such order")
    order = get_object_or_404(Order.objects.prefetch_related("lines"), reference=reference)
    return render(request, "shop/order.html", {"order": order})


SEARCH_BEING_REBUILT = (
    "Search by photo is being rebuilt after an update of the shop. Please try again in a few "
    "minutes; browsing works as usual."
)


PHOTO_SEARCH_LIMITED = (
    "You have searched by photo many times in a short while. Please wait {seconds} seconds "
    "and try again; browsing works as usual."
)


@require_http_methods(["GET", "POST"])
def photo_search(request: HttpRequest) -> HttpResponse:
    posted = request.method == "POST"
    # PHOTO_SEARCH_RATE per client address (config/ratelimits.py).
    retry_after = posted and post_limit_exceeded(
        request, group="photo-search", rate=settings.PHOTO_SEARCH_RATE
    )
    filter_form = ProductFilterForm(
        request.POST if posted else request.GET, colours=colour_choices()
    )
    # Over the limit the photo is not decoded: the page comes back with the message.
    form = (
        PhotoSearchForm(request.POST, request.FILES)
        if posted and not retry_after
        else PhotoSearchForm()
    )
    context = {"form": form, "filter_form": filter_form, "ready": live_index() is not None}
    status = 200
    if retry_after:
        context["rate_limited"] = PHOTO_SEARCH_LIMITED.format(seconds=retry_after)
        status = 429
    elif posted:
        if form.is_valid():
            try:
                context["results"] = products_by_photo(
                    photo=form.cleaned_data["photo"],
                    box=form.cleaned_data["box"],
                    k=PHOTO_RESULTS,
                    filters=filter_form.filters(),
                )
            except UnreadableImage as error:
                form.add_error("photo", f"We could not read this photo: {error}.")
            except IndexOutdated:
                form.add_error(None, SEARCH_BEING_REBUILT)
                status = 503
        if form.errors:
            status = status if status != 200 else 400
        elif not context["results"] and filter_form.active:
            # Nothing within the filters: show what looks like the photo outside them.
            context["suggestions"] = products_by_photo(
                photo=form.cleaned_data["photo"], box=form.cleaned_data["box"], k=RAIL_SIZE
            )
        context["searched"] = True
    # The page's script swaps in just the results, keeping the shopper's photo on the page.
    template = (
        "shop/_photo_results.html"
        if request.headers.get("Vitrine-Fragment") == "results"
        else "shop/photo_search.html"
    )
    response = render(request, template, context, status=status)
    if retry_after:
        response["Retry-After"] = str(retry_after)
    return response


def _safe_next(request: HttpRequest) -> str:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return ""
