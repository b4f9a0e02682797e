"""The desk's rule form: one condition or action per line, checked like the API."""

from __future__ import annotations

from typing import Any

from django import forms

from devdesk.triage.models import Rule
from devdesk.triage.rules.registry import RuleError
from devdesk.triage.rules.services import MAX_DESCRIPTION_CHARS, MAX_NAME_CHARS
from devdesk.triage.rules.spec import (
    CheckedRule,
    action_line,
    check_rule,
    condition_line,
    parse_action_lines,
    parse_condition_lines,
)

MAX_LINES_CHARS = 20_000
DEFAULT_PREVIEW = 20
MAX_PREVIEW = 200


class RuleForm(forms.Form):
    name = forms.CharField(max_length=MAX_NAME_CHARS)
    description = forms.CharField(
        required=False,
        max_length=MAX_DESCRIPTION_CHARS,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Why the rule exists, for the next person who reads it.",
    )
    trigger = forms.ChoiceField(choices=Rule.Trigger.choices)
    match = forms.ChoiceField(choices=Rule.Match.choices, initial=Rule.Match.ALL)
    conditions = forms.CharField(
        required=False,
        max_length=MAX_LINES_CHARS,
        widget=forms.Textarea(
            attrs={"rows": 5, "class": "code", "spellcheck": "false"}
        ),
        help_text="One per line: type operator value, e.g. “text contains production "
        "down, outage” or “priority >= high”. Empty: every ticket.",
    )
    actions = forms.CharField(
        max_length=MAX_LINES_CHARS,
        widget=forms.Textarea(
            attrs={"rows": 4, "class": "code", "spellcheck": "false"}
        ),
        help_text="One per line: type value, e.g. “set_priority urgent” or "
        "“add_tag prod-down”.",
        error_messages={"required": "A rule needs at least one action."},
    )
    stop_processing = forms.BooleanField(
        required=False, label="Stop further rules when this one fires"
    )
    is_active = forms.BooleanField(required=False, initial=True, label="Active")
    last = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_PREVIEW,
        initial=DEFAULT_PREVIEW,
        label="Test on the last … tickets",
    )

    checked: CheckedRule | None = None

    @classmethod
    def initial_for(cls, rule: Rule) -> dict[str, Any]:
        return {
            "name": rule.name,
            "description": rule.description,
            "trigger": rule.trigger,
            "match": rule.match,
            "conditions": "\n".join(condition_line(c) for c in rule.conditions),
            "actions": "\n".join(action_line(a) for a in rule.actions),
            "stop_processing": rule.stop_processing,
            "is_active": rule.is_active,
            "last": DEFAULT_PREVIEW,
        }

    def clean(self) -> dict[str, Any] | None:
        data = super().clean() or {}
        if self.errors:
            return data
        try:
            self.checked = check_rule(
                trigger=data["trigger"],
                match=data["match"],
                conditions=parse_condition_lines(data.get("conditions", "")),
                actions=parse_action_lines(data.get("actions", "")),
            )
        except RuleError as error:
            field = "actions" if error.message.startswith("actions") else "conditions"
            if error.code in {"contradictory_actions", "actions_required"}:
                field = "actions"
            self.add_error(field, error.message)
        return data

    def rule_fields(self) -> dict[str, Any]:
        """What the services take, from a valid form."""
        assert self.checked is not None  # noqa: S101 - only after is_valid()
        data = self.cleaned_data
        return {
            "name": data["name"],
            "description": data.get("description", ""),
            "trigger": self.checked.trigger,
            "match": self.checked.match,
            "conditions": self.checked.conditions,
            "actions": self.checked.actions,
            "stop_processing": data.get("stop_processing", False),
            "is_active": data.get("is_active", False),
        }


class PreviewForm(forms.Form):
    last = forms.IntegerField(
        required=False, min_value=1, max_value=MAX_PREVIEW, initial=DEFAULT_PREVIEW
    )
