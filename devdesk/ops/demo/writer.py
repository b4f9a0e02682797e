"""Writing the demo desk through the real services, with ninety days of history.

The services stamp what they write with the current time. :class:`Clock` moves what
each step wrote back to the step's planned time, then :meth:`Clock.settle` derives
the ticket's own timestamps (created, updated, first response, solved, closed) from
its backdated messages and events, so every number on the desk agrees.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth.hashers import make_password
from django.db.models import F, Max, Min, OuterRef, Q, Subquery

from devdesk.accounts.models import Invitation, Organization, Team, User, hash_token
from devdesk.intake.services import submit
from devdesk.ops.demo.content import (
    Cast,
    Conversations,
    OrgData,
    Person,
    Scenario,
    Step,
    render,
    step_status,
)
from devdesk.tickets.attachments import CheckedUpload, check_upload
from devdesk.tickets.merging import merge_tickets, split_ticket
from devdesk.tickets.models import (
    Attachment,
    Macro,
    Message,
    Product,
    Ticket,
    TicketEvent,
)
from devdesk.tickets.services import (
    NewTicket,
    add_message,
    add_tags,
    apply_macro,
    change_status,
    escalate_ticket,
    set_followers,
    update_ticket,
)

Status = Ticket.Status
Channel = Ticket.Channel
DAYS_OF_HISTORY = 90
RECENT_SHARE = 0.3
AUTO_CLOSE_AFTER = timedelta(days=4)
ACKNOWLEDGED = "acknowledged"
IN_PROGRESS = (
    Status.NEW,
    Status.OPEN,
    Status.PENDING_CUSTOMER,
    Status.PENDING_ENGINEERING,
)
MIN_PER_STATUS = 4
STORY_TAGS = (
    "partner",
    "cli",
    "windows",
)  # tags the writer adds outside the templates  # an "open" ticket the owner has only noted so far

# How a ticket of a given age (days) most likely stands today.
TARGETS_BY_AGE: tuple[tuple[float, dict[str, int]], ...] = (
    (1, {"new": 35, "open": 20, "pending_customer": 15, "pending_engineering": 10, "solved": 20}),
    (3, {"new": 12, "open": 20, "pending_customer": 20, "pending_engineering": 13, "solved": 35}),
    (10, {"new": 2, "open": 8, "pending_customer": 15, "pending_engineering": 16, "solved": 59}),
    (30, {"open": 3, "pending_customer": 4, "pending_engineering": 9, "solved": 84}),
    (1e9, {"pending_engineering": 4, "solved": 96}),
)  # fmt: skip
CHANNELS = {
    Channel.PORTAL: 48,
    Channel.EMAIL: 30,
    Channel.API: 8,
    Channel.CHAT: 6,
    Channel.AGENT: 5,
    Channel.EVENT: 3,
}
HOURS_OF_DAY = (
    1,
    1,
    1,
    1,
    1,
    2,
    3,
    6,
    9,
    10,
    10,
    9,
    8,
    9,
    10,
    10,
    9,
    7,
    5,
    4,
    3,
    2,
    1,
    1,
)
# Hours until the first answer, by priority (urgent is answered in minutes).
FIRST_REPLY_HOURS = {4: (0.05, 0.5), 3: (0.2, 3.0), 2: (0.5, 8.0), 1: (1.0, 20.0)}
STEP_HOURS = {
    "customer": (0.5, 30.0),
    "note": (0.05, 2.0),
    "escalate": (0.1, 4.0),
    "engineer": (4.0, 72.0),
    "agent": (0.3, 6.0),
}


class Clock:
    """Moves rows written during the load to their planned time.

    Every row a service writes now is newer than ``started``; every planned time
    lies before it, so "newer than started" is exactly "not yet backdated".
    """

    def __init__(self, started: datetime) -> None:
        self.started = started

    def stamp(self, tickets: Iterable[Ticket], when: datetime) -> None:
        ids = [t.pk for t in tickets]
        fresh = Q(ticket_id__in=ids, created_at__gte=self.started)
        TicketEvent.objects.filter(fresh).update(created_at=when)
        Message.objects.filter(fresh).update(created_at=when)

    def settle(self, ticket: Ticket) -> None:
        """Derive the ticket's timestamps from its backdated messages and events."""
        customer = Q(author__role=User.Role.CUSTOMER)
        desk_reply = Q(kind=Message.Kind.PUBLIC, author__isnull=False) & ~customer
        messages = Message.objects.filter(ticket=ticket).aggregate(
            first_response=Min("created_at", filter=desk_reply),
            last_customer=Max("created_at", filter=customer),
        )
        changed = Q(kind=TicketEvent.Kind.STATUS_CHANGED)
        closed = (changed & Q(data__new=Status.CLOSED)) | Q(
            kind=TicketEvent.Kind.MERGED_INTO
        )
        events = TicketEvent.objects.filter(ticket=ticket).aggregate(
            first=Min("created_at"),
            last=Max("created_at"),
            solved=Max("created_at", filter=changed & Q(data__new=Status.SOLVED)),
            closed=Max("created_at", filter=closed),
        )
        ticket.refresh_from_db(fields=["status"])
        Ticket.objects.filter(pk=ticket.pk).update(
            created_at=events["first"],
            updated_at=events["last"],
            first_response_at=messages["first_response"],
            last_customer_message_at=messages["last_customer"],
            solved_at=events["solved"]
            if ticket.status in {Status.SOLVED, Status.CLOSED}
            else None,
            closed_at=events["closed"] if ticket.status == Status.CLOSED else None,
        )
        # Marked as notified, a message is never mailed by a notification task.
        Message.objects.filter(ticket=ticket, notified_at__isnull=True).update(
            notified_at=F("created_at")
        )
        attachments = Attachment.objects.filter(message__ticket=ticket)
        if attachments.exists():
            attachments.update(
                created_at=Subquery(
                    Message.objects.filter(pk=OuterRef("message_id")).values(
                        "created_at"
                    )[:1]
                )
            )


