"""Who may see and change rules: admins change them, agents read them, nobody
else (customers, partner agents, engineers, anonymous visitors) sees them."""

from __future__ import annotations

from typing import Any

from devdesk.accounts.models import User
from devdesk.tickets.access import role_of


def can_view_rules(user: Any) -> bool:
    return role_of(user) in {User.Role.ADMIN, User.Role.AGENT}


def can_edit_rules(user: Any) -> bool:
    return role_of(user) == User.Role.ADMIN
