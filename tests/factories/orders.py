"""Orders as checkout leaves them, and a shopper's contact details."""

import factory

from shop.models import Order, OrderLine
from tests.factories.catalogue import ProductFactory

# A shopper's contact details, as the checkout form takes them.
CONTACT = {
    "full_name": "Ada Lovelace",
    "email": "ada@example.com",
    "phone": "",
    "address": "12 St James's Square",
    "address_extra": "",
    "city": "London",
    "postcode": "SW1Y 4JH",
    "country": "United Kingdom",
}


class OrderFactory(factory.django.DjangoModelFactory):
    """A placed order (its lines come from ``OrderLineFactory``; ``total`` is not recomputed)."""

    class Meta:
        model = Order

    full_name = CONTACT["full_name"]
    email = CONTACT["email"]
    address = CONTACT["address"]
    city = CONTACT["city"]
    postcode = CONTACT["postcode"]
    country = CONTACT["country"]
    total = "19.99"
    currency = "EUR"


class OrderLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OrderLine

    order = factory.SubFactory(OrderFactory)
    product = factory.SubFactory(ProductFactory)
    title = factory.LazyAttribute(lambda line: line.product.title)
    unit_price = factory.LazyAttribute(lambda line: line.product.price)
    quantity = 1