@dataclass
class Plan:
    """One ticket to write: who, what, when, and how far its conversation gets."""

    scenario: Scenario
    org: OrgData
    requester: User
    colleague: User
    owner: User
    channel: str
    priority: int
    created_at: datetime
    target: str
    story: str = ""  # "merge" or "split": a ticket with a twist


class DemoWriter:
    """Writes the cast and a few hundred tickets. Deterministic for a seed and a
    moment ``now`` (the dates are relative to it)."""

    def __init__(
        self, cast: Cast, conversations: Conversations, *, seed: int, now: datetime
    ) -> None:
        self.cast = cast
        self.conversations = conversations
        self.rng = random.Random(seed)  # noqa: S311 - made-up content, not secrets
        self.now = now
        self.latest = now - timedelta(minutes=3)  # nothing planned is later than this
        self.clock = Clock(now)
        self.users: dict[str, User] = {}
        self.orgs: dict[str, Organization] = {}
        self.teams: dict[str, Team] = {}
        self.products: dict[str, Product] = {}
        self.macros: dict[str, Macro] = {}
        self.attached: set[str] = set()
        self.used: set[str] = set()

    @property
    def admin(self) -> User:
        return self.users[self.cast.admin]

    # People, teams, products, macros.

    def write_cast(self, *, password: str) -> None:
        """Organizations, people (all with ``password``), teams, products, macros."""
        hashed = make_password(password)  # once: hashing is slow on purpose
        for data in self.cast.organizations:
            org = Organization.objects.create(
                name=data.name,
                slug=data.slug,
                kind=data.kind,
                domains=data.domain,
                plan=data.plan,
                notes=data.notes,
                created_at=self.now - timedelta(days=self.rng.randint(200, 900)),
            )
            self.orgs[data.slug] = org
            for person in data.people:
                is_admin = person.role == User.Role.ADMIN
                self.users[person.email] = User.objects.create(
                    email=person.email,
                    name=person.name,
                    role=person.role,
                    organization=org,
                    password=hashed,
                    language=data.language,
                    time_zone=person.time_zone,
                    is_staff=is_admin,
                    is_superuser=is_admin,
                    date_joined=org.created_at
                    + timedelta(days=self.rng.randint(0, 150)),
                )
        for name, slug, kind, lead in self.cast.teams:
            team, _ = Team.objects.update_or_create(
                slug=slug,
                defaults={
                    "name": name,
                    "kind": kind,
                    "default_person": self.users[lead],
                },
            )
            team.members.set(
                [
                    self.users[p.email]
                    for p in self.cast.vendor.people
                    if slug in p.teams
                ]
            )
            self.teams[slug] = team
        for name, slug, description in self.cast.products:
            self.products[slug], _ = Product.objects.update_or_create(
                slug=slug,
                defaults={"name": name, "description": description, "is_active": True},
            )
        for macro in self.cast.macros:
            self.macros[macro.name], _ = Macro.objects.update_or_create(
                name=macro.name,
                defaults={
                    "body": macro.body,
                    "kind": macro.kind,
                    "set_status": macro.set_status,
                    "add_tags": macro.add_tags,
                    "is_active": True,
                    "usage_count": 0,
                },
            )

    # Planning.

    def write_tickets(self, count: int) -> None:
        plans = self.plan_stories()
        plans += [self.plan_ticket() for _ in range(max(count - len(plans), 0))]
        plans.sort(key=lambda p: p.created_at)  # numbers grow with time
        self.ensure_variety(plans)
        for plan in plans:
            self.play(plan)
        self.write_finishing_touches()

    def write_finishing_touches(self) -> None:
        """What a desk in use also has: recent sign-ins, a person who left their
        company (deactivated), and an invitation nobody has accepted yet."""
        last_wrote = dict(
            Message.objects.filter(author__isnull=False)
            .values_list("author")
            .annotate(latest=Max("created_at"))
            .values_list("author", "latest")
        )
        for user in self.users.values():
            if user.works_tickets:
                user.last_login = self.now - timedelta(
                    minutes=self.rng.randint(5, 1200)
                )
            elif user.pk in last_wrote:
                user.last_login = last_wrote[user.pk] - timedelta(minutes=2)
            User.objects.filter(pk=user.pk).update(last_login=user.last_login)
        leaver = self.users[self.cast.leaver]
        User.objects.filter(pk=leaver.pk).update(is_active=False)
        org = self.orgs[self.cast.pending_invitation[1]]
        Invitation.objects.create(
            email=self.cast.pending_invitation[0],
            organization=org,
            role=User.Role.CUSTOMER,
            token_hash=hash_token(f"demo-invitation-{self.rng.random()}"),
            invited_by=self.users[self.cast.token_owner],
            created_at=self.now - timedelta(days=2),
            expires_at=self.now + timedelta(days=12),
        )

    def ensure_variety(self, plans: list[Plan]) -> None:
        """Make sure the inbox has a few tickets in every unresolved status, whatever
        the dice said: the newest plans meant to be solved take the missing ones."""
        for status in IN_PROGRESS:
            missing = MIN_PER_STATUS - sum(p.target == status for p in plans)
            for plan in reversed(plans):
                if missing <= 0:
                    break
                fits = status != Status.PENDING_ENGINEERING or plan.scenario.escalate
                if plan.target == Status.SOLVED and not plan.story and fits:
                    plan.target, missing = status, missing - 1

    def pick_time(self) -> datetime:
        """A moment in the last 90 days: mostly on working days and hours (UTC)."""
        while True:
            # A third of the tickets come from the last ten days, which fills the
            # inbox with work in progress; the rest spread over the whole period.
            recent = self.rng.random() < RECENT_SHARE
            days = self.rng.uniform(0.05, 10 if recent else DAYS_OF_HISTORY)
            moment = self.now - timedelta(days=days)
            if moment.weekday() < 5 or self.rng.random() < 0.25:
                break
        hour = self.rng.choices(range(24), weights=HOURS_OF_DAY)[0]
        moment = moment.replace(
            hour=hour, minute=self.rng.randint(0, 59), second=self.rng.randint(0, 59)
        )
        return min(moment, self.latest - timedelta(hours=1))

    def pick_target(self, created_at: datetime, scenario: Scenario) -> str:
        age_days = (self.now - created_at).total_seconds() / 86400
        weights = next(w for limit, w in TARGETS_BY_AGE if age_days < limit)
        if not scenario.escalate:
            weights = {
                k: v for k, v in weights.items() if k != Status.PENDING_ENGINEERING
            }
        return self.rng.choices(list(weights), weights=list(weights.values()))[0]

    def pick_scenario(self, org: OrgData) -> Scenario:
        candidates = [
            s
            for s in self.conversations.scenarios
            if (not s.plans or org.plan in s.plans)
            and (not s.languages or org.language in s.languages)
            # Partner agents don't escalate to the vendor's engineers.
            and not (org.partner_served and s.escalate)
        ]
        # Every scenario gets its turn before any repeats, so even a small demo
        # shows the whole range of problems.
        unused = [s for s in candidates if s.key not in self.used]
        scenario = self.rng.choice(unused or candidates)
        self.used.add(scenario.key)
        return scenario

    def pick_person(
        self, people: Sequence[Person], *, other_than: User | None = None
    ) -> User:
        choices = [
            p for p in people if other_than is None or p.email != other_than.email
        ]
        choices = choices or list(people)
        chosen = self.rng.choices(choices, weights=[p.weight for p in choices])[0]
        return self.users[chosen.email]

    def pick_priority(self, scenario: Scenario, org: OrgData) -> int:
        priority = scenario.priority
        if org.plan == "enterprise" and priority < Ticket.Priority.HIGH:
            priority += self.rng.random() < 0.3  # big customers shout a little louder
        elif org.plan == "community" and self.rng.random() < 0.5:
            priority -= 1
        elif self.rng.random() < 0.1:
            priority += self.rng.choice((-1, 1))
        return max(Ticket.Priority.LOW, min(Ticket.Priority.URGENT, priority))

    def plan_ticket(
        self,
        *,
        org: OrgData | None = None,
        scenario: Scenario | None = None,
        created_at: datetime | None = None,
        target: str = "",
        story: str = "",
    ) -> Plan:
        org = (
            org
            or self.rng.choices(
                self.cast.customers, weights=[o.weight for o in self.cast.customers]
            )[0]
        )
        scenario = scenario or self.pick_scenario(org)
        requester = self.pick_person(org.people)
        if org.partner_served:
            owner = self.users[self.cast.partner.people[0].email]
        else:
            owner = self.pick_person(self.cast.desk_staff)
        created_at = created_at or self.pick_time()
        if scenario.channels:
            channel = self.rng.choice(scenario.channels)
        else:
            channel = self.rng.choices(list(CHANNELS), weights=list(CHANNELS.values()))[
                0
            ]
        return Plan(
            scenario=scenario,
            org=org,
            requester=requester,
            colleague=self.pick_person(org.people, other_than=requester),
            owner=owner,
            channel=channel,
            priority=self.pick_priority(scenario, org),
            created_at=created_at,
            target=target or self.pick_target(created_at, scenario),
            story=story,
        )

    def plan_stories(self) -> list[Plan]:
        """Two duplicates to merge and one ticket to split: things desks do daily."""
        orgs = {o.slug: o for o in self.cast.customers}
        get = self.conversations.get
        return [
            self.plan_ticket(
                org=orgs["acme-robotics"],
                scenario=get("gateway-helm-upgrade"),
                created_at=self.now - timedelta(days=23, hours=5),
                target=Status.SOLVED,
                story="merge",
            ),
            self.plan_ticket(
                org=orgs["initech"],
                scenario=get("rate-limit-429"),
                created_at=self.now - timedelta(days=2, hours=3),
                target=Status.PENDING_CUSTOMER,
                story="merge",
            ),
            self.plan_ticket(
                org=orgs["monarch-bank"],
                scenario=get("tls-corporate-proxy"),
                created_at=self.now - timedelta(days=11, hours=2),
                target=Status.SOLVED,
                story="split",
            ),
        ]

    # Writing one ticket.

    def values_for(self, plan: Plan) -> dict[str, str]:
        """What the «placeholders» of this ticket's templates become."""
        rng = self.rng

        def token(prefix: str, length: int) -> str:
            alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
            return prefix + "".join(rng.choice(alphabet) for _ in range(length))

        return {
            "first_name": plan.requester.first_name,
            "name": plan.requester.display_name,
            "colleague": plan.colleague.first_name,
            "org": plan.org.name,
            "domain": plan.org.domain,
            "plan": plan.org.plan,
            "agent": plan.owner.first_name,
            "date": plan.created_at.date().isoformat(),
            "time": plan.created_at.strftime("%H:%M"),
            "req_id": f"req_{rng.getrandbits(96):024x}",
            "req_id2": f"req_{rng.getrandbits(96):024x}",
            "evt_id": token("evt_", 24),
            "we_id": token("we_", 16),
            "pay_id": token("pay_", 20),
            "cus_id": token("cus_", 14),
            "amount": str(rng.choice((1999, 4999, 12900, 2450, 89000))),
            "currency_lower": rng.choice(("eur", "usd", "gbp")),
            "region": rng.choice(("eu-west-1", "eu-central-1", "europe-west3")),
            "api_version": rng.choice(("2024-06-01", "2024-09-15", "2025-01-20")),
            "py_sdk": rng.choice(("4.3.0", "4.3.1")),
            "py_sdk_fixed": "4.3.2",
            "node_sdk": rng.choice(("4.0.1", "4.0.2")),
            "node_sdk_fixed": "4.0.3",
            "go_sdk": rng.choice(("v2.7.3", "v2.8.0")),
            "go_sdk_fixed": "v2.8.1",
            "cli": rng.choice(("1.14.2", "1.15.0")),
            "cli_fixed": "1.15.1",
            "gw": rng.choice(("2.9.3", "2.9.4")),
            "gw_next": "2.10.0",
            "python": rng.choice(("3.10", "3.11", "3.12")),
            "node": rng.choice(("18.19.1", "20.11.1", "20.15.0")),
            "go": rng.choice(("1.21.6", "1.22.4")),
            "k8s": rng.choice(("1.28", "1.29", "1.30")),
        }

    def cut(self, steps: tuple[Step, ...], target: str) -> tuple[tuple[Step, ...], str]:
        """The steps to play for a ticket meant to end in ``target``, and the target
        this scenario can really reach (a one-reply scenario has no "open" stage)."""
        if target == Status.NEW:
            return (), target
        if target in {Status.SOLVED, Status.CLOSED}:
            return steps, Status.SOLVED
        for i, step in enumerate(steps):
            if (
                (target == Status.OPEN and step.kind == "customer")
                or (target == Status.PENDING_CUSTOMER and step_status(step) == target)
                or (target == Status.PENDING_ENGINEERING and step.kind == "escalate")
            ):
                return steps[: i + 1], target
        if target == Status.OPEN:
            note = Step(
                "note", self.rng.choice(self.cast.acknowledgements), status=Status.OPEN
            )
            return (note,), ACKNOWLEDGED
        return self.cut(steps, Status.OPEN)

    def schedule(
        self, plan: Plan, steps: Sequence[Step], *, start: datetime
    ) -> list[datetime]:
        """When each step happens; squeezed into the past if it would reach today."""
        times: list[datetime] = []
        moment, answered = start, False
        for step in steps:
            hours = STEP_HOURS[step.kind]
            if step.kind == "agent" and not answered:
                hours, answered = FIRST_REPLY_HOURS[plan.priority], True
            moment += timedelta(hours=self.rng.uniform(*hours))
            times.append(moment)
        if times and times[-1] > self.latest:
            span = (self.latest - start) / (times[-1] - start)
            times = [start + (t - start) * span for t in times]
        return times

    def uploads(self, plan: Plan, values: dict[str, str]) -> list[CheckedUpload]:
        name = plan.scenario.attachment
        # The first ticket of a scenario always has its file, later ones sometimes.
        if not name or (name in self.attached and self.rng.random() < 0.5):
            return []
        self.attached.add(name)
        content = render(self.conversations.attachments[name], values) + "\n"
        return [check_upload(name, content.encode())]

    def play(self, plan: Plan) -> Ticket:
        """Open the ticket and play its conversation up to the planned status."""
        scenario, values = plan.scenario, self.values_for(plan)
        steps, target = self.cut(scenario.steps, plan.target)
        logged_by_desk = plan.channel in {Channel.AGENT, Channel.EVENT}
        ticket = submit(
            NewTicket(
                requester=plan.requester,
                subject=render(self.rng.choice(scenario.subjects), values),
                body=render(scenario.opening, values),
                channel=plan.channel,
                product=self.products[scenario.product],
                priority=plan.priority,
                uploads=self.uploads(plan, values),
                created_at=plan.created_at,
            ),
            acting_user=self.admin if logged_by_desk else plan.requester,
            # The story says which requests are tickets; its clock is not real time.
            fold_bursts=False,
        ).ticket
        self.clock.stamp([ticket], plan.created_at)
        moment = plan.created_at
        if plan.org.partner_served:
            moment += timedelta(minutes=self.rng.randint(3, 40))
            self.route_to_partner(ticket, plan, moment)
        if plan.story == "merge":
            moment = self.merge_duplicate(ticket, plan, moment)
        elif plan.story == "split":
            moment = self.split_out(ticket, plan, moment)
        times = self.schedule(plan, steps, start=moment)
        if (
            target == Status.NEW
            and not plan.org.partner_served
            and self.rng.random() < 0.5
        ):
            update_ticket(
                ticket, acting_user=self.admin, team=self.teams[self.cast.support_team]
            )
            self.clock.stamp(
                [ticket], moment + timedelta(minutes=self.rng.randint(1, 30))
            )
        team: Team | None = None
        for step, when in zip(steps, times, strict=True):
            if ticket.owner_id is None:
                self.take(ticket, plan)
            team = self.play_step(ticket, plan, step, values, team)
            self.clock.stamp([ticket], when)
        if target == Status.PENDING_ENGINEERING and team is not None:
            self.keep_customer_informed(ticket, plan, team, times[-1])
        elif target == Status.SOLVED:
            self.close_when_due(ticket, times[-1])
        elif target == Status.PENDING_CUSTOMER and self.rng.random() < 0.3:
            self.close_unanswered(ticket, plan, times[-1])
        if (
            times
            and ticket.owner_id
            and not plan.org.partner_served
            and self.rng.random() < 0.1
        ):
            set_followers(ticket, [plan.colleague], acting_user=plan.owner)
            self.clock.stamp([ticket], times[0])
        self.clock.settle(ticket)
        return ticket

    def take(self, ticket: Ticket, plan: Plan) -> None:
        """The owner takes a new ticket: owner, assignee, team and tags in one go."""
        update_ticket(
            ticket,
            acting_user=plan.owner,
            owner=plan.owner,
            assignee=plan.owner,
            team=self.teams[self.cast.support_team],
        )
        add_tags(ticket, plan.scenario.tags, acting_user=plan.owner)

    def play_step(
        self,
        ticket: Ticket,
        plan: Plan,
        step: Step,
        values: dict[str, str],
        team: Team | None,
    ) -> Team | None:
        owner, text = plan.owner, render(step.text, values)
        if step.kind == "customer":
            author = plan.colleague if step.colleague else plan.requester
            channel = plan.channel if plan.channel == Channel.EMAIL else Channel.PORTAL
            add_message(ticket, author=author, body=text, channel=channel)
        elif step.kind == "note":
            self.note(ticket, owner, text)
            if step.status:
                change_status(ticket, step.status, acting_user=owner)
        elif step.kind == "escalate":
            team = self.teams[plan.scenario.escalate]
            escalate_ticket(ticket, team=team, note=text, acting_user=owner)
            # The owner stays the customer's contact; an engineer works on it now.
            engineer = self.rng.choice(list(team.members.order_by("email")))
            update_ticket(ticket, acting_user=owner, assignee=engineer)
        elif step.kind == "engineer":
            self.note(ticket, self.engineer_on(ticket, team), text)
        elif step.macro:
            apply_macro(ticket, self.macros[step.macro], acting_user=owner)
        else:
            status = step.status or Status.PENDING_CUSTOMER
            back_from_engineering = status != Status.PENDING_ENGINEERING
            if (
                ticket.assignee_id != owner.pk
                and owner.is_desk_staff
                and back_from_engineering
            ):
                update_ticket(ticket, acting_user=owner, assignee=owner)
            add_message(
                ticket,
                author=owner,
                body=text,
                channel=Channel.AGENT,
                new_status=status,
            )
        return team

    def note(self, ticket: Ticket, author: User, text: str) -> None:
        add_message(
            ticket,
            author=author,
            body=text,
            kind=Message.Kind.INTERNAL,
            channel=Channel.AGENT,
        )

    def engineer_on(self, ticket: Ticket, team: Team | None) -> User:
        if ticket.assignee and ticket.assignee.role == User.Role.ENGINEER:
            return ticket.assignee
        if team is None or team.default_person is None:
            raise ValueError(
                f"{ticket.reference}: an engineer step needs an escalation first"
            )
        return team.default_person

    def route_to_partner(self, ticket: Ticket, plan: Plan, when: datetime) -> None:
        # No routing service exists yet (the partners app will own it), so the admin
        # sets the partner organization and makes the partner agent the owner.
        ticket.partner_organization = self.orgs[self.cast.partner.slug]
        ticket.save(update_fields=["partner_organization"])
        update_ticket(
            ticket, acting_user=self.admin, owner=plan.owner, assignee=plan.owner
        )
        add_tags(ticket, [*plan.scenario.tags, STORY_TAGS[0]], acting_user=self.admin)
        self.clock.stamp([ticket], when)

    def keep_customer_informed(
        self, ticket: Ticket, plan: Plan, team: Team, after: datetime
    ) -> None:
        """Waiting on engineering: the owner tells the customer so, and the engineer
        notes progress (unless the escalation happened only hours ago)."""
        moment = min(after + timedelta(minutes=self.rng.randint(5, 90)), self.latest)
        if self.rng.random() < 0.6:
            apply_macro(
                ticket, self.macros["Escalated to engineering"], acting_user=plan.owner
            )
            self.clock.stamp([ticket], moment)
        later = moment + timedelta(hours=self.rng.uniform(6, 48))
        if self.rng.random() < 0.7 and later < self.latest:
            self.note(
                ticket,
                self.engineer_on(ticket, team),
                self.rng.choice(self.cast.engineer_progress),
            )
            self.clock.stamp([ticket], later)

    def close_when_due(self, ticket: Ticket, solved_at: datetime) -> None:
        """Solved tickets nobody reopened are closed by the desk after four days."""
        ticket.refresh_from_db()
        if (
            ticket.status == Status.SOLVED
            and solved_at + AUTO_CLOSE_AFTER < self.latest
        ):
            change_status(ticket, Status.CLOSED, acting_user=None)
            self.clock.stamp([ticket], solved_at + AUTO_CLOSE_AFTER)

    def close_unanswered(self, ticket: Ticket, plan: Plan, asked_at: datetime) -> None:
        """Some customers never answer: after five days the owner closes the loop."""
        nudge = asked_at + timedelta(days=5, hours=self.rng.uniform(0, 8))
        if nudge < self.latest:
            apply_macro(
                ticket, self.macros["Closing: no reply"], acting_user=plan.owner
            )
            self.clock.stamp([ticket], nudge)
            self.close_when_due(ticket, nudge)

    def merge_duplicate(self, target: Ticket, plan: Plan, moment: datetime) -> datetime:
        """A colleague reports the same problem minutes later; the owner merges it."""
        created = moment + timedelta(minutes=self.rng.randint(12, 50))
        source = submit(
            NewTicket(
                requester=plan.colleague,
                subject=f"Same problem here? {target.subject}"[:200],
                body=(
                    f"Hi, I think {plan.requester.first_name} from our team already wrote "
                    "about this, but just in case: we see exactly the same error here "
                    "since this morning. Please keep us both posted.\n\n"
                    f"{plan.colleague.first_name}"
                ),
                channel=Channel.EMAIL,
                product=target.product,
                priority=target.priority,
                created_at=created,
            ),
            acting_user=plan.colleague,
            fold_bursts=False,
        ).ticket
        self.clock.stamp([source], created)
        merged = created + timedelta(minutes=self.rng.randint(5, 30))
        merge_tickets(source, target, acting_user=plan.owner, notify_source=True)
        self.clock.stamp([source, target], merged)
        self.clock.settle(source)
        return merged

    def split_out(self, ticket: Ticket, plan: Plan, moment: datetime) -> datetime:
        """The customer adds an unrelated question; the owner splits it into its own
        ticket and answers it there."""
        asked = moment + timedelta(minutes=self.rng.randint(10, 40))
        extra = add_message(
            ticket,
            author=plan.requester,
            body=(
                "Unrelated, but while I have you: on my Windows laptop `skyforge deploy "
                "--config C:\\work\\shop\\skyforge.toml` says the config file doesn't "
                "exist, although it does. The same command works on my Mac."
            ),
        )
        self.clock.stamp([ticket], asked)
        split_at = asked + timedelta(minutes=self.rng.randint(20, 90))
        new = split_ticket(
            ticket,
            message_ids=[extra.pk],
            acting_user=plan.owner,
            subject="CLI: config file not found with a Windows path",
        )
        update_ticket(
            new, acting_user=plan.owner, owner=plan.owner, product=self.products["cli"]
        )
        add_tags(new, STORY_TAGS[1:], acting_user=plan.owner)
        self.clock.stamp([ticket, new], split_at)
        answered = split_at + timedelta(minutes=self.rng.randint(5, 30))
        add_message(
            new,
            author=plan.owner,
            body=(
                f"Hi {plan.requester.first_name}, I moved this into its own ticket so it "
                "doesn't get lost in the TLS one.\n\nThe CLI treats `\\` in option values "
                "as an escape character on Windows. Until the fix ships, use forward "
                "slashes:\n\n```powershell\nskyforge deploy --config "
                f"C:/work/shop/skyforge.toml\n```\n\n{plan.owner.first_name}"
            ),
            channel=Channel.AGENT,
            new_status=Status.SOLVED,
        )
        self.clock.stamp([new], answered)
        self.close_when_due(new, answered)
        self.clock.settle(new)
        return split_at
