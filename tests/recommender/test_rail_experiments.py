"""A/B tests of the product page's rail: assignment, what each arm sees, what is recorded,
results and verdicts (including their error rate), stopping and promoting from the admin."""

import math

import numpy as np
import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from recommender.behaviour import experiments, recording
from recommender.behaviour.experiments import MIN_SHOPPERS as MIN
from recommender.behaviour.experiments import ArmResult, conversion_verdict
from recommender.behaviour.storing import shopper_events_store
from recommender.models import BehaviourNeighbour, RailExperiment, RailSettings
from recommender.selectors import product_list_similar
from tests.factories.catalogue import ProductFactory
from tests.factories.orders import CONTACT
from tests.factories.recommender import random_index
from tests.factories.staff import staff_user

BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0"
IMAGE_ONLY = {"image_weight": 1.0, "text_weight": 0.0, "behaviour_share": 0.0, "candidates": 100}
TEXT_HEAVY = {"image_weight": 0.2, "text_weight": 0.8, "behaviour_share": 0.0, "candidates": 100}
# The drawn index has random image vectors and no text: behaviour is what changes the rail.
BEHAVIOUR_FIRST = {
    "image_weight": 0.7,
    "text_weight": 0.3,
    "behaviour_share": 1.0,
    "candidates": 100,
}
PAGE = reverse("admin:recommender_railexperiment_changelist")


def verdicts(rng, *, rate_a: float, rate_b: float, shoppers: int, tests: int) -> list[str]:
    a = rng.binomial(shoppers, rate_a, size=tests)
    b = rng.binomial(shoppers, rate_b, size=tests)
    return [
        conversion_verdict(ArmResult("A", shoppers, x, 0), ArmResult("B", shoppers, y, 0)).text
        for x, y in zip(a, b, strict=True)
    ]


def test_an_a_a_test_is_called_significant_no_more_often_than_its_stated_error_rate():
    called = verdicts(np.random.default_rng(0), rate_a=0.05, rate_b=0.05, shoppers=2000, tests=4000)
    rate = sum("sells more" in text for text in called) / len(called)
    # 5% stated; three standard errors of 4,000 tests either side.
    margin = 3 * math.sqrt(0.05 * 0.95 / 4000)
    assert 0.05 - margin <= rate <= 0.05 + margin


def test_an_arm_that_truly_sells_more_is_called_and_never_the_other():
    called = verdicts(np.random.default_rng(1), rate_a=0.05, rate_b=0.08, shoppers=3000, tests=300)
    assert sum(text == "B sells more, 95% confidence." for text in called) >= 0.95 * 300
    assert not any(text.startswith("A sells more") for text in called)


def test_no_verdict_before_the_planned_size_and_the_interval_is_reported():
    a, b = ArmResult("A", 999, 50, 0), ArmResult("B", 1500, 150, 0)
    early = conversion_verdict(a, b, planned=1000)
    assert early.text.startswith("Not enough data yet: 999 of the 1000 shoppers planned")
    assert early.p_value is None
    found = conversion_verdict(
        ArmResult("A", 1000, 50, 0), ArmResult("B", 1000, 80, 0), planned=1000
    )
    assert found.text == "B sells more, 95% confidence."
    assert found.low < 0.03 < found.high and found.difference == pytest.approx(0.03)
    with pytest.raises(ValidationError, match="at least 100"):
        experiments.experiment_start(
            name="x", arm_a=IMAGE_ONLY, arm_b=TEXT_HEAVY, shoppers_per_arm=99
        )


def test_read_every_day_an_a_a_test_is_called_only_at_its_planned_size():
    """Why the verdict waits: staff who read the page as shoppers come in and stop at the first
    "sells more" would be fooled far more often than 5% if the page answered early."""
    rng, tests, planned, daily = np.random.default_rng(2), 2000, 2000, 100
    fooled = {MIN: 0, planned: 0}
    for _ in range(tests):
        a = np.cumsum(rng.random(planned) < 0.05)
        b = np.cumsum(rng.random(planned) < 0.05)
        for plan in fooled:
            for n in range(daily, planned + 1, daily):
                arm_a, arm_b = (
                    ArmResult("A", n, int(a[n - 1]), 0),
                    ArmResult("B", n, int(b[n - 1]), 0),
                )
                if "sells more" in conversion_verdict(arm_a, arm_b, planned=plan).text:
                    fooled[plan] += 1
                    break
    margin = 3 * math.sqrt(0.05 * 0.95 / tests)
    assert fooled[planned] / tests <= 0.05 + margin  # the stated error rate
    assert fooled[MIN] / tests > 0.10  # answering from the smallest size: twice as often, or more


