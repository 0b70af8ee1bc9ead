"""The issue's "done when", in the browser: a threshold excursion shows on the Xiamen regulator's live board
within a second (no reload), Fuzhou's board shows nothing of it, the enterprise acknowledges it and a normal
reading clears it, and the board row follows each status change; the point's trend chart draws."""

import time
from collections import deque

import pytest

from worksafe.core.tests.browser import SHOTS, shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

ROWS = "[data-testid=alarm-row]"
MAP_TOTAL = """([state, n]) => JSON.parse(document.querySelector('[data-testid=board-map]')
    .getAttribute('data-totals') || '{}')[state] === n"""


class OneAtATime:
    """Let the pages' requests reach the live server one at a time, and none while this thread writes.

    Under SQLite the live server's threads and this test share one in-memory connection: two requests at
    once (the board's fetches, the navbar's inbox, the event stream's start) can meet as "database table
    is locked", and a request that saves its session during an ingest transaction would interleave with it.
    Every request waits in a route until the one before it has finished (the event stream: until its
    headers arrive, after its database work); routes only move while this thread talks to Playwright, so
    after `quiet()` nothing reaches the server until the next Playwright call.
    """

    def __init__(self, *pages):
        self.active = None
        self.waiting: deque = deque()
        for page in pages:
            page.context.route("**/*", self._route)
            page.on("requestfinished", self._done)
            page.on("requestfailed", self._done)
            page.on("response", self._response)
        self.pages = pages

    def _route(self, route):
        self.waiting.append(route)
        self._next()

    def _next(self):
        while self.active is None and self.waiting:
            route = self.waiting.popleft()
            self.active = route.request
            try:
                route.continue_()
            except Exception:  # the page went away meanwhile
                self.active = None

    def _response(self, response):
        if "text/event-stream" in (response.headers.get("content-type") or ""):
            self._done(response.request)

    def _done(self, request):
        if request == self.active:
            self.active = None
            self._next()

    def quiet(self):
        deadline = time.monotonic() + 10
        while (self.active is not None or self.waiting) and time.monotonic() < deadline:
            self.pages[0].wait_for_timeout(20)
        assert self.active is None and not self.waiting


def sign_in(page, user):
    """A session for `user` as a cookie (the login form itself is covered by the core browser tests)."""
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(user)
    page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "url": page.base,
                               "value": client.cookies[settings.SESSION_COOKIE_NAME].value}])


def open_board(page, user):
    from django.urls import reverse

    sign_in(page, user)
    page.goto(page.base + reverse("monitoring:board"))
    page.wait_for_selector("[data-testid=live-status][data-state=open]", timeout=10_000)  # subscribed
    page.wait_for_selector("[data-testid=board-map] canvas")


def statuses(page) -> dict[str, str]:
    return page.evaluate("""() => Object.fromEntries([...document.querySelectorAll('[data-testid=alarm-row]')]
        .map(tr => [tr.dataset.alarmId, tr.dataset.status]))""")


