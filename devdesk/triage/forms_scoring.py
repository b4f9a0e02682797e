"""Forms of the desk's triage pages: a ticket's estimates and duplicate link, the
scoring policy, routing (default team, team methods, rules) and skills."""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

from django import forms

from devdesk.accounts.models import Organization, Team, User
from devdesk.tickets.models import Product, Ticket
from devdesk.triage import scoring
from devdesk.triage.models import RoutingRule, Skill, TeamRouting


class EstimatesForm(forms.Form):
    severity = forms.ChoiceField(choices=Ticket.Severity.choices)
    is_production_down = forms.BooleanField(required=False, label="Production down")
    affected_count = forms.IntegerField(
        min_value=1, max_value=scoring.MAX_AFFECTED, label="Affected"
    )
    effort_hours = forms.DecimalField(
        required=False,
        min_value=Decimal("0.01"),
        max_value=scoring.MAX_EFFORT_HOURS,
        decimal_places=2,
        label="Effort (hours)",
        help_text="Empty: the median of solved tickets of the same product.",
    )

    def changes(self) -> dict[str, Any]:
        return dict(self.cleaned_data)


class SeverityForm(forms.Form):
    """What a customer may say about their own ticket's impact."""

    severity = forms.ChoiceField(choices=Ticket.Severity.choices)
    is_production_down = forms.BooleanField(
        required=False, label="Our production is down"
    )


class DuplicateForm(forms.Form):
    original = forms.IntegerField(
        min_value=1, max_value=2**31 - 1, label="Duplicate of #"
    )


def _weights_text(weights: dict[str, float]) -> str:
    return "\n".join(f"{name} = {value:g}" for name, value in weights.items())


def parse_weights(text: str, what: str) -> dict[str, float]:
    """``name = weight`` lines into a dict; a line that is not one is an error."""
    weights: dict[str, float] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        name, sep, value = line.partition("=")
        try:
            weight = float(value)
        except ValueError:
            weight = math.nan
        if not sep or not name.strip() or not math.isfinite(weight):
            raise forms.ValidationError(
                f"Line {number}: write “{what} = weight”, e.g. “enterprise = 3”."
            )
        weights[name.strip().lower()] = weight
    return weights


class PolicyForm(forms.Form):
    formula = forms.CharField(
        max_length=scoring.MAX_FORMULA_CHARS,
        widget=forms.Textarea(attrs={"rows": 3, "class": "mono"}),
        help_text="Names: "
        + ", ".join(scoring.NAMES)
        + ". Functions: "
        + ", ".join(scoring.FUNCTIONS)
        + ".",
    )
    plan_weights = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text="One “plan = weight” a line; a plan not listed weighs 1.",
    )
    severity_weights = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="One “severity = weight” a line: low, normal, high, critical.",
    )
    default_effort_hours = forms.DecimalField(
        min_value=Decimal("0.01"),
        max_value=scoring.MAX_EFFORT_HOURS,
        decimal_places=2,
        help_text="When the agent set none and no solved ticket of the product tells.",
    )

    @classmethod
    def for_policy(cls) -> PolicyForm:
        policy = scoring.current_policy()
        return cls(
            initial={
                "formula": policy.formula,
                "plan_weights": _weights_text(policy.plan_weights),
                "severity_weights": _weights_text(policy.severity_weights),
                "default_effort_hours": policy.default_effort_hours,
            }
        )

    def clean_plan_weights(self) -> dict[str, float]:
        return parse_weights(self.cleaned_data["plan_weights"], "plan")

    def clean_severity_weights(self) -> dict[str, float]:
        return parse_weights(self.cleaned_data["severity_weights"], "severity")


class RoutingForm(forms.Form):
    """The default team, and each support team's way of choosing a person."""

    default_team = forms.ModelChoiceField(
        queryset=Team.objects.filter(kind=Team.Kind.SUPPORT),
        required=False,
        empty_label="No default: leave unmatched tickets unrouted",
    )

    def __init__(self, *args: Any, methods: dict[int, str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.teams = list(Team.objects.filter(kind=Team.Kind.SUPPORT))
        for team in self.teams:
            self.fields[f"team_{team.pk}"] = forms.ChoiceField(
                choices=TeamRouting.Method.choices,
                label=team.name,
                initial=methods.get(team.pk, TeamRouting.Method.ROUND_ROBIN),
            )

    def team_fields(self) -> list[forms.BoundField]:
        return [self[f"team_{team.pk}"] for team in self.teams]

    def methods(self) -> dict[Team, str]:
        return {team: self.cleaned_data[f"team_{team.pk}"] for team in self.teams}


class RuleForm(forms.ModelForm[RoutingRule]):
    products = forms.ModelMultipleChoiceField(
        queryset=Product.objects.all(), required=False
    )
    organizations = forms.ModelMultipleChoiceField(
        queryset=Organization.objects.exclude(kind=Organization.Kind.VENDOR),
        required=False,
    )
    required_skills = forms.ModelMultipleChoiceField(
        queryset=Skill.objects.all(), required=False
    )

    class Meta:
        model = RoutingRule
        fields = (
            "name",
            "position",
            "is_active",
            "products",
            "languages",
            "organizations",
            "required_skills",
            "team",
        )
        help_texts = {  # noqa: RUF012 - Django reads it as a class attribute
            "languages": "Language codes, comma-separated (de, fr); empty: any.",
            "position": "Lower first; the first matching rule wins.",
        }

    def clean_languages(self) -> str:
        codes = [c.strip().lower() for c in self.cleaned_data["languages"].split(",")]
        codes = [c for c in codes if c]
        bad = [c for c in codes if not (c.isalpha() and 2 <= len(c) <= 3)]
        if bad:
            raise forms.ValidationError(
                f"“{bad[0]}” is not a language code; use two or three letters (de, fr)."
            )
        return ", ".join(codes)


class SkillForm(forms.Form):
    name = forms.CharField(max_length=60)
    people = forms.ModelMultipleChoiceField(
        queryset=User.objects.filter(
            role__in=[User.Role.AGENT, User.Role.ADMIN], is_active=True
        ),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 6}),
    )

    def clean_name(self) -> str:
        name = " ".join(self.cleaned_data["name"].split()).lower()
        if not name:
            raise forms.ValidationError("A skill needs a name.")
        return name
