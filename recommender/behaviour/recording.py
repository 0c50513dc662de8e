"""From a request to the workers without slowing the page.

``shopper_event_record`` appends the event to this process's outbox, in memory: no database
write, no network. A background thread sends what has gathered to the Celery workers every
``EVENTS_FLUSH_SECONDS``, in batches (storing.py writes them). What each failure costs:

- The broker (Redis) out of reach: events wait in the outbox, up to ``EVENTS_OUTBOX_LIMIT`` per
  process, and go once it is back; beyond that the oldest are dropped and counted (logged).
- A worker killed while storing: its batch is redelivered (acks_late) and stored once (each
  event's id).
- A web process killed: the events of its last ``EVENTS_FLUSH_SECONDS`` are lost.

A failure here never fails the page: it is logged and the shopper sees nothing.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
import uuid
from collections import deque
from datetime import UTC, datetime
from functools import cached_property

from django.conf import settings
from django.http import HttpRequest

from recommender.behaviour import privacy

logger = logging.getLogger(__name__)

BATCH_SIZE = 1000  # events per message to the workers
RETRY_AFTER_MAX_SECONDS = 30  # between tries while the broker is out of reach


class Visitor:
    """The shopper behind a request, as the recording sees them (``request.visitor``, set by
    VisitorMiddleware)."""

    def __init__(self, request: HttpRequest) -> None:
        self._request = request
        self.new_token = ""  # set when this response must give the shopper their cookie
        self.recently_viewed_changed = False

    @cached_property
    def recorded(self) -> bool:
        return privacy.recording_allowed(self._request)

    @cached_property
    def recently_viewed(self) -> list[int]:
        """The products this shopper viewed last (their signed cookie; a forged one counts as
        none)."""
        signed = self._request.get_signed_cookie(
            privacy.RECENTLY_VIEWED_COOKIE, default="", salt=privacy.RECENTLY_VIEWED_COOKIE
        )
        return [int(pk) for pk in signed.split(".") if pk.isdigit()][:RECENTLY_VIEWED_KEPT]

    def recently_viewed_set(self, product_ids: list[int]) -> None:
        """Change the list: the response gives the shopper the new cookie."""
        self.__dict__["recently_viewed"] = product_ids
        self.recently_viewed_changed = True

    @cached_property
    def token(self) -> str:
        """The shopper's random cookie, given now if they have none (recorded shoppers only)."""
        token = self._request.COOKIES.get(privacy.VISITOR_COOKIE, "")
        if not token or len(token) > 64:
            token = self.new_token = privacy.visitor_token_new()
        return token

    @cached_property
    def pseudonym(self) -> str:
        return privacy.visitor_pseudonym(self.token, day=datetime.now(UTC).date())

    @cached_property
    def rail(self) -> tuple[dict, object, str]:
        """(the rail's configuration, the experiment, the arm) for this shopper
        (experiments.py; no experiment and no arm outside one)."""
        from recommender.behaviour.experiments import rail_configuration_for

        return rail_configuration_for(self)


class Outbox:
    """Events waiting to be sent, at most ``limit``: when full, the oldest go first."""

    def __init__(self, *, limit: int) -> None:
        self._events: deque[dict] = deque()
        self._lock = threading.Lock()
        self.limit = limit
        self.dropped = 0  # since the process started

    def __len__(self) -> int:
        return len(self._events)

    def put(self, event: dict) -> None:
        self.put_many([event])

    def put_many(self, events: list[dict]) -> None:
        with self._lock:
            self._events.extend(events)
            self._trim()

    def take(self, count: int) -> list[dict]:
        with self._lock:
            return [self._events.popleft() for _ in range(min(count, len(self._events)))]

    def put_back(self, events: list[dict]) -> None:
        """Return events that could not be sent, ahead of the newer ones."""
        with self._lock:
            self._events.extendleft(reversed(events))
            self._trim()

    def _trim(self) -> None:
        over = len(self._events) - self.limit
        if over > 0:
            for _ in range(over):
                self._events.popleft()
            if not self.dropped or (self.dropped + over) // 1000 > self.dropped // 1000:
                logger.warning(
                    "Shopper events outbox full (%d): %d oldest events dropped so far",
                    self.limit,
                    self.dropped + over,
                )
            self.dropped += over


outbox = Outbox(limit=settings.EVENTS_OUTBOX_LIMIT)
_sender_pid = 0
_sender_lock = threading.Lock()


def shopper_event_record(request: HttpRequest, *, kind: str, **fields) -> None:
    """Record that this request's shopper did ``kind`` (ShopperEvent's fields in ``fields``),
    unless they are not to be recorded (privacy.py)."""
    visitor = getattr(request, "visitor", None)
    if visitor is None or not visitor.recorded:
        return
    try:
        pseudonym = visitor.pseudonym
        _, experiment, arm = visitor.rail
    except Exception:  # the day's salt needs the database: the page must not
        logger.exception("Shopper event not recorded")
        return
    if experiment is not None:
        fields |= {"experiment_id": experiment.pk, "arm": arm}
    outbox.put(_event(pseudonym, kind=kind, **fields))
    _sender_start()


def rail_configuration(request: HttpRequest) -> dict:
    """The product page's rail configuration for this request's shopper (their arm's while an
    experiment runs)."""
    visitor = getattr(request, "visitor", None)
    if visitor is None:
        from recommender.behaviour.experiments import rail_configuration_default

        return rail_configuration_default()
    return visitor.rail[0]


