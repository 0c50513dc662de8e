"""Checkout's contact details: real addresses of any country go through, nonsense is refused
with a message that says what to write, and phone numbers are stored in E.164."""

import pytest
from django.urls import reverse

from shop.models import Order
from tests.factories.catalogue import ProductFactory
from tests.factories.orders import CONTACT

pytestmark = pytest.mark.django_db

# Real-looking details (numbers from each country's drama or documentation ranges).
SHOPPERS = {
    "UK": (
        {
            "full_name": "Siobhan O'Neill-Parker",
            "phone": "020 7946 0958",
            "address": "10 Downing Street",
            "city": "London",
            "postcode": "SW1A 2AA",
            "country": "United Kingdom",
        },
        "+442079460958",
    ),
    "US": (
        {
            "full_name": "Mary J. Blige",
            "phone": "(212) 555-0134",
            "address": "350 Fifth Avenue",
            "address_extra": "Suite 3400",
            "city": "New York",
            "postcode": "10118-0110",
            "country": "USA",
        },
        "+12125550134",
    ),
    "Germany": (
        {
            "full_name": "Jürgen Groß",
            "phone": "030 901820",
            "address": "Pariser Platz 1",
            "city": "Berlin",
            "postcode": "10117",
            "country": "Deutschland",
        },
        "+4930901820",
    ),
    "Japan": (
        {
            "full_name": "山田 太郎",
            "phone": "03-1234-5678",
            "address": "千代田区千代田1-1",
            "city": "東京",
            "postcode": "100-0001",
            "country": "Japan",
        },
        "+81312345678",
    ),
    "India": (
        {
            "full_name": "अनीता शर्मा",  # Devanagari: letters and vowel signs
            "phone": "098765 43210",
            "address": "14 Janpath",
            "city": "New Delhi",
            "postcode": "110001",
            "country": "India",
        },
        "+919876543210",
    ),
    "Brazil": (
        {
            "full_name": "João da Silva",
            "phone": "+55 11 91234-5678",
            "address": "Avenida Paulista, 1578",
            "city": "São Paulo",
            "postcode": "01310-200",
            "country": "Brasil",
        },
        "+5511912345678",
    ),
    "Hong Kong": (  # no postcodes there
        {
            "full_name": "Chan Tai Man",
            "phone": "2123 4567",
            "address": "1 Queen's Road Central",
            "city": "Hong Kong",
            "postcode": "",
            "country": "Hong Kong",
        },
        "+85221234567",
    ),
}


def checkout(client, **changes):
    client.post(reverse("shop:cart_add", args=[ProductFactory().pk]), {"quantity": 1})
    form = client.get(reverse("shop:checkout")).context["form"]
    hidden = {name: form.initial[name] for name in ("checkout_token", "expected_total")}
    return client.post(reverse("shop:checkout"), {**CONTACT, **hidden, **changes})


@pytest.mark.parametrize("country", SHOPPERS)
def test_real_contact_details_from_each_country_place_the_order_with_the_phone_in_e164(
    client, country
):
    details, e164 = SHOPPERS[country]
    response = checkout(client, **details)
    assert response.status_code == 302, response.context["form"].errors
    order = Order.objects.get()
    assert order.phone == e164
    assert (order.full_name, order.city) == (details["full_name"], details["city"])


def test_a_phone_in_international_form_goes_through_whatever_the_country_is_called(client):
    response = checkout(client, phone="0049 30 901820", country="Federal Republic of Germany")
    assert response.status_code == 302
    assert Order.objects.get().phone == "+4930901820"


def test_the_phone_stays_optional(client):
    assert checkout(client, phone="").status_code == 302
    assert Order.objects.get().phone == ""


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("full_name", "A", "Enter your full name"),
        ("full_name", "R2-D2", "Enter your full name"),
        ("phone", "abc", "Enter a phone number that can be dialled"),
        ("phone", "12", "Enter a phone number that can be dialled"),
        ("postcode", "!!!", "Enter the postcode as it is written"),
        ("postcode", "ABC", "Enter the postcode as it is written"),
        ("city", "123", "Enter the town or city in letters"),
        ("country", "?", "Enter the country"),
    ],
)
def test_nonsense_is_refused_with_a_message_that_says_what_to_write(client, field, value, message):
    response = checkout(client, **{field: value})
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert list(errors) == [field]
    assert errors[field][0].startswith(message)
    assert Order.objects.count() == 0
    # In the error summary at the top of the page too, which leads to the field.
    content = response.content.decode()
    assert f'href="#id_{field}"' in content.split("error-summary", 1)[1].split("</div>", 1)[0]


def test_the_issue_s_name_phone_and_postcode_are_all_refused_at_once(client):
    response = checkout(client, full_name="A", phone="abc", postcode="!!!")
    assert set(response.context["form"].errors) == {"full_name", "phone", "postcode"}
    assert Order.objects.count() == 0


def test_a_local_number_for_an_unknown_country_asks_for_the_country_code(client):
    response = checkout(client, phone="030 901820", country="Atlantis")
    assert response.context["form"].errors["phone"] == [
        "Enter the phone number with its country code, e.g. +44 20 7946 0958."
    ]


@pytest.mark.parametrize("name", ["ジョン・スミス", "Maria·Dolors Puig"])
def test_names_written_with_a_middle_dot_go_through(client, name):
    assert checkout(client, full_name=name).status_code == 302
    assert Order.objects.get().full_name == name
