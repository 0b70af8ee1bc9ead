"""Helpers for browser tests (the fixtures `browser`, `page` and `demo` are in the root conftest.py)."""

import re
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
SHOTS = Path(__file__).resolve().parents[3] / "test-results"
PASSWORD = "Demo@2017fj"


def login(page, username, password=PASSWORD):
    page.goto(page.base + "/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("[data-testid=login]")
    page.wait_for_load_state("networkidle")


def shown_count(page) -> int:
    """The record count above a list (e.g. 共38条记录)."""
    return int(re.search(r"\d+", page.locator("[data-testid=count]").inner_text().replace(",", "")).group())


def shot(page, name):
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))
