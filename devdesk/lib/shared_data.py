"""Where the shared evaluation data lives (``shared/data``: real tickets and real
mail written by others, used by tests, benchmarks and ``seed-load``): the folder
named by ``DEVDESK_SHARED_DATA``, else ``shared/data`` next to the checkout, else
the workplace's ``/work/shared/data`` (a clean clone elsewhere, as CI makes)."""

from __future__ import annotations

import os
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parents[2]
WORKPLACE = Path("/work/shared/data")


def shared_data_dir() -> Path | None:
    named = os.environ.get("DEVDESK_SHARED_DATA", "").strip()
    candidates = [Path(named)] if named else []
    candidates += [CHECKOUT.parent / "shared" / "data", WORKPLACE]
    return next((path for path in candidates if path.is_dir()), None)


def shared_data(name: str) -> Path:
    """``name`` inside the shared data folder (it may not exist: callers check)."""
    base = shared_data_dir() or CHECKOUT.parent / "shared" / "data"
    return base / name
