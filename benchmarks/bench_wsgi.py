"""The page benchmark's WSGI entry: the app, plus a hello-world route as the baseline.

The route exists only here (``/__hello``), never in the product.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mls_tracker import create_app  # noqa: E402

app = create_app()


@app.get("/__hello")
def hello() -> str:
    return "hello"
