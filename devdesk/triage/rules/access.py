"""Who may see and change rules: admins change them, agents read them, nobody
else (customers, partner agents, engineers, anonymous visitors) sees them."""

from __future__ import annotations

from typing import Any

from devdesk.accounts.models import User


def _role(user: Any) -> str | None:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    return str(user.role)


def can_view_rules(user: Any) -> bool:
    return _role(user) in {User.Role.ADMIN, User.Role.AGENT}


def can_edit_rules(user: Any) -> bool:
    return _role(user) == User.Role.ADMIN
