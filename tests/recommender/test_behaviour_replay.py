"""The behaviour rails replayed offline on recorded events, with a time split."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from recommender.behaviour import recording
from recommender.behaviour.storing import shopper_events_store
from recommender.quality.replay import ReplayError, behaviour_replay
from tests.factories.catalogue import ProductFactory
from tests.factories.recommender import random_index

pytestmark = pytest.mark.django_db

START = datetime(2031, 3, 1, 9, tzinfo=UTC)


def views(visitor: str, products, start: datetime) -> list[dict]:
    return [
        recording._event(visitor, kind="view", product_id=product.pk)
        | {"occurred_at": (start + timedelta(minutes=n)).isoformat()}
        for n, product in enumerate(products)
    ]


@pytest.fixture
def history():
    """40 shoppers who each view a, then b (the shoppers' habit, invisible to the photos), then
    a product of their own; the last 10 come after the split."""
    products = [ProductFactory(title=f"Lamp {n}") for n in range(40)]
    random_index(products)
    a, b = products[0], products[1]
    events = []
    for n in range(40):
        events += views(f"{n:032d}", [a, b, products[2 + n % 38]], START + timedelta(hours=n))
    shopper_events_store(events=events)
    return a, b


def test_the_shoppers_habit_is_found_by_behaviour_and_not_by_popularity_alone(history):
    figures = behaviour_replay(train_share=0.75, k=10, share=0.5)
    assert figures["views"] == 120 and figures["sessions"] == 10 and figures["steps"] == 20
    rails = figures["rails"]
    # Half the steps are a -> b, which "also viewed" learnt; the other half go anywhere.
    assert rails["behaviour"]["hit"] == pytest.approx(0.5)
    assert rails["behaviour"]["mrr"] == pytest.approx(0.5)
    assert rails["blend"]["hit"] >= rails["behaviour"]["hit"]
    # The most viewed products are a and b: popularity recommends b after a (not a itself).
    assert rails["popularity"]["hit"] >= 0.5
    for rail in rails.values():
        assert 0 < rail["coverage"] <= 1


def test_too_little_history_is_said_plainly():
    ProductFactory()
    with pytest.raises(ReplayError, match="too few"):
        behaviour_replay()
    with pytest.raises(CommandError, match="too few"):
        call_command("evaluate", "--behaviour-replay")
