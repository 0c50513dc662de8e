"""What shoppers do, recorded: which events the storefront and the API record, that nothing
personal is stored, that nothing is recorded for those who are not to be, and how events are
stored (day partitions, once each, expired)."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from rest_framework.throttling import ScopedRateThrottle

from recommender.behaviour import privacy, recording
from recommender.behaviour.storing import (
    shopper_event_partitions,
    shopper_events_expire,
    shopper_events_store,
)
from recommender.models import ShopperEvent, VisitorSalt
from tests.factories.catalogue import ProductFactory
from tests.factories.orders import CONTACT
from tests.factories.recommender import random_index
from tests.factories.staff import staff_user

pytestmark = pytest.mark.django_db

BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"


@pytest.fixture(autouse=True)
def empty_outbox():
    recording.outbox.take(10**9)
    privacy._salts.clear()  # a process keeps the day's salt; each test has a new database
    yield
    recording.outbox.take(10**9)


@pytest.fixture
def shopper():
    return Client(headers={"user-agent": BROWSER})


@pytest.fixture
def shop():
    products = [ProductFactory(title=f"Shirt {n}", price="20.00", stock=9) for n in range(12)]
    random_index(products)
    return products


def stored() -> list[ShopperEvent]:
    """What the workers would store from this process's outbox, in the order it was recorded."""
    shopper_events_store(events=recording.outbox.take(10**9))
    return list(ShopperEvent.objects.order_by("occurred_at"))


def checkout(client):
    form = client.get(reverse("shop:checkout")).context["form"]
    hidden = {name: form.initial[name] for name in ("checkout_token", "expected_total")}
    return client.post(reverse("shop:checkout"), {**CONTACT, **hidden})


def test_a_product_page_records_the_view_and_the_rail_it_showed(shopper, shop):
    response = shopper.get(reverse("shop:product", args=[shop[0].slug]))
    rail = [item.product.pk for item in response.context["rail"]]
    assert len(rail) == 10

    view, impression = stored()
    assert (view.kind, view.product_id) == ("view", shop[0].pk)
    assert (impression.kind, impression.rail, impression.product_id) == (
        "impression",
        "similar",
        shop[0].pk,
    )
    assert impression.shown == rail
    assert view.visitor == impression.visitor
    # Each rail item's link says where it was, so that a click on it is recorded.
    assert "?rail=similar&amp;pos=3" in response.content.decode()


def test_nothing_personal_is_stored(shopper, shop):
    shopper.get(reverse("shop:product", args=[shop[0].slug]), REMOTE_ADDR="203.0.113.9")
    shopper.get(reverse("shop:search"), {"q": "shirt"})
    token = shopper.cookies[privacy.VISITOR_COOKIE].value
    session_key = shopper.session.session_key

    events = stored()
    assert len(events) == 3
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {ShopperEvent._meta.db_table}")
        columns = [column.name for column in cursor.description]
        everything = repr(cursor.fetchall())
    assert not {"ip", "address", "user_agent", "agent", "session", "session_key"} & set(columns)
    for personal in (token, "203.0.113.9", "Chrome/131.0", "Mozilla", str(session_key)):
        assert personal not in everything
    # The cookie is random and HttpOnly: it means nothing outside this shop.
    assert shopper.cookies[privacy.VISITOR_COOKIE]["httponly"]
    assert len({event.visitor for event in events}) == 1


def test_a_rail_click_is_recorded_and_the_cart_and_order_it_led_to_are_attributed(shopper, shop):
    clicked, plain = shop[3], shop[4]
    shopper.get(reverse("shop:product", args=[clicked.slug]), {"rail": "similar", "pos": "3"})
    shopper.post(reverse("shop:cart_add", args=[clicked.pk]), {"quantity": 2})
    shopper.get(reverse("shop:product", args=[plain.slug]))
    shopper.post(reverse("shop:cart_add", args=[plain.pk]), {"quantity": 1})
    assert checkout(shopper).status_code == 302

    events = [event for event in stored() if event.kind in ("click", "cart_add", "order")]
    summary = [(e.kind, e.product_id, e.rail, e.position, e.quantity, e.amount) for e in events]
    assert summary == [
        ("click", clicked.pk, "similar", 3, None, None),
        ("cart_add", clicked.pk, "similar", None, 2, None),
        ("cart_add", plain.pk, "", None, 1, None),
        ("order", clicked.pk, "similar", None, 2, 40),
        ("order", plain.pk, "", None, 1, 20),
    ]


