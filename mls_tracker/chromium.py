"""Where Debian's Chromium is and how it is started headless on closed networks; used by the
browser tests, the screenshot script and (later) chart export."""

from pathlib import Path

CHROMIUM_PATH = Path("/usr/bin/chromium")

# Without the background-networking flags Chromium keeps trying to reach Google's services,
# which a closed corporate network refuses.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
