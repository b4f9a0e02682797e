"""What the demo desk is made of, read from two data files next to this module:

- ``desk.toml``: the vendor, its partner and customers, their people, teams,
  products and macros;
- ``conversations.toml``: the scenario templates the tickets are written from.

Both are checked on loading, so a typo fails loudly (and in the tests) instead of
producing a half-written demo.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
import zoneinfo
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from devdesk.accounts.models import Organization, Team, User
from devdesk.tickets.models import Message, Ticket

HERE = Path(__file__).parent
Status = Ticket.Status
STEP_KINDS = frozenset({"agent", "customer", "note", "escalate", "engineer"})
PRIORITIES = {p.name.lower(): int(p.value) for p in Ticket.Priority}
PLACEHOLDER = re.compile(r"«(\w+)»")


@dataclass(frozen=True)
class Person:
    name: str
    email: str
    role: str
    teams: tuple[str, ...] = ()
    weight: int = 1  # how often they write (customers) or answer (agents)
    time_zone: str = "UTC"


@dataclass(frozen=True)
class OrgData:
    name: str
    slug: str
    kind: str
    domain: str
    people: tuple[Person, ...]
    plan: str = ""
    weight: int = 0  # share of the tickets
    language: str = "en"
    notes: str = ""

    @property
    def partner_served(self) -> bool:
        return self.kind == Organization.Kind.CUSTOMER and self.language != "en"


@dataclass(frozen=True)
class MacroData:
    name: str
    body: str
    set_status: str = ""
    add_tags: str = ""
    kind: str = Message.Kind.PUBLIC


@dataclass(frozen=True)
class Cast:
    vendor: OrgData
    partner: OrgData
    customers: tuple[OrgData, ...]
    teams: tuple[tuple[str, str, str, str], ...]  # name, slug, kind, lead's e-mail
    products: tuple[tuple[str, str, str], ...]  # name, slug, description
    macros: tuple[MacroData, ...]
    logins: tuple[tuple[str, str, str], ...]  # what, e-mail, note
    token_owner: str
    admin: str
    support_team: str
    leaver: str  # a customer who left their company: deactivated
    pending_invitation: tuple[str, str]  # e-mail, organization slug
    engineer_progress: tuple[str, ...]
    acknowledgements: tuple[str, ...]

    @property
    def organizations(self) -> tuple[OrgData, ...]:
        return (self.vendor, self.partner, *self.customers)

    @property
    def desk_staff(self) -> tuple[Person, ...]:
        return tuple(
            p
            for p in self.vendor.people
            if p.role in {User.Role.AGENT, User.Role.ADMIN}
        )


@dataclass(frozen=True)
class Step:
    kind: str  # agent | customer | note | escalate | engineer
    text: str = ""
    status: str | None = None
    macro: str = ""
    colleague: bool = False


@dataclass(frozen=True)
class Scenario:
    key: str
    product: str
    subjects: tuple[str, ...]
    priority: int
    opening: str
    steps: tuple[Step, ...]
    tags: tuple[str, ...] = ()
    escalate: str = ""
    channels: tuple[str, ...] = ()
    plans: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    attachment: str = ""


@dataclass(frozen=True)
class Conversations:
    scenarios: tuple[Scenario, ...]
    attachments: dict[str, str]

    def get(self, key: str) -> Scenario:
        return next(s for s in self.scenarios if s.key == key)


def email_for(name: str, domain: str) -> str:
    """``Lucía Romero`` at ``papaya.example`` → ``lucia@papaya.example``."""
    first = unicodedata.normalize("NFKD", name.split()[0].lower())
    return "".join(c for c in first if c.isascii()) + "@" + domain


@cache
def load_cast(path: Path = HERE / "desk.toml") -> Cast:
    """Read the people, organizations, teams, products and macros."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    vendor, partner = data["vendor"], data["partner"]
    staff = tuple(
        Person(name, email, role, tuple(teams), weight, zone)
        for name, email, role, teams, weight, zone in vendor["staff"]
    )
    customers = tuple(_customer(raw) for raw in data["customer"])
    cast = Cast(
        vendor=OrgData(
            name=vendor["name"],
            slug=vendor["slug"],
            kind=Organization.Kind.VENDOR,
            domain=vendor["domain"],
            notes=vendor["notes"],
            people=staff,
        ),
        partner=OrgData(
            name=partner["name"],
            slug=partner["slug"],
            kind=Organization.Kind.PARTNER,
            domain=partner["domain"],
            language=partner["language"],
            notes=partner["notes"],
            people=(
                Person(
                    partner["agent"][0],
                    partner["agent"][1],
                    User.Role.PARTNER_AGENT,
                    time_zone=partner["time_zone"],
                ),
            ),
        ),
        customers=customers,
        teams=tuple((n, s, k, lead) for n, s, k, lead in data["teams"]),
        products=tuple((n, s, d) for n, s, d in data["products"]),
        macros=tuple(MacroData(**m) for m in data["macro"]),
        logins=tuple((what, e, note) for what, e, note in data["logins"]),
        token_owner=data["token_owner"],
        admin=data["admin"],
        support_team=data["support_team"],
        leaver=data["leaver"],
        pending_invitation=(
            data["pending_invitation"][0],
            data["pending_invitation"][1],
        ),
        engineer_progress=tuple(data["engineer_progress"]),
        acknowledgements=tuple(data["acknowledgements"]),
    )
    _check_cast(cast)
    return cast