def test_submitting_a_checkout_page_again_records_its_order_once(shopper, shop):
    shopper.post(reverse("shop:cart_add", args=[shop[0].pk]), {"quantity": 1})
    form = shopper.get(reverse("shop:checkout")).context["form"]
    page = {**CONTACT, **{n: form.initial[n] for n in ("checkout_token", "expected_total")}}
    shopper.post(reverse("shop:checkout"), page)
    shopper.post(reverse("shop:cart_add", args=[shop[0].pk]), {"quantity": 1})
    shopper.post(reverse("shop:checkout"), page)  # the same page again: its first order
    assert [e.kind for e in stored() if e.kind == "order"] == ["order"]


@pytest.mark.parametrize(
    "query",
    [
        {"rail": "elsewhere", "pos": "1"},
        {"rail": "similar", "pos": "first"},
        {"rail": "similar", "pos": "1000"},
        {"rail": "similar", "pos": "0"},
        {"rail": "similar"},
    ],
)
def test_a_made_up_rail_link_shows_the_page_and_records_no_click(shopper, shop, query):
    response = shopper.get(reverse("shop:product", args=[shop[0].slug]), query)
    assert response.status_code == 200
    assert [event.kind for event in stored()] == ["view", "impression"]


def test_a_text_search_is_recorded_with_what_it_found_but_not_its_further_pages(shopper):
    for n in range(30):
        ProductFactory(title=f"Linen shirt {n}")
    shopper.get(reverse("shop:search"), {"q": "linen shirt"})
    shopper.get(reverse("shop:search"), {"q": "linen shirt", "page": 2})
    shopper.get(reverse("shop:search"), {"q": "velvet cape"})
    searches = [(e.kind, e.query, e.results) for e in stored()]
    assert searches == [("text_search", "linen shirt", 30), ("text_search", "velvet cape", 0)]


@pytest.mark.parametrize(
    "headers",
    [
        {"user-agent": BROWSER, "dnt": "1"},
        {"user-agent": BROWSER, "sec-gpc": "1"},
        {"user-agent": "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"},
        {"user-agent": "python-requests/2.32.3"},
        {},  # no user agent at all: a script
    ],
    ids=["do-not-track", "global-privacy-control", "googlebot", "script", "nameless"],
)
def test_nothing_is_recorded_for_who_asks_not_to_be_or_is_no_shopper(shop, headers):
    client = Client(headers=headers)
    assert client.get(reverse("shop:product", args=[shop[0].slug])).status_code == 200
    client.post(reverse("shop:cart_add", args=[shop[0].pk]), {"quantity": 1})
    assert stored() == []
    assert privacy.VISITOR_COOKIE not in client.cookies


def test_recording_switched_off_records_nothing(shopper, shop, settings):
    settings.EVENTS_ENABLED = False
    shopper.get(reverse("shop:product", args=[shop[0].slug]))
    assert stored() == []


def test_with_consent_required_nothing_is_recorded_until_the_shopper_says_yes(shop, settings):
    settings.EVENTS_REQUIRE_CONSENT = True
    product_url = reverse("shop:product", args=[shop[0].slug])
    yes, no = Client(headers={"user-agent": BROWSER}), Client(headers={"user-agent": BROWSER})
    for client in (yes, no):
        page = client.get(product_url).content.decode()
        assert "Nothing is noted until you say yes." in page
    assert stored() == []
    assert privacy.VISITOR_COOKIE not in yes.cookies

    answered = yes.post(reverse("shop:consent"), {"answer": "yes", "next": product_url})
    assert answered.status_code == 302 and answered["Location"] == product_url
    no.post(reverse("shop:consent"), {"answer": "no", "next": product_url})
    assert "Nothing is noted until you say yes." not in yes.get(product_url).content.decode()
    assert "Nothing is noted until you say yes." not in no.get(product_url).content.decode()

    assert [event.kind for event in stored()] == ["view", "impression"]
    assert yes.cookies[privacy.VISITOR_COOKIE].value
    assert not no.cookies.get(privacy.VISITOR_COOKIE, "") or not no.cookies["vitrine_visitor"].value


def test_the_consent_banner_is_not_shown_to_a_browser_that_refuses_tracking(shop, settings):
    settings.EVENTS_REQUIRE_CONSENT = True
    client = Client(headers={"user-agent": BROWSER, "sec-gpc": "1"})
    page = client.get(reverse("shop:home")).content.decode()
    assert "Nothing is noted until you say yes." not in page