def test_excursion_reaches_the_county_board_within_a_second_and_no_other_county(browser, live_server, world):
    from django.core.cache import cache
    from django.urls import reverse

    from worksafe.majorhazards.models import MajorHazard
    from worksafe.monitoring.ingest import Ingestor, Message
    from worksafe.monitoring.models import Alarm
    from worksafe.monitoring.testing import make_gateway, make_point, payload

    point = make_point(world.ent_xm, "LT-1001", gateway=make_gateway(world.ent_xm))
    MajorHazard.objects.filter(pk=point.hazard_id).update(lng=118.09, lat=24.45)
    ingestor = Ingestor()
    reverse("monitoring:board")  # loads the URLconf (and the API schemas) here, not in the first page view
    cache.clear()  # board summaries are cached per organisation id, which earlier tests may have used

    def reading(seq, *values):
        t = int(time.time() * 1000) - 1000 * len(values)
        message = Message(payload("GW01", seq, [("LT-1001", t + 1000 * i, v) for i, v in enumerate(values)]),
                          source="test", credit_code=world.ent_xm.credit_code, gateway_code="GW01")
        assert ingestor.process([message])[0].status == "stored"

    pages = []
    for _ in range(3):
        context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
        pages.append(context.new_page())
        pages[-1].base = live_server.url
    xm, fz, staff = pages
    serial = OneAtATime(*pages)
    try:
        open_board(xm, world.xm_officer)  # 厦门市应急管理局: ent_xm is in 思明区 350203
        open_board(fz, world.fz_officer)  # 福州市应急管理局
        assert xm.locator(ROWS).count() == 0 and fz.locator(ROWS).count() == 0

        # 1. a threshold excursion (19 m over H 15 and HH 18): on Xiamen's board within a second
        serial.quiet()
        reading(1, 5.0, 19.0)
        returned = time.monotonic()
        xm.wait_for_function("n => document.querySelectorAll('[data-testid=alarm-row]').length >= n", arg=2,
                             timeout=5000)
        elapsed = time.monotonic() - returned
        assert elapsed <= 1.0, f"alarm took {elapsed:.3f} s to reach the board"
        hh = Alarm.objects.get(point=point, condition="HH")
        h = Alarm.objects.get(point=point, condition="H")
        assert statuses(xm) == {str(hh.pk): "active_unack", str(h.pk): "active_unack"}
        row = xm.locator(f"tr[data-alarm-id='{hh.pk}']")
        assert "board-flash" in row.get_attribute("class")  # came over the stream, not the poll
        assert world.ent_xm.name in row.inner_text() and "LT-1001" in row.inner_text()
        xm.wait_for_function("() => document.querySelector('[data-testid=count-level2]').textContent.trim() === '1'")
        xm.wait_for_function(MAP_TOTAL, arg=["alarm2", 1])  # the hazard turned red on the map
        assert xm.locator("[data-testid=board-breakdown] tr[data-key='350203'] td").nth(1).inner_text() == "1"
        SHOTS.mkdir(exist_ok=True)
        xm.screenshot(path=str(SHOTS / "monitoring-board-alarm.png"), full_page=True)

        # 2. the enterprise acknowledges the level-2 alarm on its detail page
        serial.quiet()
        sign_in(staff, world.ent_xm_staff)
        staff.goto(staff.base + reverse("monitoring:alarm_detail", args=[hh.pk]))
        staff.click("[data-testid=acknowledge]")
        xm.wait_for_selector(f"tr[data-alarm-id='{hh.pk}'][data-status=active_ack]", timeout=3000)

        # 3. a normal reading clears both: acknowledged → closed, unacknowledged → cleared-unacknowledged
        serial.quiet()
        reading(2, 5.0)
        xm.wait_for_selector(f"tr[data-alarm-id='{hh.pk}'][data-status=closed]", timeout=3000)
        xm.wait_for_selector(f"tr[data-alarm-id='{h.pk}'][data-status=cleared_unack]", timeout=3000)
        xm.wait_for_function("() => document.querySelector('[data-testid=count-level2]').textContent.trim() === '0'")
        xm.wait_for_function(MAP_TOTAL, arg=["normal", 1])
        xm.screenshot(path=str(SHOTS / "monitoring-board-cleared.png"), full_page=True)

        # Fuzhou saw none of it, in the stream (open all along) or in its polls
        assert fz.locator("[data-testid=live-status]").get_attribute("data-state") == "open"
        assert fz.locator(ROWS).count() == 0
        assert fz.locator("[data-testid=count-unack]").inner_text().strip() == "0"
        assert fz.locator("[data-testid=board-points]").inner_text().count("LT-1001") == 0

        # 4. from the board to the point's trend chart, thresholds drawn over the readings
        xm.click(f"tr[data-alarm-id='{hh.pk}'] a[href*='/board/points/']")
        chart = xm.locator("[data-testid=trend-chart]")
        xm.wait_for_selector("[data-testid=trend-chart][data-points]")
        assert chart.get_attribute("data-kind") == "raw" and int(chart.get_attribute("data-points")) == 3
        shot(xm, "monitoring-point-trend")
    finally:
        for page in pages:
            page.context.close()
