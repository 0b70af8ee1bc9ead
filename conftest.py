"""Test-wide settings and the shared `world` (core/testing.py builds it; `worksafe demo` reuses the builders)."""
import pytest


@pytest.fixture(autouse=True)
def _test_settings(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.AXES_ENABLED = False
    settings.OTP_REQUIRED_ROLES = []
    settings.STORAGES = {**settings.STORAGES,
                         "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
    settings.SECURE_SSL_REDIRECT = False
    settings.LANGUAGE_CODE = "zh-hans"


@pytest.fixture
def world(db):
    from worksafe.core.testing import build_world

    return build_world()


# --- browser tests (pytest -m browser): Playwright driving the system Chromium -------------------------

@pytest.fixture(scope="module")
def browser():
    import os
    from pathlib import Path

    from worksafe.core.tests.browser import ARGS, CHROMIUM

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install the Debian package `chromium` (.ci/run does)")
    # Playwright's sync API runs an event loop in this thread; the ORM calls the test makes are plain sync.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900}, accept_downloads=True)
    pg = context.new_page()
    pg.base = live_server.url
    yield pg
    context.close()


@pytest.fixture
def demo():
    """The demo dataset of every module, small (needs a transactional browser test)."""
    from worksafe.checks.demo import build_demo as build_checks
    from worksafe.enterprises.demo import build_demo
    from worksafe.hazards.demo import build_demo as build_hazards
    from worksafe.majorhazards.demo import build_demo as build_majorhazards
    from worksafe.monitoring.demo import build_demo as build_monitoring
    from worksafe.risks.demo import build_demo as build_risks

    result = build_demo(enterprises=300)
    build_majorhazards(per_city=4)
    build_monitoring()
    build_risks(enterprises=15)
    build_checks(enterprises=8, days=60)
    build_hazards()  # last: its reports count the hazards the checks demo raised
    return result
