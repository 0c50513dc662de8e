"""A/B tests between configurations of the product page's "Visually similar" rail.

Staff start one from the admin with two arms (image weight, text weight, behaviour share,
candidates). Each recorded shopper is in one arm, always the same while they keep their cookie:
the first bit of a keyed hash of it under the experiment's own random salt (deterministic, and
stored nowhere).
Shoppers who are not recorded (crawlers, Do Not Track, no consent) see the shop's configuration
and count in neither arm. The events of a shopper in the experiment carry it and their arm.

Results: of the shoppers shown the rail in each arm (a pseudonym is one shopper for one day),
the share who ordered (conversion), with a two-sided two-proportion z-test and the 95%
confidence interval of the difference. The verdict waits for the size staff planned when they
started (``shoppers_per_arm``, at least ``MIN_SHOPPERS``): checked once at a planned size, an A/A
test is called significant in 5% of cases (the stated error rate), while read every day and
stopped at the first "sells more" it would be called far more often (tests measure both).
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
import time
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.signals import setting_changed
from django.db import IntegrityError, connection, transaction
from django.dispatch import receiver
from django.utils import timezone
from scipy.stats import norm

from recommender.models import RailExperiment, RailSettings, ShopperEvent

ARMS = ("A", "B")
CONFIG_FIELDS = ("image_weight", "text_weight", "behaviour_share", "candidates")
CANDIDATES_RANGE = (10, 1000)  # proposals per index: pgvector's ef_search stops at 1000
MIN_SHOPPERS = 100  # per arm: the smallest plan
CONFIDENCE = 0.95
CACHE_SECONDS = 5  # how long a process trusts what it read of the running experiment

_cached: tuple[float, RailExperiment | None, dict] | None = None


def rail_configuration_default() -> dict:
    """The rail's configuration outside experiments: the last promoted arm, else the settings."""
    return _running()[1]


def rail_configuration_for(visitor) -> tuple[dict, RailExperiment | None, str]:
    """(configuration, experiment, arm) for the shopper behind ``visitor`` (recording.Visitor):
    their arm's while an experiment runs and they are recorded, else the default."""
    experiment, default = _running()
    if experiment is None or visitor is None or not visitor.recorded:
        return default, None, ""
    arm = arm_of(experiment, visitor.token)
    return (experiment.arm_a if arm == "A" else experiment.arm_b), experiment, arm


def arm_of(experiment: RailExperiment, token: str) -> str:
    digest = hmac.new(bytes(experiment.salt), token.encode(), hashlib.sha256).digest()
    return ARMS[digest[0] & 1]


def _running() -> tuple[RailExperiment | None, dict]:
    global _cached
    now = time.monotonic()
    if _cached is None or now - _cached[0] > CACHE_SECONDS:
        experiment = RailExperiment.objects.filter(state=RailExperiment.State.RUNNING).first()
        promoted = RailSettings.objects.first()
        default = (
            {name: getattr(promoted, name) for name in CONFIG_FIELDS}
            if promoted
            else {
                "image_weight": settings.RECOMMENDER_IMAGE_WEIGHT,
                "text_weight": settings.RECOMMENDER_TEXT_WEIGHT,
                "behaviour_share": settings.RECOMMENDER_BEHAVIOUR_SHARE,
                "candidates": settings.RECOMMENDER_CANDIDATES,
            }
        )
        _cached = (now, experiment, default)
    return _cached[1], _cached[2]


def rail_configuration_forget() -> None:
    """Read the experiment and the rail settings afresh (after a change in this process)."""
    global _cached
    _cached = None


@receiver(setting_changed)
def _setting_changed(*, setting: str, **kwargs) -> None:
    if setting.startswith("RECOMMENDER_"):  # a test's override: the defaults may have moved
        rail_configuration_forget()


def arm_clean(arm: dict) -> dict:
    """An arm's configuration, checked: weights of 0 or more, not both 0, a share from 0 to 1,
    candidates in ``CANDIDATES_RANGE`` (the settings' when not given)."""
    arm = {"candidates": settings.RECOMMENDER_CANDIDATES, **arm}
    try:
        clean = {name: float(arm[name]) for name in CONFIG_FIELDS}
    except (KeyError, TypeError, ValueError) as error:
        raise ValidationError(f"An arm needs {', '.join(CONFIG_FIELDS)} as numbers.") from error
    if any(not math.isfinite(value) for value in clean.values()):
        raise ValidationError("An arm's numbers must be finite.")
    low, high = CANDIDATES_RANGE
    if not (clean["candidates"].is_integer() and low <= clean["candidates"] <= high):
        raise ValidationError(f"Candidates are a whole number from {low} to {high}.")
    clean["candidates"] = int(clean["candidates"])
    if clean["image_weight"] < 0 or clean["text_weight"] < 0:
        raise ValidationError("Weights cannot be negative.")
    if clean["image_weight"] + clean["text_weight"] == 0:
        raise ValidationError("The image and text weights cannot both be 0.")
    if not 0 <= clean["behaviour_share"] <= 1:
        raise ValidationError("The behaviour share is between 0 and 1.")
    return clean


