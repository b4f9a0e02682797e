"""Triage's tables, one module per part (each part adds its import here)."""

# "X as X" re-exports them explicitly (mypy strict), for `from devdesk.triage.models`.
from devdesk.triage.models.cooldown import MessageSentiment as MessageSentiment
from devdesk.triage.models.escalation import CustomerUpdateDraft as CustomerUpdateDraft
from devdesk.triage.models.escalation import EngineeringIssue as EngineeringIssue
from devdesk.triage.models.escalation import (
    EngineeringIssueLink as EngineeringIssueLink,
)
from devdesk.triage.models.escalation import InboundDelivery as InboundDelivery
from devdesk.triage.models.escalation import TrackerKind as TrackerKind
from devdesk.triage.models.escalation import WebhookAttempt as WebhookAttempt
from devdesk.triage.models.escalation import WebhookDelivery as WebhookDelivery
from devdesk.triage.models.escalation import WebhookEndpoint as WebhookEndpoint
from devdesk.triage.models.routing import AgentSkill as AgentSkill
from devdesk.triage.models.routing import RoutingPolicy as RoutingPolicy
from devdesk.triage.models.routing import RoutingRule as RoutingRule
from devdesk.triage.models.routing import Skill as Skill
from devdesk.triage.models.routing import TeamRouting as TeamRouting
from devdesk.triage.models.rules import Rule as Rule
from devdesk.triage.models.rules import RuleFiring as RuleFiring
from devdesk.triage.models.rules import RuleSetVersion as RuleSetVersion
from devdesk.triage.models.scope import PlanCoverage as PlanCoverage
from devdesk.triage.models.scope import ScopeArea as ScopeArea
from devdesk.triage.models.scope import ScopeFlag as ScopeFlag
from devdesk.triage.models.scoring import DuplicateLink as DuplicateLink
from devdesk.triage.models.scoring import ScoringPolicy as ScoringPolicy
from devdesk.triage.models.scoring import WaitingDigest as WaitingDigest
from devdesk.triage.models.sla import BusinessCalendar as BusinessCalendar
from devdesk.triage.models.sla import SlaBreach as SlaBreach
from devdesk.triage.models.sla import SlaPolicy as SlaPolicy
from devdesk.triage.models.sla import SlaTarget as SlaTarget
from devdesk.triage.models.sla import TicketSla as TicketSla