def shopper_events_record_for(*, events: list[dict]) -> None:
    """Record events that another front end sends for its shoppers (the API), each a dict of
    ShopperEvent's fields with its ``kind`` and its ``visitor``: that front end's own
    identifier of the shopper, stored only as the day's pseudonym of it."""
    today = datetime.now(UTC).date()
    pseudonyms: dict[str, str] = {}
    recorded = []
    for fields in events:
        visitor = fields.pop("visitor")
        if visitor not in pseudonyms:
            pseudonyms[visitor] = privacy.visitor_pseudonym(visitor, day=today)
        recorded.append(_event(pseudonyms[visitor], **fields))
    outbox.put_many(recorded)
    _sender_start()


def _event(pseudonym: str, *, kind: str, **fields) -> dict:
    """An event as it travels to the workers: JSON, time and id given here."""
    if fields.get("amount") is not None:
        fields["amount"] = str(fields["amount"])
    return {
        "id": str(uuid.uuid4()),
        "occurred_at": datetime.now(UTC).isoformat(),
        "kind": kind,
        "visitor": pseudonym,
        **fields,
    }


def outbox_send() -> int:
    """Send every waiting event to the workers; how many went. On a broker failure the rest wait."""
    from config.broker import enqueue  # the tasks module loads the indexing code
    from recommender.tasks import store_shopper_events

    sent = 0
    while batch := outbox.take(BATCH_SIZE):
        if not enqueue(store_shopper_events, batch):
            outbox.put_back(batch)
            break
        sent += len(batch)
    return sent


def _sender_start() -> None:
    global _sender_pid
    if settings.EVENTS_FLUSH_SECONDS <= 0 or _sender_pid == os.getpid():
        return
    with _sender_lock:
        if _sender_pid != os.getpid():  # a fork (gunicorn) has its own outbox and thread
            _sender_pid = os.getpid()
            threading.Thread(target=_send_forever, name="shopper-events", daemon=True).start()
            atexit.register(outbox_send)


def _send_forever() -> None:
    pause = settings.EVENTS_FLUSH_SECONDS
    while True:
        time.sleep(pause)
        try:
            waiting = len(outbox)
            sent = outbox_send()
        except Exception:
            logger.exception("Shopper events not sent")
            sent, waiting = 0, 1
        # While the broker is out of reach, try less often (each try may wait on a timeout).
        failed = sent < waiting
        pause = min(pause * 2, RETRY_AFTER_MAX_SECONDS) if failed else settings.EVENTS_FLUSH_SECONDS


# Rails whose items carry ?rail=NAME&pos=N, so that a click on them is recorded.
RAILS = (
    *("similar", "also_viewed", "bought_together", "recently_viewed"),
    *("you_may_like", "picked_for_you"),
)
RAIL_LINK_MAX_POSITION = 100
SESSION_RAIL_LEADS = "rail_leads"  # product id -> the rail whose click last led to it
RAIL_LEADS_KEPT = 50


def rail_click_record(request: HttpRequest, *, product_id: int) -> None:
    """If the shopper came to this product from a rail (its link's ``rail`` and ``pos``),
    record the click and remember the rail, to which an add to cart or an order of this product
    is then attributed (``rail_lead``). Links with other values are ignored: anyone can type
    a URL."""
    rail, position = request.GET.get("rail", ""), request.GET.get("pos", "")
    if rail not in RAILS or not position.isdigit():
        return
    if not 1 <= int(position) <= RAIL_LINK_MAX_POSITION:
        return
    visitor = getattr(request, "visitor", None)
    if visitor is None or not visitor.recorded:
        return
    shopper_event_record(
        request, kind="click", product_id=product_id, rail=rail, position=int(position)
    )
    leads = {
        key: value
        for key, value in request.session.get(SESSION_RAIL_LEADS, {}).items()
        if key != str(product_id)
    }
    leads[str(product_id)] = rail
    request.session[SESSION_RAIL_LEADS] = dict(list(leads.items())[-RAIL_LEADS_KEPT:])


def rail_lead(request: HttpRequest, *, product_id: int) -> str:
    """The rail whose click last led this shopper to ``product_id`` (attribution), or ''."""
    return request.session.get(SESSION_RAIL_LEADS, {}).get(str(product_id), "")


RECENTLY_VIEWED_KEPT = 12


def recently_viewed(request: HttpRequest) -> list[int]:
    """The products this shopper viewed last, the latest first ([] for one not recorded)."""
    visitor = getattr(request, "visitor", None)
    return visitor.recently_viewed if visitor is not None and visitor.recorded else []


def recently_viewed_note(request: HttpRequest, *, product_id: int) -> list[int]:
    """Note that this shopper viewed ``product_id``, for their "recently viewed" rail, in a
    signed cookie on their own device (no write on the server; only for shoppers who may be
    recorded). Returns the products viewed before it, the latest first."""
    visitor = getattr(request, "visitor", None)
    if visitor is None or not visitor.recorded:
        return []
    earlier = [pk for pk in visitor.recently_viewed if pk != product_id]
    visitor.recently_viewed_set([product_id, *earlier][:RECENTLY_VIEWED_KEPT])
    return earlier