def experiment_start(
    *, name: str, arm_a: dict, arm_b: dict, shoppers_per_arm: int = 1000, user=None
) -> RailExperiment:
    """Start an experiment that gives its verdict at ``shoppers_per_arm``; refused while
    another runs."""
    arm_a, arm_b = arm_clean(arm_a), arm_clean(arm_b)
    if shoppers_per_arm < MIN_SHOPPERS:
        raise ValidationError(f"Plan at least {MIN_SHOPPERS} shoppers in each arm.")
    try:
        with transaction.atomic():
            experiment = RailExperiment.objects.create(
                name=name,
                arm_a=arm_a,
                arm_b=arm_b,
                shoppers_per_arm=shoppers_per_arm,
                salt=secrets.token_bytes(32),
                started_by=user,
            )
    except IntegrityError as error:
        raise ValidationError("An experiment is already running: stop it first.") from error
    rail_configuration_forget()
    return experiment


def experiment_stop(*, experiment: RailExperiment, promote: str = "") -> RailExperiment:
    """Stop it; with ``promote`` ("A" or "B"), that arm becomes the rail's configuration."""
    if promote not in ("", *ARMS):
        raise ValidationError(f"Promote arm A or B, not {promote!r}.")
    with transaction.atomic():
        experiment = RailExperiment.objects.select_for_update().get(pk=experiment.pk)
        if experiment.state == RailExperiment.State.RUNNING:
            experiment.state = RailExperiment.State.STOPPED
            experiment.stopped_at = timezone.now()
        if promote:
            config = experiment.arm_a if promote == "A" else experiment.arm_b
            RailSettings.objects.all().delete()
            RailSettings.objects.create(
                **{name: config[name] for name in CONFIG_FIELDS},
                reason=f"arm {promote} of experiment #{experiment.pk}, {experiment.name}",
            )
            experiment.promoted = promote
        experiment.save()
    rail_configuration_forget()
    return experiment


def rail_settings_forget() -> None:
    """Undo a promotion: the rail's configuration is the settings' again
    (``RECOMMENDER_IMAGE_WEIGHT``, ``_TEXT_WEIGHT``, ``_BEHAVIOUR_SHARE``, ``_CANDIDATES``)."""
    RailSettings.objects.all().delete()
    rail_configuration_forget()


@dataclass(frozen=True)
class ArmResult:
    arm: str
    shoppers: int  # shown the rail in this arm
    buyers: int  # of them, those who ordered
    revenue: Decimal

    @property
    def conversion(self) -> float | None:
        return self.buyers / self.shoppers if self.shoppers else None


@dataclass(frozen=True)
class Verdict:
    difference: float | None  # B's conversion minus A's
    low: float | None  # its confidence interval
    high: float | None
    p_value: float | None
    text: str


def conversion_verdict(
    a: ArmResult, b: ArmResult, *, planned: int = MIN_SHOPPERS, confidence: float = CONFIDENCE
) -> Verdict:
    """Whether one arm converts better than the other, in plain words, once each arm has the
    ``planned`` shoppers; before, nothing (a verdict read early is wrong too often)."""
    if min(a.shoppers, b.shoppers) < max(planned, MIN_SHOPPERS):
        return Verdict(
            None,
            None,
            None,
            None,
            f"Not enough data yet: {min(a.shoppers, b.shoppers)} of the {planned} shoppers "
            "planned in each arm. The verdict comes then: read earlier, it would find a "
            "difference that is not there far more often than 5% of the time.",
        )
    rate_a, rate_b = a.buyers / a.shoppers, b.buyers / b.shoppers
    pooled = (a.buyers + b.buyers) / (a.shoppers + b.shoppers)
    pooled_error = math.sqrt(pooled * (1 - pooled) * (1 / a.shoppers + 1 / b.shoppers))
    difference = rate_b - rate_a
    p_value = 1.0 if pooled_error == 0 else 2 * norm.sf(abs(difference) / pooled_error)
    error = math.sqrt(rate_a * (1 - rate_a) / a.shoppers + rate_b * (1 - rate_b) / b.shoppers)
    z = norm.ppf(1 - (1 - confidence) / 2)
    percent = f"{confidence:.0%}"
    if p_value < 1 - confidence:
        text = f"{'B' if difference > 0 else 'A'} sells more, {percent} confidence."
    else:
        text = f"No difference found at {percent} confidence yet."
    return Verdict(difference, difference - z * error, difference + z * error, p_value, text)


def experiment_results(*, experiment: RailExperiment) -> tuple[list[ArmResult], Verdict]:
    """Each arm's shoppers shown the rail, buyers among them and their revenue; the verdict."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH exposed AS (
                SELECT DISTINCT arm, visitor FROM {ShopperEvent._meta.db_table}
                WHERE experiment_id = %(id)s AND occurred_at >= %(since)s
                  AND kind = 'impression' AND rail = 'similar'
            ), bought AS (
                SELECT arm, visitor, sum(amount) AS revenue FROM {ShopperEvent._meta.db_table}
                WHERE experiment_id = %(id)s AND occurred_at >= %(since)s AND kind = 'order'
                GROUP BY arm, visitor
            )
            SELECT exposed.arm, count(*), count(bought.visitor), coalesce(sum(bought.revenue), 0)
            FROM exposed LEFT JOIN bought USING (arm, visitor) GROUP BY exposed.arm
            """,
            {"id": experiment.pk, "since": experiment.started_at},
        )
        found = {arm: ArmResult(arm, n, buyers, revenue) for arm, n, buyers, revenue in cursor}
    arms = [found.get(arm, ArmResult(arm, 0, 0, Decimal(0))) for arm in ARMS]
    return arms, conversion_verdict(*arms, planned=experiment.shoppers_per_arm)
