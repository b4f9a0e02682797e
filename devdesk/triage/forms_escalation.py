"""Forms of the escalation pages: escalate a ticket, change an engineering issue's
status, edit a drafted customer update."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings

from devdesk.accounts.models import Team
from devdesk.triage.models import EngineeringIssue, WebhookEndpoint


class EscalationForm(forms.Form):
    """To an engineering team, a tracker endpoint, or an existing engineering issue
    (in devdesk, or in the tracker by its key)."""

    team = forms.ModelChoiceField(
        queryset=Team.objects.filter(kind=Team.Kind.ENGINEERING),
        required=False,
        empty_label="No team",
        label="Engineering team",
    )
    endpoint = forms.ModelChoiceField(
        queryset=WebhookEndpoint.objects.filter(is_active=True),
        required=False,
        empty_label="No tracker",
        label="Tracker",
        help_text="Sends the escalation to it as a signed webhook.",
    )
    issue = forms.ModelChoiceField(
        queryset=EngineeringIssue.objects.exclude(
            status=EngineeringIssue.Status.CLOSED
        ).order_by("-updated_at"),
        required=False,
        empty_label="A new engineering issue",
        label="Link to engineering issue",
    )
    external_key = forms.CharField(
        required=False,
        max_length=200,
        label="Tracker issue key",
        help_text="An issue already in the tracker: owner/repo#123, PAY-42, ENG-7.",
    )
    external_url = forms.URLField(
        required=False,
        max_length=500,
        label="Tracker issue URL",
        assume_scheme="https",
    )
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=settings.MESSAGE_BODY_MAX_CHARS,
        help_text="What you need from engineering; an internal note and part of "
        "the webhook.",
        error_messages={"required": "Say why you escalate: it goes to engineering."},
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "escalation_%s")
        super().__init__(*args, **kwargs)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("external_key") and not data.get("endpoint"):
            self.add_error("endpoint", "Choose the tracker the issue key belongs to.")
        elif not self.errors and not (
            data.get("team") or data.get("endpoint") or data.get("issue")
        ):
            raise forms.ValidationError(
                "Choose an engineering team, a tracker, or an engineering issue."
            )
        return data


class IssueStatusForm(forms.Form):
    status = forms.ChoiceField(choices=EngineeringIssue.Status.choices)


class DraftForm(forms.Form):
    body = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 8}),
        max_length=settings.MESSAGE_BODY_MAX_CHARS,
        strip=False,
        error_messages={"required": "The update is empty; write it or discard it."},
    )