@pytest.mark.django_db
def test_a_shopper_always_gets_the_same_arm_and_the_arms_are_even():
    experiment = experiments.experiment_start(name="x", arm_a=IMAGE_ONLY, arm_b=TEXT_HEAVY)
    tokens = [f"token-{n}" for n in range(4000)]
    arms = [experiments.arm_of(experiment, token) for token in tokens]
    assert arms == [experiments.arm_of(experiment, token) for token in tokens]
    assert 0.47 < arms.count("A") / len(arms) < 0.53
    other = experiments.experiment_stop(experiment=experiment)
    again = experiments.experiment_start(name="y", arm_a=IMAGE_ONLY, arm_b=TEXT_HEAVY)
    # A new experiment draws anew: not the same shoppers in A every time.
    assert [experiments.arm_of(again, t) for t in tokens] != [
        experiments.arm_of(other, t) for t in tokens
    ]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "arm",
    [
        {"image_weight": -1, "text_weight": 1, "behaviour_share": 0},
        {"image_weight": 0, "text_weight": 0, "behaviour_share": 0},
        {"image_weight": 1, "text_weight": 0, "behaviour_share": 1.5},
        {"image_weight": float("nan"), "text_weight": 0, "behaviour_share": 0},
        {"image_weight": 1},
        IMAGE_ONLY | {"candidates": 5},
        IMAGE_ONLY | {"candidates": 5000},
        IMAGE_ONLY | {"candidates": 40.5},
    ],
)
def test_a_bad_arm_is_refused_and_nothing_starts(arm):
    with pytest.raises(ValidationError):
        experiments.experiment_start(name="bad", arm_a=IMAGE_ONLY, arm_b=arm)
    assert not RailExperiment.objects.exists()


@pytest.mark.django_db
def test_one_experiment_runs_at_a_time():
    experiments.experiment_start(name="first", arm_a=IMAGE_ONLY, arm_b=TEXT_HEAVY)
    with pytest.raises(ValidationError, match="already running"):
        experiments.experiment_start(name="second", arm_a=IMAGE_ONLY, arm_b=TEXT_HEAVY)


@pytest.fixture
def shop(db):
    recording.outbox.take(10**9)
    products = [
        ProductFactory(title=f"Lamp {n}", description=("brass " * (n % 3)) + f"lamp {n}")
        for n in range(30)
    ]
    random_index(products)
    for neighbour in products[20:22]:
        BehaviourNeighbour.objects.create(
            kind="also_viewed", product=products[0], neighbour=neighbour, score=0.9, shoppers=12
        )
    yield products
    recording.outbox.take(10**9)


def test_an_arm_may_have_the_index_propose_fewer_candidates(shop):
    experiment = experiments.experiment_start(
        name="fewer", arm_a=IMAGE_ONLY, arm_b=IMAGE_ONLY | {"candidates": 37}
    )
    url = reverse("shop:product", args=[shop[0].slug])
    for arm, limit in (("A", "LIMIT 100"), ("B", "LIMIT 37")):
        with CaptureQueriesContext(connection) as queries:
            assert shopper_in(experiment, arm).get(url).status_code == 200
        rail = [q["sql"] for q in queries.captured_queries if "<=>" in q["sql"]]
        assert rail and all(limit in sql for sql in rail)


def shopper_in(experiment, arm: str) -> Client:
    token = next(t for n in range(100) if experiments.arm_of(experiment, t := f"s{n}") == arm)
    client = Client(headers={"user-agent": BROWSER})
    client.cookies["vitrine_visitor"] = token
    return client


def test_each_arm_sees_its_rail_its_events_carry_it_and_the_results_count_it(shop):
    experiment = experiments.experiment_start(
        name="co-views", arm_a=IMAGE_ONLY, arm_b=BEHAVIOUR_FIRST
    )
    a, b = shopper_in(experiment, "A"), shopper_in(experiment, "B")
    url = reverse("shop:product", args=[shop[0].slug])
    seen_a = [item.product for item in a.get(url).context["rail"]]
    seen_b = [item.product for item in b.get(url).context["rail"]]
    assert seen_a == [
        i.product for i in product_list_similar(product=shop[0], **weights(IMAGE_ONLY))
    ]
    assert seen_b[:2] == shop[20:22] and seen_a[:2] != shop[20:22]
    # B buys; not recorded shoppers see the shop's configuration and count nowhere.
    b.post(reverse("shop:cart_add", args=[shop[1].pk]), {"quantity": 1})
    form = b.get(reverse("shop:checkout")).context["form"]
    hidden = {name: form.initial[name] for name in ("checkout_token", "expected_total")}
    b.post(reverse("shop:checkout"), {**CONTACT, **hidden})
    Client(headers={"user-agent": BROWSER, "dnt": "1"}).get(url)

    events = recording.outbox.take(10**9)
    assert {(e["arm"], e["experiment_id"]) for e in events} == {
        ("A", experiment.pk),
        ("B", experiment.pk),
    }
    shopper_events_store(events=events)
    arms, verdict = experiments.experiment_results(experiment=experiment)
    assert [(r.arm, r.shoppers, r.buyers) for r in arms] == [("A", 1, 0), ("B", 1, 1)]
    assert verdict.text.startswith("Not enough data yet")


