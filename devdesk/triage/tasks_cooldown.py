"""Periodic work of cool-down, queued by ``devdesk scheduler``."""

from __future__ import annotations

from django_tasks import task

from devdesk.triage import cooldown


@task()
def release_expired_cooldowns() -> int:
    """End cool-downs whose time is up; safe to run twice (see
    :func:`devdesk.triage.cooldown.release_expired`)."""
    return cooldown.release_expired()
