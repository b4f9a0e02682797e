"""The periodic SLA pass as a background task, queued by ``devdesk scheduler``."""

from __future__ import annotations

from django_tasks import task

from devdesk.triage.sla.sweep import run_sla_pass


@task()
def sla_pass() -> None:
    """Warn about and record SLA breaches; safe to run twice (see :mod:`.sweep`)."""
    run_sla_pass()