def test_a_visitor_has_one_pseudonym_a_day_and_old_days_cannot_be_traced_back():
    today = datetime.now(UTC).date()
    yesterday = today - timedelta(days=1)
    a, b = privacy.visitor_token_new(), privacy.visitor_token_new()
    assert privacy.visitor_pseudonym(a, day=today) == privacy.visitor_pseudonym(a, day=today)
    assert privacy.visitor_pseudonym(a, day=today) != privacy.visitor_pseudonym(b, day=today)
    assert privacy.visitor_pseudonym(a, day=today) != privacy.visitor_pseudonym(a, day=yesterday)
    assert a not in privacy.visitor_pseudonym(a, day=today)

    # Two days on, yesterday's salt is deleted: nothing can say whose its pseudonyms were.
    shopper_events_expire(now=datetime.now(UTC) + timedelta(days=1))
    assert list(VisitorSalt.objects.values_list("day", flat=True)) == [today]


def event(day: datetime, kind: str = "view", **fields) -> dict:
    return recording._event("v" * 32, kind=kind, product_id=1, **fields) | {
        "occurred_at": day.isoformat()
    }


def test_a_batch_delivered_twice_is_stored_once():
    now = datetime.now(UTC)
    batch = [event(now), event(now - timedelta(minutes=1))]
    shopper_events_store(events=batch)
    shopper_events_store(events=batch)  # a worker died before acknowledging it
    assert ShopperEvent.objects.count() == 2
    shopper_events_store(events=[*batch, event(now)])  # stored in part: the rest goes in
    assert ShopperEvent.objects.count() == 3


def test_every_field_is_stored_as_recorded():
    now = datetime.now(UTC)
    order = event(
        now, rail="similar", quantity=2, amount=Decimal("12.50"), experiment_id=3, arm="B"
    )
    impression = event(now, kind="impression", rail="similar", shown=[7, 3, 5])
    search = event(now, kind="text_search", query="blue\tshirt\n\\N 'é' \\", results=0)
    shopper_events_store(events=[order, impression, search])

    stored = {str(row.id): row for row in ShopperEvent.objects.all()}
    assert [stored[order["id"]].amount, stored[order["id"]].quantity] == [Decimal("12.50"), 2]
    assert [stored[order["id"]].experiment_id, stored[order["id"]].arm] == [3, "B"]
    assert stored[order["id"]].occurred_at == now
    assert [stored[impression["id"]].shown, stored[impression["id"]].query] == [[7, 3, 5], ""]
    assert stored[search["id"]].query == "blue\tshirt\n\\N 'é' \\"
    assert [stored[search["id"]].product_id, stored[search["id"]].shown] == [1, []]
    assert stored[search["id"]].position is None


def test_each_day_is_a_partition_and_days_past_retention_are_dropped(settings):
    settings.EVENTS_RETENTION_DAYS = 2
    now = datetime(2031, 5, 10, 12, tzinfo=UTC)
    shopper_events_store(events=[event(now - timedelta(days=d)) for d in (0, 1, 2, 2)])
    days = [day.isoformat() for _, day in shopper_event_partitions()]
    assert days == ["2031-05-08", "2031-05-09", "2031-05-10"]

    dropped = shopper_events_expire(now=now)
    assert dropped == ["recommender_shopperevent_20310508"]
    days = [day.isoformat() for _, day in shopper_event_partitions()]
    assert days == ["2031-05-09", "2031-05-10", "2031-05-11"]  # tomorrow's made ahead
    assert ShopperEvent.objects.count() == 2


def test_events_have_a_queue_of_their_own_that_every_worker_consumes(events_queue, memory_queue):
    from config.celery_app import app as celery_app

    recording.outbox.put(recording._event("v" * 32, kind="view", product_id=1))
    assert recording.outbox_send() == 1
    assert events_queue.qsize() == 1 and memory_queue.qsize() == 0  # not behind indexing work
    assert {"celery", "events"} <= set(celery_app.amqp.queues)  # a worker without -Q reads both


def test_while_the_broker_is_down_events_wait_and_beyond_the_limit_the_oldest_go(
    shopper, shop, events_queue, monkeypatch
):
    from config.celery_app import app as celery_app

    monkeypatch.setattr(recording.outbox, "limit", 5)
    monkeypatch.setattr(celery_app.conf, "broker_url", "redis://127.0.0.1:9/0")  # nobody there
    celery_app._pool, celery_app.amqp._producer_pool = None, None
    assert shopper.get(reverse("shop:product", args=[shop[0].slug])).status_code == 200
    for product in shop[1:9]:  # 8 more events: the page's and the first 3 of these cannot wait
        recording.outbox.put(recording._event("v" * 32, kind="view", product_id=product.pk))
    assert recording.outbox_send() == 0
    assert len(recording.outbox) == 5 and recording.outbox.dropped >= 5

    monkeypatch.undo()  # the broker is back (the tests' memory queue)
    celery_app._pool, celery_app.amqp._producer_pool = None, None
    assert recording.outbox_send() == 5
    (message,) = [events_queue.get(block=False) for _ in range(events_queue.qsize())]
    assert message.headers["task"] == "recommender.tasks.store_shopper_events"
    sent = message.payload[0][0]
    assert [e["product_id"] for e in sent] == [product.pk for product in shop[4:9]]


