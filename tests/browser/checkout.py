"""A shopper's checkout details, as the browser tests type them."""

from playwright.sync_api import Page

CHECKOUT_FIELDS = {
    "Full name": "Ada Lovelace",
    "Email": "ada@example.com",
    "Street address": "12 St James's Square",
    "City": "London",
    "Postcode (optional)": "SW1Y 4JH",
    "Country": "United Kingdom",
}


def checkout_fill(page: Page) -> None:
    """Fill the checkout form of the page open at /checkout/ (not submitted)."""
    for label, value in CHECKOUT_FIELDS.items():
        page.get_by_label(label, exact=True).fill(value)
