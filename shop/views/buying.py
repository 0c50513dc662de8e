"""Buying: the cart, checkout and the order confirmation."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from recommender.behaviour.recording import rail_lead, shopper_event_record
from recommender.selectors import SimilarProduct, product_list_you_may_like
from shop.cart import Cart, CartError, cart_totals
from shop.forms import CheckoutForm, QuantityForm
from shop.models import Order, Product
from shop.selectors import ProductFilters, product_list_storefront
from shop.services import OrderError, order_place
from shop.views.catalogue import RAIL_SIZE

SESSION_ORDERS = "orders"  # references of the orders placed in this session

SESSION_CHECKOUT_TOKENS = "checkout_tokens"  # tokens of the checkout pages this session was given

CHECKOUT_TOKENS_KEPT = 5


@require_POST
def cart_add(request: HttpRequest, product_id: int) -> HttpResponse:
    product = get_object_or_404(Product, pk=product_id, is_active=True)
    form = QuantityForm(request.POST)
    back = _safe_next(request) or reverse("shop:product", args=[product.slug])
    if not form.is_valid() or form.cleaned_data["quantity"] < 1:
        messages.error(request, "Choose a quantity of at least 1.")
        return redirect(back)
    cart = Cart(request.session)
    variant_id = form.cleaned_data["variant"]
    wanted = cart.quantity(product.pk, variant_id) + form.cleaned_data["quantity"]
    try:
        line, got = cart.set(product.pk, wanted, variant_id)
    except CartError as error:
        messages.error(request, str(error))
        return redirect(back)
    if got > wanted - form.cleaned_data["quantity"]:
        shopper_event_record(
            request,
            kind="cart_add",
            product_id=product.pk,
            quantity=got - (wanted - form.cleaned_data["quantity"]),
            rail=rail_lead(request, product_id=product.pk),
        )
    if got < wanted:
        messages.warning(request, f"Only {line.stock} of {line.name} in stock: {got} in your cart.")
    else:
        messages.success(request, f"Added {line.name} to your cart.")
    return redirect(back)


@require_POST
def cart_update(request: HttpRequest, product_id: int) -> HttpResponse:
    cart = Cart(request.session)
    form = QuantityForm(request.POST)
    variant_id = form.cleaned_data["variant"] if form.is_valid() else None
    if "remove" in request.POST or (form.is_valid() and form.cleaned_data["quantity"] == 0):
        # A form whose quantity is bad still names the line to remove.
        variant = request.POST.get("variant", "")
        cart.remove(product_id, int(variant) if variant.isdigit() else None)
        messages.success(request, "Removed from your cart.")
    elif not form.is_valid():
        messages.error(request, "Choose a quantity from 0 to 99.")
    else:
        wanted = form.cleaned_data["quantity"]
        try:
            line, got = cart.set(product_id, wanted, variant_id)
        except CartError as error:
            messages.error(request, str(error))
        else:
            if got < wanted:
                messages.warning(request, f"Only {line.stock} of {line.name} in stock.")
    return redirect("shop:cart")


@require_GET
def cart(request: HttpRequest) -> HttpResponse:
    lines = Cart(request.session).lines()
    suggestions = _you_may_like(lines)
    if lines and suggestions:
        shown = [similar.product.pk for similar in suggestions]
        shopper_event_record(request, kind="impression", rail="you_may_like", shown=shown)
    return render(
        request,
        "shop/cart.html",
        {
            "lines": lines,
            "totals": cart_totals(lines),
            "can_checkout": bool(lines) and not any(line.problem for line in lines),
            "suggestions": suggestions,
        },
    )


def _you_may_like(lines) -> list:
    """Like what is in the cart; for an empty cart, what is new and in stock."""
    if lines:
        return product_list_you_may_like(products=[line.product for line in lines], k=RAIL_SIZE)
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
            placed_now = order.reference not in request.session.get(SESSION_ORDERS, [])
            for line in order.lines.all() if placed_now else []:  # not a resubmitted page
                shopper_event_record(
                    request,
                    kind="order",
                    product_id=line.product_id,
                    quantity=line.quantity,
                    amount=line.subtotal,
                    rail=rail_lead(request, product_id=line.product_id),
                )
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


def _safe_next(request: HttpRequest) -> str:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return ""
