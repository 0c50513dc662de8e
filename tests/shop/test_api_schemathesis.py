"""Property-based requests to every API operation, generated from the live schema (schemathesis).

The schema is fetched from the running code (/api/schema/) and every operation is called, in
process through WSGI, with examples generated from it: valid and invalid parameters, bodies
and uploads. Every response must be a non-5xx that matches the schema (status code, content
type, body). Reads run against an indexed catalogue, so rails and photo search answer with
products; writes run as staff with a token, and as nobody.
"""

import os
from collections import Counter

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from rest_framework.throttling import ScopedRateThrottle
from schemathesis.specs.openapi.checks import (
    negative_data_rejection,
    positive_data_acceptance,
)

from config.wsgi import application
from recommender.services import index_build
from tests.fixtures import sample_catalogue_import

pytestmark = [pytest.mark.slow]

EXAMPLES_PER_OPERATION = 25
FORM_ENCODINGS = {"multipart/form-data", "application/x-www-form-urlencoded"}


def not_expressible(case) -> list:
    """Checks a schema cannot support for this request; every other check runs (no 5xx,
    documented status codes, content types and bodies; schema-invalid input rejected).

    - "Schema-valid request rejected": validity that depends on the data (does category slug
      "0" exist? is there a page 0?) cannot be written in a schema; a 400 for it is right.
    - "Schema-violating request accepted", for form bodies only: a form carries strings, so a
      "boolean" colour arrives as the colour "false", and an empty field means "none".
    """
    excluded = [positive_data_acceptance]
    if case.media_type in FORM_ENCODINGS:
        excluded.append(negative_data_rejection)
    return excluded


# Requests made per operation, printed at the end of the module (see them with `pytest -s`).
REQUESTS: Counter = Counter()


@pytest.fixture(scope="module", autouse=True)
def request_counts():
    yield
    total = sum(REQUESTS.values())
    print(f"\nschemathesis: {total} requests to {len(REQUESTS)} operations")
    for operation, count in sorted(REQUESTS.items()):
        print(f"  {count:5d}  {operation}")


@pytest.fixture(scope="module")
def indexed_catalogue(django_db_setup, django_db_blocker, tmp_path_factory):
    """The drawn catalogue, indexed once for the module; removed afterwards."""
    from django.core.management import call_command

    with django_db_blocker.unblock():
        sample_catalogue_import(tmp_path_factory.mktemp("sample"))
        index_build(encoder="efficientnet_lite0")
        yield
        call_command("flush", interactive=False, verbosity=0)


@pytest.fixture(autouse=True)
def data(indexed_catalogue, db, monkeypatch):
    # The throttle would answer 429 (documented, and tested elsewhere) after a few examples.
    rates = {"photo_search": "100000/min", "events": "100000/min"}
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", rates)
    # Requests go straight to the WSGI app, which closes the database connection after each
    # one; the test's transaction must survive them (Django's test client does the same).
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


# Loaded from the running code (pytest-django has set Django up); the schema view needs no
# database. (schemathesis.pytest.from_fixture would load it lazily, but fails under pytest 9.)
schema = schemathesis.openapi.from_wsgi("/api/schema/", application)


@pytest.fixture
def staff_token(django_user_model) -> str:
    user = django_user_model.objects.create_user("fuzz-staff", password="x", is_staff=True)
    return Token.objects.create(user=user).key


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    # The same examples on every run, so CI is repeatable; VITRINE_FUZZ_RANDOM=1 explores anew.
    derandomize=not os.environ.get("VITRINE_FUZZ_RANDOM"),
    suppress_health_check=list(HealthCheck),
)
def test_api_as_a_shopper(case):
    REQUESTS[f"shopper {case.operation.label}"] += 1
    case.call_and_validate(excluded_checks=not_expressible(case))


@schema.include(method=["POST", "PUT", "PATCH"]).parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    # The same examples on every run, so CI is repeatable; VITRINE_FUZZ_RANDOM=1 explores anew.
    derandomize=not os.environ.get("VITRINE_FUZZ_RANDOM"),
    suppress_health_check=list(HealthCheck),
)
def test_api_as_staff(case, staff_token):
    REQUESTS[f"staff {case.operation.label}"] += 1
    case.call_and_validate(
        headers={"Authorization": f"Token {staff_token}"}, excluded_checks=not_expressible(case)
    )
