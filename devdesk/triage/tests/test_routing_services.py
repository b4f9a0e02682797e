"""Routing: rules to teams, skills, and each team's way of choosing a person."""

from __future__ import annotations

import pytest
from django.utils import timezone

from devdesk.accounts.models import Team, User
from devdesk.accounts.tests.factories import TeamFactory, UserFactory
from devdesk.intake.services import submit
from devdesk.tickets.models import Ticket, TicketEvent
from devdesk.tickets.services import NewTicket
from devdesk.tickets.tests.factories import ProductFactory, make_ticket
from devdesk.triage import routing
from devdesk.triage.models import (
    AgentSkill,
    RoutingPolicy,
    RoutingRule,
    Skill,
    TeamRouting,
)


def _agent(vendor, name: str, role: str = User.Role.AGENT, **extra) -> User:  # type: ignore[no-untyped-def]
    return UserFactory(
        email=f"{name}@skyforge.test",
        name=name,
        role=role,
        organization=vendor,
        **extra,
    )


@pytest.fixture
def support(vendor) -> Team:  # type: ignore[no-untyped-def]
    team = TeamFactory(name="Support", slug="support")
    team.members.add(
        _agent(vendor, "ann"), _agent(vendor, "bob"), _agent(vendor, "cem")
    )
    return team


@pytest.fixture
def sdk_team(vendor) -> Team:  # type: ignore[no-untyped-def]
    team = TeamFactory(name="SDK desk", slug="sdk-desk")
    team.members.add(_agent(vendor, "dora"))
    return team


def _method(team: Team, method: str) -> None:
    TeamRouting.objects.update_or_create(team=team, defaults={"method": method})


def test_first_matching_rule_by_position_wins(acme_customer, support, sdk_team):
    product = ProductFactory(slug="python-sdk")
    later = RoutingRule.objects.create(name="Everything", position=2, team=support)
    first = RoutingRule.objects.create(name="SDK", position=1, team=sdk_team)
    first.products.add(product)
    ticket = make_ticket(acme_customer, product=product)

    routed = routing.route(ticket)

    assert routed.rule == first
    assert routed.team == sdk_team
    assert ticket.assignee.name == "dora"
    assert later.pk  # the catch-all stayed unused


def test_rule_conditions_on_language_and_organization(
    acme_customer, globex_customer, support, sdk_team
):
    rule = RoutingRule.objects.create(
        name="German Globex", position=1, team=sdk_team, languages="de, at"
    )
    rule.organizations.add(globex_customer.organization)
    RoutingPolicy.objects.create(pk=1, default_team=support)
    globex_customer.language = "de"
    globex_customer.save()
    acme_customer.language = "de"
    acme_customer.save()

    globex = routing.route(make_ticket(globex_customer))
    acme = routing.route(make_ticket(acme_customer))

    assert globex.team == sdk_team
    assert (acme.team, acme.rule) == (support, None)  # default team


def test_no_rule_and_no_default_team_leaves_the_ticket_alone(acme_customer, support):
    ticket = make_ticket(acme_customer)

    routed = routing.route(ticket)

    assert routed == routing.Routed(None, None, None)
    ticket.refresh_from_db()
    assert ticket.team is None


def test_round_robin_takes_members_in_turn(acme_customer, support):
    RoutingPolicy.objects.create(pk=1, default_team=support)
    _method(support, TeamRouting.Method.ROUND_ROBIN)

    names = [routing.route(make_ticket(acme_customer)).assignee.name for _ in range(4)]

    assert names == ["ann", "bob", "cem", "ann"]


def test_round_robin_skips_inactive_people_engineers_and_admins(
    vendor, acme_customer, support
):
    RoutingPolicy.objects.create(pk=1, default_team=support)
    User.objects.filter(name="bob").update(is_active=False)
    support.members.add(
        _agent(vendor, "eng", role=User.Role.ENGINEER),
        _agent(vendor, "boss", role=User.Role.ADMIN),
    )

    names = [routing.route(make_ticket(acme_customer)).assignee.name for _ in range(3)]

    assert names == ["ann", "cem", "ann"]


