"""The demo desk: `devdesk demo` writes a believable desk once, prints working logins
and a working API token, and running it again changes nothing.

Everything is written through the real services, so a full demo takes ten seconds
or more. The tests load a smaller desk (the size is an option of the command), once
for the module, inside a transaction that is rolled back when the module is done;
each test runs in a savepoint on top of it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command, get_commands
from django.core.management.base import CommandError
from django.db import transaction
from django.db.models import Count
from django.test.utils import override_settings
from django.utils import timezone
from pytest_django import DjangoDbBlocker
from pytest_django.fixtures import Settings as SettingsWrapper

from devdesk import cli
from devdesk.accounts.models import ApiToken, Organization, Team, User
from devdesk.accounts.services import user_for_token
from devdesk.intake.models import (
    BouncedAddress,
    IdempotencyKey,
    InboundEmail,
    Mailbox,
)
from devdesk.ops import demo
from devdesk.ops.demo.content import (
    PLACEHOLDER,
    load_cast,
    load_conversations,
    render,
)
from devdesk.ops.demo.writer import DemoWriter, Plan
from devdesk.ops.management.commands import load_demo
from devdesk.tickets.models import (
    Attachment,
    Macro,
    Message,
    Product,
    Tag,
    Ticket,
    TicketEvent,
)

Status = Ticket.Status
TICKETS = 100
DEMO_MODELS = (
    Organization, User, Team, ApiToken, Product, Macro, Tag,
    Ticket, Message, TicketEvent, Attachment, IdempotencyKey,
)  # fmt: skip


@pytest.fixture(scope="module")
def demo_output(
    django_db_setup: None,
    django_db_blocker: DjangoDbBlocker,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[str]:
    """The demo desk, loaded once for this module, and what the command printed."""
    fast = override_settings(
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
        MEDIA_ROOT=tmp_path_factory.mktemp("demo-media"),
    )
    with django_db_blocker.unblock(), fast, transaction.atomic():
        out = StringIO()
        call_command("load_demo", force=True, tickets=TICKETS, stdout=out)
        yield out.getvalue()
        transaction.set_rollback(True)


@pytest.fixture
def desk(demo_output: str, db: None) -> str:
    return demo_output


def row_counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in DEMO_MODELS}


def test_demo_has_a_vendor_a_partner_and_customers_with_developers(desk: str) -> None:
    kinds = dict(
        Organization.objects.values_list("kind").annotate(n=Count("id")).order_by()
    )
    assert kinds[Organization.Kind.VENDOR] == 1
    assert kinds[Organization.Kind.PARTNER] == 1
    assert 8 <= kinds[Organization.Kind.CUSTOMER] <= 10
    for org in Organization.objects.filter(kind=Organization.Kind.CUSTOMER):
        assert 2 <= org.members.count() <= 6, org.name
        assert org.plan in {"community", "per-incident", "insurance", "enterprise"}
        assert org.domain_list


def test_demo_staff_work_in_support_and_engineering_teams(desk: str) -> None:
    roles = dict(User.objects.values_list("role").annotate(n=Count("id")).order_by())
    assert roles[User.Role.ADMIN] == 1
    assert 4 <= roles[User.Role.AGENT] <= 5
    assert roles[User.Role.ENGINEER] == 3
    assert roles[User.Role.PARTNER_AGENT] == 1
    admin = User.objects.get(role=User.Role.ADMIN)
    assert admin.is_staff
    assert admin.is_superuser
    engineering = Team.objects.filter(kind=Team.Kind.ENGINEERING)
    assert set(engineering.values_list("name", flat=True)) == {
        "API Platform",
        "SDK Engineering",
    }
    support = Team.objects.get(kind=Team.Kind.SUPPORT)
    assert support.members.filter(role=User.Role.AGENT).count() >= 4


def test_the_demo_has_three_hundred_tickets_unless_told_otherwise() -> None:
    parser = load_demo.Command().create_parser("devdesk", "demo")
    assert parser.parse_args([]).tickets == demo.DEFAULT_TICKETS == 300


def test_demo_has_the_tickets_asked_for_in_every_status(desk: str) -> None:
    total = Ticket.objects.count()
    statuses = dict(
        Ticket.objects.values_list("status").annotate(n=Count("id")).order_by()
    )
    # the merged duplicates and the split, two tickets from the demo's mail, and
    # four from triage's scope and cool-down
    assert TICKETS <= total <= TICKETS + 9
    assert set(statuses) == set(Status.values)
    assert statuses[Status.SOLVED] + statuses[Status.CLOSED] > total / 2
    assert len(set(Ticket.objects.values_list("channel", flat=True))) >= 6
    assert len(set(Ticket.objects.values_list("priority", flat=True))) == 4


def test_demo_mail_shows_every_outcome(desk: str) -> None:
    outcomes = set(InboundEmail.objects.values_list("outcome", flat=True))
    assert outcomes == {"ticket", "reply", "suppressed", "duplicate", "quarantined"}
    assert Mailbox.objects.filter(is_default=True).count() == 1
    assert BouncedAddress.objects.filter(address__endswith=".example").exists()
    emailed = Ticket.objects.get(subject__startswith="Python SDK: ConnectionReset")
    assert emailed.channel == Ticket.Channel.EMAIL
    assert emailed.messages.filter(kind=Message.Kind.PUBLIC).count() == 2
    assert emailed.messages.filter(kind=Message.Kind.INTERNAL).count() == 2


def test_demo_history_spreads_over_the_past_ninety_days(desk: str) -> None:
    now = timezone.now()
    oldest = Ticket.objects.order_by("created_at").first()
    assert oldest is not None
    assert now - timedelta(days=91) < oldest.created_at < now - timedelta(days=60)
    assert not Message.objects.filter(created_at__gt=now).exists()
    assert not TicketEvent.objects.filter(created_at__gt=now).exists()
    for ticket in Ticket.objects.filter(
        status=Status.CLOSED, split_from=None, merged_into=None
    ):
        times = list(ticket.messages.values_list("created_at", flat=True))
        assert times == sorted(times)
        assert ticket.created_at <= times[0] <= ticket.updated_at


def test_conversations_have_internal_notes_tags_attachments_and_macros(
    desk: str,
) -> None:
    assert Message.objects.filter(kind=Message.Kind.INTERNAL).count() > TICKETS / 5
    assert Tag.objects.filter(tickets__isnull=False).distinct().count() > 20
    assert Attachment.objects.filter(filename__endswith=".log").exists()
    assert Attachment.objects.filter(filename__endswith=".json").exists()
    assert 5 <= Macro.objects.count() <= 9  # with triage's decline macro
    assert Macro.objects.filter(body__contains="{{ customer.first_name }}").exists()
    assert Macro.objects.filter(usage_count__gt=0).count() >= 3
    assert Message.objects.filter(body__contains="```").count() > TICKETS / 2


def test_escalated_tickets_keep_their_owner_while_an_engineer_works(desk: str) -> None:
    waiting = Ticket.objects.filter(status=Status.PENDING_ENGINEERING)
    assert waiting.exists()
    for ticket in waiting.select_related("owner", "assignee", "escalated_team"):
        assert ticket.escalated_team is not None
        assert ticket.escalated_team.kind == Team.Kind.ENGINEERING
        assert ticket.owner is not None
        assert ticket.owner.role in {User.Role.AGENT, User.Role.ADMIN}
        assert ticket.assignee is not None
        assert ticket.assignee.role == User.Role.ENGINEER
    assert TicketEvent.objects.filter(kind=TicketEvent.Kind.ESCALATED).count() > 5


def test_demo_has_a_fixed_tracker_issue_with_drafted_updates(desk: str) -> None:
    from devdesk.triage.models import CustomerUpdateDraft, EngineeringIssue

    github = EngineeringIssue.objects.get(tracker="github")
    assert github.status == "fixed"
    assert github.endpoint is not None
    assert github.endpoint.deliveries.exists()
    linked = list(github.tickets.all())
    assert len(linked) == 3
    drafts = CustomerUpdateDraft.objects.filter(issue=github, status="draft")
    assert {d.ticket_id for d in drafts} == {t.pk for t in linked}
    assert all(t.owner is not None for t in linked)
    in_progress = EngineeringIssue.objects.get(tracker="internal", status="in_progress")
    assert in_progress.tickets.count() == 2


def test_demo_has_merged_and_split_tickets(desk: str) -> None:
    assert Ticket.objects.filter(merged_into__isnull=False).count() == 2
    assert Ticket.objects.filter(split_from__isnull=False).count() == 1


def test_demo_triage_scores_routes_links_a_duplicate_and_leaves_customers_waiting(
    desk: str,
) -> None:
    from devdesk.triage.models import DuplicateLink, RoutingRule, Skill
    from devdesk.triage.waiting import waiting_tickets

    unresolved = Ticket.objects.filter(status__in=Ticket.UNRESOLVED_STATUSES)
    scores = set(unresolved.values_list("score", flat=True))
    assert len(scores) >= 5
    assert 0 not in scores
    assert unresolved.filter(is_production_down=True).exists()
    assert RoutingRule.objects.filter(required_skills__isnull=False).exists()
    assert Skill.objects.filter(agents__isnull=False).count() >= 5
    link = DuplicateLink.objects.select_related("original").get()
    assert link.original.affected_count > 1
    agent = User.objects.get(email=load_cast().token_owner)
    assert waiting_tickets(agent).exists()


def test_partner_agent_serves_the_partner_routed_customer(desk: str) -> None:
    partner_agent = User.objects.get(role=User.Role.PARTNER_AGENT)
    routed = Ticket.objects.filter(partner_organization=partner_agent.organization)
    assert routed.exists()
    assert Message.objects.filter(ticket__in=routed, author=partner_agent).exists()


def test_demo_looks_in_use_sign_ins_a_leaver_and_a_pending_invitation(
    desk: str,
) -> None:
    from devdesk.accounts.models import Invitation

    staff = User.objects.exclude(role=User.Role.CUSTOMER)
    assert not staff.filter(last_login__isnull=True).exists()
    assert User.objects.filter(
        role=User.Role.CUSTOMER, last_login__isnull=False
    ).exists()
    assert list(
        User.objects.filter(is_active=False).values_list("email", flat=True)
    ) == ["aisha@umbrella-health.example"]
    invitation = Invitation.objects.get()
    assert invitation.accepted_at is None
    assert invitation.organization.slug == "acme-robotics"


def test_loading_notifies_nobody(desk: str) -> None:
    # Every message counts as notified, so a notification task run later sends nothing.
    assert not Message.objects.filter(notified_at__isnull=True).exists()


def test_printed_token_authenticates_as_the_demo_agent(desk: str) -> None:
    token = re.search(r"\bdd_demo_\w+", desk)
    assert token is not None
    user = user_for_token(token.group())
    assert user is not None
    assert user.role == User.Role.AGENT
    assert f'curl -H "Authorization: Bearer {token.group()}"' in desk


def test_printed_logins_sign_in_with_the_demo_password(desk: str) -> None:
    emails = re.findall(r"[\w.+-]+@[\w.-]+\.example\b", desk)
    people = [User.objects.get(email=e) for e in emails]
    assert {p.role for p in people} == set(User.Role.values)
    customers = [p for p in people if p.is_customer]
    assert len({c.organization_id for c in customers}) == 2
    for person in people:
        assert person.check_password(demo.DEMO_PASSWORD), person.email
    assert "http://127.0.0.1:" in desk


def test_second_run_adds_nothing(desk: str) -> None:
    before = row_counts()
    out = StringIO()
    call_command("load_demo", force=True, stdout=out)
    assert row_counts() == before
    assert "loaded already" in out.getvalue()
    assert demo.DEMO_TOKEN in out.getvalue()


def test_reset_replaces_the_demo_instead_of_adding_to_it(desk: str) -> None:
    before = set(Ticket.objects.values_list("pk", flat=True))
    call_command("load_demo", force=True, reset=True, tickets=40, stdout=StringIO())
    assert not Ticket.objects.filter(pk__in=before).exists()
    assert 40 <= Ticket.objects.count() <= 49
    assert Organization.objects.filter(slug="skyforge").count() == 1
    assert user_for_token(demo.DEMO_TOKEN) is not None


def test_demo_refuses_to_run_with_debug_off(
    settings: SettingsWrapper, db: None
) -> None:
    settings.DEBUG = False
    before = row_counts()
    with pytest.raises(CommandError, match="--force"):
        call_command("load_demo", stdout=StringIO())
    assert row_counts() == before


def test_cli_aliases_point_at_real_commands() -> None:
    commands = get_commands()
    assert cli.ALIASES["demo"] == "load_demo"
    assert "worker" not in cli.ALIASES  # devdesk worker is a command of its own
    assert {"load_demo", "worker", "scheduler", "serve"} <= set(commands)


def test_every_template_renders_with_the_values_a_ticket_gets() -> None:
    # given the values the writer makes for one ticket (unsaved people are enough)
    cast, conversations = load_cast(), load_conversations()
    writer = DemoWriter(cast, conversations, seed=1, now=timezone.now())
    person = User(name="Kari Nordmann", email="kari@fjordfreight.example")
    plan = Plan(
        scenario=conversations.scenarios[0],
        org=cast.customers[0],
        requester=person,
        colleague=person,
        owner=person,
        channel=Ticket.Channel.PORTAL,
        priority=Ticket.Priority.NORMAL,
        created_at=timezone.now(),
        target=Status.SOLVED,
    )
    values = writer.values_for(plan)
    # then every text of every scenario fills all its «placeholders»
    assert len(conversations.scenarios) >= 30
    for scenario in conversations.scenarios:
        texts = [
            scenario.opening,
            *scenario.subjects,
            *(s.text for s in scenario.steps),
        ]
        for text in texts:
            assert not PLACEHOLDER.search(render(text, values)), scenario.key
    for text in conversations.attachments.values():
        assert not PLACEHOLDER.search(render(text, values))


def test_a_typo_in_the_templates_is_refused(tmp_path: Path) -> None:
    broken = tmp_path / "conversations.toml"
    broken.write_text(
        '[[scenario]]\nkey = "x"\nproduct = "python-sdk"\nsubjects = ["S"]\n'
        'opening = "Hi"\n[[scenario.steps]]\nkind = "agent"\nmacro = "No such macro"\n'
    )
    with pytest.raises(ValueError, match="unknown macro"):
        load_conversations.__wrapped__(broken)


def test_demo_shows_scope_and_cool_down(desk: str) -> None:
    declined = Ticket.objects.get(is_out_of_scope=True, subject__startswith="Heroku")
    assert declined.messages.filter(body__contains="Where to go instead").exists()
    burst = Ticket.objects.get(subject="Payouts missing")
    assert burst.messages.count() == 5
    assert burst.in_cooldown
    assert burst.cooldown_reason.startswith("burst")
    angry = Ticket.objects.get(subject="Refund API returns 400 again")
    assert angry.in_cooldown
    assert "angry" in angry.cooldown_reason