def weights(arm: dict) -> dict:
    return {"image_weight": arm["image_weight"], "text_weight": arm["text_weight"], "k": 10}


def test_promoting_an_arm_makes_it_every_shoppers_rail(shop):
    experiment = experiments.experiment_start(
        name="co-views", arm_a=IMAGE_ONLY, arm_b=BEHAVIOUR_FIRST
    )
    experiments.experiment_stop(experiment=experiment, promote="B")
    experiment.refresh_from_db()
    assert (experiment.state, experiment.promoted) == ("stopped", "B")
    assert experiments.rail_configuration_default() == BEHAVIOUR_FIRST
    assert "arm B of experiment" in RailSettings.objects.get().reason
    # Every shopper now, recorded or not.
    for headers in ({"user-agent": BROWSER}, {"user-agent": BROWSER, "dnt": "1"}):
        page = Client(headers=headers).get(reverse("shop:product", args=[shop[0].slug]))
        assert [i.product for i in page.context["rail"]][:2] == shop[20:22]


def test_staff_start_stop_and_promote_from_the_admin(client, shop):
    client.force_login(
        staff_user("analyst", "view_railexperiment", "add_railexperiment", "change_railexperiment")
    )
    form = {
        "name": "More words",
        "a_image_weight": 0.7,
        "a_text_weight": 0.3,
        "a_behaviour_share": 0,
    }
    form |= {"a_candidates": 100, "b_image_weight": 0.5, "b_text_weight": 0.5}
    form |= {"b_behaviour_share": 0.4, "b_candidates": 40}
    refused = client.post(PAGE, form | {"shoppers_per_arm": 99}).content.decode()
    assert "greater than or equal to 100" in refused and not RailExperiment.objects.exists()
    assert client.post(PAGE, form | {"shoppers_per_arm": 1500}).status_code == 302
    experiment = RailExperiment.objects.get()
    assert experiment.shoppers_per_arm == 1500
    assert experiment.arm_b == {
        "image_weight": 0.5,
        "text_weight": 0.5,
        "behaviour_share": 0.4,
        "candidates": 40,
    }
    page = client.get(PAGE).content.decode()
    assert "More words: Running" in page and "Not enough data yet: 0 of the 1500 shoppers" in page
    again = client.post(PAGE, form | {"name": "Twice", "shoppers_per_arm": 1000})
    assert "An experiment is already running: stop it first." in again.content.decode()

    stop = reverse("admin:recommender_railexperiment_stop", args=[experiment.pk])
    assert client.get(stop).status_code == 403  # only a form's POST stops it
    assert client.post(stop, {"promote": "B"}).status_code == 302
    assert RailSettings.objects.get().behaviour_share == 0.4
    page = client.get(PAGE).content.decode()
    assert "arm B promoted" in page and "promoted from arm B of experiment" in page

    # Undone: the settings' configuration again, for every shopper.
    reset = reverse("admin:recommender_railexperiment_reset")
    assert client.get(reset).status_code == 403
    assert client.post(reset).status_code == 302
    assert not RailSettings.objects.exists()
    assert experiments.rail_configuration_default()["behaviour_share"] == 0
    assert "from the settings" in client.get(PAGE).content.decode()


def test_without_the_permissions_one_can_look_but_not_start_or_stop(client, shop):
    experiment = experiments.experiment_start(name="x", arm_a=IMAGE_ONLY, arm_b=TEXT_HEAVY)
    client.force_login(staff_user("viewer", "view_railexperiment"))
    page = client.get(PAGE).content.decode()
    assert "Start the experiment" not in page and "Stop and promote" not in page
    stop = reverse("admin:recommender_railexperiment_stop", args=[experiment.pk])
    assert client.post(stop, {"promote": "A"}).status_code == 403
    assert client.post(PAGE, {"name": "y"}).status_code == 403
    assert not RailSettings.objects.exists()
    RailSettings.objects.create(image_weight=1, text_weight=0, behaviour_share=0)
    assert "Return to the shop" not in client.get(PAGE).content.decode()
    reset = reverse("admin:recommender_railexperiment_reset")
    assert client.post(reset).status_code == 403 and RailSettings.objects.exists()