class TestTheApi:
    url = "/api/v1/events/"
    body = {
        "visitor": "app-7f3e9c2a41b84d0c",
        "events": [
            {"kind": "view", "product": 5},
            {"kind": "impression", "product": 5, "rail": "similar", "shown": [6, 7, 8]},
            {"kind": "click", "product": 7, "rail": "similar", "position": 2},
            {"kind": "order", "product": 7, "rail": "similar", "quantity": 1, "amount": "19.90"},
        ],
    }

    def test_a_front_end_records_its_shoppers_events(self, client):
        client.force_login(staff_user("app", "add_shopperevent"))
        response = client.post(self.url, self.body, content_type="application/json")
        assert response.status_code == 202 and response.json() == {"accepted": 4}
        events = stored()
        assert [(e.kind, e.product_id) for e in events] == [
            ("view", 5),
            ("impression", 5),
            ("click", 7),
            ("order", 7),
        ]
        assert events[1].shown == [6, 7, 8] and events[3].amount == Decimal("19.90")
        assert {e.visitor for e in events} == {
            privacy.visitor_pseudonym(self.body["visitor"], day=datetime.now(UTC).date())
        }

    def test_one_request_may_carry_many_shoppers_events(self, client):
        client.force_login(staff_user("app", "add_shopperevent"))
        a, b = "app-shopper-a-0000001", "app-shopper-b-0000002"
        body = {
            "events": [
                {"visitor": a, "kind": "view", "product": 5},
                {"visitor": b, "kind": "view", "product": 6},
                {"visitor": a, "kind": "view", "product": 7},
            ]
        }
        response = client.post(self.url, body, content_type="application/json")
        assert response.status_code == 202 and response.json() == {"accepted": 3}
        today = datetime.now(UTC).date()
        pseudonym = {
            a: privacy.visitor_pseudonym(a, day=today),
            b: privacy.visitor_pseudonym(b, day=today),
        }
        assert [(e.visitor, e.product_id) for e in stored()] == [
            (pseudonym[a], 5),
            (pseudonym[b], 6),
            (pseudonym[a], 7),
        ]
        # Events that name no shopper, in a request that names none either: refused, all of them.
        body["events"].append({"kind": "view", "product": 8})
        response = client.post(self.url, body, content_type="application/json")
        assert response.status_code == 400 and "visitor" in response.json()["fields"]
        assert len(stored()) == 3

    def test_only_staff_allowed_to_record_may(self, client):
        assert client.post(self.url, self.body, content_type="application/json").status_code == 401
        client.force_login(staff_user("clerk", "view_order"))
        assert client.post(self.url, self.body, content_type="application/json").status_code == 403
        assert stored() == []

    @pytest.mark.parametrize(
        "change, field",
        [
            ({"visitor": "short"}, "visitor"),
            ({"events": []}, "events"),
            ({"events": [{"kind": "teleport"}]}, "events"),
            ({"events": [{"kind": "click", "rail": "nowhere"}]}, "events"),
            ({"events": [{"kind": "view", "product": -1}]}, "events"),
            ({"events": [{"kind": "view"}] * 501}, "events"),
            ({"events": [{"product": 5}]}, "events"),  # no kind
            ({"events": ["view"]}, "events"),
            ({"events": [{"kind": "view", "query": "x" * 201}]}, "events"),
            ({"events": [{"kind": "view", "visitor": "short"}]}, "events"),
            ({"visitor": None}, "visitor"),
        ],
    )
    def test_bad_events_are_refused_with_what_is_wrong_and_none_recorded(
        self, client, change, field
    ):
        client.force_login(staff_user("app", "add_shopperevent"))
        response = client.post(self.url, self.body | change, content_type="application/json")
        assert response.status_code == 400 and field in response.json()["fields"]
        assert stored() == []

    def test_it_is_rate_limited(self, client, monkeypatch):
        rates = {**ScopedRateThrottle.THROTTLE_RATES, "events": "2/min"}
        monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", rates)  # read at import
        client.force_login(staff_user("app", "add_shopperevent"))
        codes = [
            client.post(self.url, self.body, content_type="application/json").status_code
            for _ in range(3)
        ]
        assert codes == [202, 202, 429]
