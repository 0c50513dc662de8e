"""The database restarted under a running web server: requests during the outage get a 503
(a page, or the API's JSON) with Retry-After, and requests after it succeed without restarting
anything. The test runs its own PostgreSQL, which it stops and starts with pg_ctl."""

import json

import pytest

from tests.faults.servers import fetch, gunicorn, migrated_environment, postgres_server

pytestmark = pytest.mark.slow

PAGE, API = "/", "/api/v1/products/"


def test_requests_during_a_database_restart_get_503_and_later_ones_succeed(tmp_path):
    with postgres_server(tmp_path / "pg") as postgres:
        env = migrated_environment(postgres.url, tmp_path / "media")
        log = tmp_path / "gunicorn.log"
        with gunicorn(env, log) as base:
            for path in (PAGE, API):
                assert fetch(base + path).status == 200, log.read_text()

            postgres.stop()
            for _ in range(2):  # each of the two workers, most likely, and a second time
                page = fetch(base + PAGE)
                assert page.status == 503, log.read_text()
                assert page.headers["Content-Type"].startswith("text/html")
                assert "Back in a moment" in page.body
                assert int(page.headers["Retry-After"]) > 0
                api = fetch(base + API)
                assert api.status == 503 and api.headers["Content-Type"] == "application/json"
                assert json.loads(api.body)["error"] == "unavailable"
                assert json.loads(api.body)["detail"]
                assert int(api.headers["Retry-After"]) > 0
            # A shopper with a session: reading it needs the database too.
            session = fetch(base + "/cart/", cookie="sessionid=abcdefghijklmnopqrstuvwxyz012345")
            assert session.status == 503 and "Back in a moment" in session.body

            postgres.start()
            for _ in range(4):
                for path in (PAGE, API):
                    assert fetch(base + path).status == 200, log.read_text()
