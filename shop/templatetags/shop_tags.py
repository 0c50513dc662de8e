from urllib.parse import urlencode

from django import template
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from shop import thumbnails

register = template.Library()


@register.simple_tag
def product_img(image, width: int, alt: str, sizes: str = "", css_class: str = "", lazy=True):
    """An ``<img>`` of a product photo at ``width`` CSS pixels, with a 2x ``srcset`` for sharp
    screens; width and height are set so that the page does not jump as photos arrive."""
    if not image:  # no photo (a missing template variable arrives as "")
        if not alt:  # decorative, as a card's photo beside its title
            return format_html('<span class="no-photo {}"></span>', css_class)
        return format_html(
            '<span class="no-photo {}" role="img" aria-label="{}"></span>', css_class, alt
        )
    one = thumbnails.thumbnail(image, width)
    larger = [w for w in thumbnails.WIDTHS if w > width][:1]
    candidates = [(one.url, one.width)] + [
        (thumb.url, thumb.width)
        for thumb in (thumbnails.thumbnail(image, w) for w in larger)
        if thumb.width > one.width
    ]
    srcset = format_html_join(", ", "{} {}w", candidates)
    return format_html(
        '<img src="{}" srcset="{}" sizes="{}" alt="{}" width="{}" height="{}" class="{}"'
        ' loading="{}" decoding="async">',
        one.url,
        srcset,
        sizes or f"{width}px",
        alt,
        one.width,
        one.height,
        css_class,
        "lazy" if lazy else "eager",
    )


@register.filter
def alt_beside(image, title: str) -> str:
    """A photo's alt text where the photo sits beside ``title`` in one link: empty when it
    would only repeat the title (screen readers would read it twice)."""
    alt = getattr(image, "alt_text", "") or ""
    return "" if alt.strip().casefold() == title.strip().casefold() else alt


@register.simple_tag(takes_context=True)
def query_with(context, **changes):
    """The current query string with ``changes`` applied (``None`` or "" removes a key)."""
    query = context["request"].GET.copy()
    for key, value in changes.items():
        query.pop(key, None)
        if value not in (None, ""):
            query[key] = value
    return query.urlencode()


@register.filter
def percent(fraction: float) -> str:
    return f"{round(float(fraction) * 100)}%"


@register.simple_tag
def product_url(product, filter_query: str = "", rail: str = "", position: int = 0) -> str:
    """A product's page, keeping the list's filters; from a rail, with the rail's name and the
    item's position (the click is recorded there, recommender/behaviour/recording.py)."""
    from_rail = urlencode({"rail": rail, "pos": position}) if rail else ""
    query = "&".join(part for part in (filter_query, from_rail) if part)
    url = reverse("shop:product", args=[product.slug])
    return f"{url}?{query}" if query else url
