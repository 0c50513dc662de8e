"""Search by photo: the page, its results fragment, its rate limit."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from recommender.behaviour.recording import shopper_event_record
from recommender.encoders import UnreadableImage
from recommender.encoding import IndexOutdated
from recommender.selectors import (
    PhotoSearch,
    index_live,
    product_list_by_photo,
    product_search_by_photo,
)
from shop.forms import PhotoSearchForm, ProductFilterForm
from shop.photo_search_limit import photo_search_limit_exceeded
from shop.selectors import filter_choices
from shop.views.catalogue import RAIL_SIZE

PHOTO_RESULTS = 24

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
    # PHOTO_SEARCH_RATE per client address, counting photos rather than each crop nudge
    # (shop/photo_search_limit.py).
    retry_after = posted and photo_search_limit_exceeded(request)
    filter_form = ProductFilterForm(request.POST if posted else request.GET, **filter_choices())
    # Over the limit the photo is not decoded: the page comes back with the message.
    form = (
        PhotoSearchForm(request.POST, request.FILES)
        if posted and not retry_after
        else PhotoSearchForm()
    )
    context = {"form": form, "filter_form": filter_form, "ready": index_live() is not None}
    status = 200
    if retry_after:
        context["rate_limited"] = PHOTO_SEARCH_LIMITED.format(seconds=retry_after)
        status = 429
    elif posted:
        if form.is_valid():
            try:
                found = product_search_by_photo(
                    photo=form.cleaned_data["photo"],
                    box=form.cleaned_data["box"],
                    k=PHOTO_RESULTS,
                    filters=filter_form.filters(),
                    find_product=not form.cleaned_data["whole_photo"],
                )
                context |= {"results": found.results, "unsure": found.unsure}
                shopper_event_record(request, kind="photo_search", results=len(found.results))
                context["found"] = _found_for_script(found)
            except UnreadableImage as error:
                form.add_error("photo", f"We could not read this photo: {error}.")
            except IndexOutdated:
                form.add_error(None, SEARCH_BEING_REBUILT)
                status = 503
        if form.errors:
            status = status if status != 200 else 400
        elif not context["results"] and filter_form.active:
            # Nothing within the filters: show what looks like the photo outside them.
            context["suggestions"] = product_list_by_photo(
                photo=form.cleaned_data["photo"],
                box=form.cleaned_data["box"],
                k=RAIL_SIZE,
                find_product=not form.cleaned_data["whole_photo"],
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


def _found_for_script(found: PhotoSearch) -> dict:
    """What the page's script needs to pre-select the product it searched as the crop box and
    to offer the others (fractions of the photo: left, top, width, height)."""
    return {
        "items": [[round(v, 4) for v in item.box] for item in found.items],
        "searched": found.searched and [round(v, 4) for v in found.searched],
    }
