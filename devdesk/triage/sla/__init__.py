"""SLAs on business hours: policies per plan and priority, each ticket's clocks, the
periodic pass that warns and records breaches, and the breach report.

The rules engine calls :func:`set_policy`; :func:`run_sla_pass` is the periodic task.
"""

from devdesk.triage.sla.clocks import match_policy, set_policy, start_sla
from devdesk.triage.sla.sweep import SlaPassResult, run_sla_pass

__all__ = ["SlaPassResult", "match_policy", "run_sla_pass", "set_policy", "start_sla"]
