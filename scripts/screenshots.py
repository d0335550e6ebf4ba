"""Screenshots of the partnership list and first partnership page for each demo sign-in.

Usage: with the app serving the demo (``make run``), run
``.venv/bin/python scripts/screenshots.py [BASE_URL] [OUT_DIR]`` and look at the PNGs.
"""

from __future__ import annotations

import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

from mls_tracker.chromium import CHROMIUM_ARGS, CHROMIUM_PATH
from mls_tracker.demo import DEMO_PASSWORD, DEMO_USERS

SIZES = {"desktop": (1366, 768), "phone": (390, 844)}


def main(base: str = "http://127.0.0.1:5000", out: str = "screenshots/demo") -> None:
    target = Path(out)
    target.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM_PATH), args=CHROMIUM_ARGS)
        for email, _ in DEMO_USERS:
            who = email.split("@")[0]
            for size, (width, height) in SIZES.items():
                context = browser.new_context(viewport={"width": width, "height": height})
                page = context.new_page()
                page.goto(f"{base}/login")
                page.fill("#email", email)
                page.fill("#password", DEMO_PASSWORD)
                page.click("#submit")
                page.wait_for_url(f"{base}/portfolio")
                page.goto(f"{base}/partnerships/")
                names = page.locator(
                    "main a[href^='/partnerships/']:not([href*='?']):visible"
                ).all_inner_texts()
                seen = sorted({name.strip() for name in names if name.strip()})
                print(f"{email:<24} {size:<8} sees: {seen}")
                page.screenshot(path=target / f"{who}-list-{size}.png", full_page=True)
                first = page.locator(
                    "main a[href^='/partnerships/']:not([href*='?']):visible"
                ).first
                if first.count():
                    first.click()
                    page.wait_for_load_state()
                    page.screenshot(path=target / f"{who}-partnership-{size}.png", full_page=True)
                context.close()
        browser.close()


if __name__ == "__main__":
    main(*sys.argv[1:])