def test_least_open_load_picks_who_has_fewest_unresolved(acme_customer, support):
    RoutingPolicy.objects.create(pk=1, default_team=support)
    _method(support, TeamRouting.Method.LEAST_OPEN)
    ann, bob, cem = (User.objects.get(name=n) for n in ("ann", "bob", "cem"))
    for person, count in ((ann, 2), (bob, 0), (cem, 1)):
        for _ in range(count):
            make_ticket(acme_customer, assignee=person)
    make_ticket(acme_customer, assignee=bob, status=Ticket.Status.SOLVED)

    routed = routing.route(make_ticket(acme_customer))

    assert routed.assignee == bob


def test_on_shift_means_the_teams_default_person_for_now(acme_customer, support):
    cem = User.objects.get(name="cem")
    support.default_person = cem
    support.save()
    RoutingPolicy.objects.create(pk=1, default_team=support)
    _method(support, TeamRouting.Method.ON_SHIFT)

    routed = routing.route(make_ticket(acme_customer))

    assert routed.assignee == cem
    assert routing.on_shift_person(support, timezone.now()) == cem


def test_on_shift_without_a_default_person_leaves_it_to_the_team(
    acme_customer, support
):
    RoutingPolicy.objects.create(pk=1, default_team=support)
    _method(support, TeamRouting.Method.ON_SHIFT)

    routed = routing.route(make_ticket(acme_customer))

    assert (routed.team, routed.assignee) == (support, None)


def test_required_skills_narrow_the_people(acme_customer, support):
    go = Skill.objects.create(name="go")
    cem = User.objects.get(name="cem")
    AgentSkill.objects.create(user=cem, skill=go)
    rule = RoutingRule.objects.create(name="Go", position=1, team=support)
    rule.required_skills.add(go)

    names = [routing.route(make_ticket(acme_customer)).assignee.name for _ in range(2)]

    assert names == ["cem", "cem"]


def test_every_routing_assignment_is_an_event_naming_the_rule(acme_customer, support):
    RoutingRule.objects.create(name="All to support", position=1, team=support)
    ticket = make_ticket(acme_customer)

    routing.route(ticket)

    team_event = ticket.events.get(kind=TicketEvent.Kind.TEAM_CHANGED)
    assignee_event = ticket.events.get(kind=TicketEvent.Kind.ASSIGNEE_CHANGED)
    assert team_event.data["reason"] == "routing"
    assert team_event.data["rule"] == "All to support"
    assert assignee_event.data["new"]["name"] == "ann"


def test_a_ticket_already_assigned_is_not_routed(agent, acme_customer, support):
    RoutingPolicy.objects.create(pk=1, default_team=support)
    ticket = make_ticket(acme_customer, assignee=agent)

    routing.route(ticket)

    ticket.refresh_from_db()
    assert (ticket.assignee, ticket.team) == (agent, None)


def test_a_ticket_with_a_team_gets_a_person_of_that_team(
    acme_customer, support, sdk_team
):
    RoutingPolicy.objects.create(pk=1, default_team=support)
    ticket = make_ticket(acme_customer, team=sdk_team)

    routed = routing.route(ticket)

    assert routed.assignee.name == "dora"


def test_new_tickets_are_routed_after_their_opening_commits(
    acme_customer, support, django_capture_on_commit_callbacks
):
    RoutingPolicy.objects.create(pk=1, default_team=support)

    with django_capture_on_commit_callbacks(execute=True):
        ticket = submit(
            NewTicket(requester=acme_customer, subject="Help", body="Please"),
            acting_user=acme_customer,
        ).ticket

    ticket.refresh_from_db()
    assert ticket.team == support
    assert ticket.assignee.name == "ann"