def _customer(raw: dict[str, Any]) -> OrgData:
    return OrgData(
        name=raw["name"],
        slug=raw["slug"],
        kind=Organization.Kind.CUSTOMER,
        domain=raw["domain"],
        plan=raw["plan"],
        weight=raw["weight"],
        language=raw.get("language", "en"),
        notes=raw.get("notes", ""),
        # The first person writes most of the organization's tickets, so the
        # customers in the sign-in list have a full portal.
        people=tuple(
            Person(
                name,
                email_for(name, raw["domain"]),
                User.Role.CUSTOMER,
                weight=3 if i == 0 else 1,
                time_zone=raw["time_zone"],
            )
            for i, name in enumerate(raw["people"])
        ),
    )


def _check_cast(cast: Cast) -> None:
    emails = [p.email for org in cast.organizations for p in org.people]
    team_slugs = {t[1] for t in cast.teams}
    problems = [
        *(f"{e} appears twice" for e in {e for e in emails if emails.count(e) > 1}),
        *(f"unknown login {e}" for _, e, _ in cast.logins if e not in emails),
        *(f"{p.email}: unknown team {t}" for p in cast.vendor.people for t in p.teams if t not in team_slugs),
        *(f"team {t[1]}: unknown kind {t[2]}" for t in cast.teams if t[2] not in Team.Kind.values),
        *(f"macro {m.name}: unknown status {m.set_status}" for m in cast.macros if m.set_status and m.set_status not in Status.values),
        *(f"{org.name} has {len(org.people)} people" for org in cast.customers if not 2 <= len(org.people) <= 6),
    ]  # fmt: skip
    zones = zoneinfo.available_timezones()
    problems += [
        f"{p.email}: unknown time zone {p.time_zone}"
        for org in cast.organizations
        for p in org.people
        if p.time_zone not in zones
    ]
    if cast.token_owner not in emails or cast.admin not in emails:
        problems.append("token owner or admin missing")
    if cast.leaver not in emails or cast.leaver in {e for _, e, _ in cast.logins}:
        problems.append("the leaver must be a known person who is not a demo login")
    if cast.pending_invitation[0] in emails or cast.pending_invitation[1] not in {
        o.slug for o in cast.customers
    }:
        problems.append("the pending invitation needs a new address and a customer")
    if problems:
        raise ValueError("desk.toml: " + "; ".join(problems))


@cache
def load_conversations(path: Path = HERE / "conversations.toml") -> Conversations:
    """Read the scenario templates; raises ValueError naming the scenario at fault."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    cast = load_cast()
    attachments = dict(data.get("attachments", {}))
    scenarios = []
    for raw in data["scenario"]:
        try:
            steps = tuple(Step(**s) for s in raw.pop("steps", []))
            priority = PRIORITIES[raw.pop("priority", "normal")]
            fields: dict[str, Any] = {
                k: tuple(v) if isinstance(v, list) else v for k, v in raw.items()
            }
            scenario = Scenario(**fields, steps=steps, priority=priority)
        except (TypeError, KeyError) as exc:  # a missing, unknown or misspelt key
            raise ValueError(
                f"conversations.toml, scenario {raw.get('key')}: {exc}"
            ) from exc
        _check_scenario(scenario, cast, attachments)
        scenarios.append(scenario)
    return Conversations(tuple(scenarios), attachments)


def _check_scenario(
    scenario: Scenario, cast: Cast, attachments: dict[str, str]
) -> None:
    macros = {m.name for m in cast.macros}
    steps = scenario.steps
    problems = [
        *(f"unknown step kind {s.kind!r}" for s in steps if s.kind not in STEP_KINDS),
        *(f"unknown macro {s.macro!r}" for s in steps if s.macro and s.macro not in macros),
        *(f"unknown status {s.status!r}" for s in steps if s.status and s.status not in Status.values),
    ]  # fmt: skip
    if any(s.kind == "escalate" for s in steps) != bool(scenario.escalate):
        problems.append("`escalate` names a team exactly when a step escalates")
    if scenario.escalate and scenario.escalate not in {t[1] for t in cast.teams}:
        problems.append(f"unknown team {scenario.escalate!r}")
    if scenario.product not in {p[1] for p in cast.products}:
        problems.append(f"unknown product {scenario.product!r}")
    if scenario.attachment and scenario.attachment not in attachments:
        problems.append(f"unknown attachment {scenario.attachment!r}")
    if not steps or step_status(steps[-1], cast) != Status.SOLVED:
        problems.append("the last step must solve the ticket")
    if problems:
        raise ValueError(
            f"conversations.toml, scenario {scenario.key}: {'; '.join(problems)}"
        )


def step_status(step: Step, cast: Cast | None = None) -> str | None:
    """The status an agent's step leaves the ticket in; None for other steps."""
    if step.kind != "agent":
        return None
    if step.macro:
        macros = (cast or load_cast()).macros
        return next(
            (m.set_status or None for m in macros if m.name == step.macro), None
        )
    return step.status or Status.PENDING_CUSTOMER


def render(text: str, values: dict[str, str]) -> str:
    """Fill «placeholders»; an unknown one raises KeyError (a typo in the templates)."""
    return PLACEHOLDER.sub(lambda m: values[m.group(1)], text).strip()
