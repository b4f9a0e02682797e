"""Forms of the desk's people pages: organization filters, organization and person
edits, invitations.

They check shape and format (the same checks the services run, so a typo shows at
its field); the services still decide what depends on the database or on who asks,
and :func:`add_service_error` puts their refusals next to the field concerned.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet

from devdesk.accounts import services
from devdesk.accounts.models import Organization, User

# Which field a service's refusal belongs to; other codes are shown above the form.
FIELD_FOR_CODE = {
    "name_required": "name",
    "name_too_long": "name",
    "plan_too_long": "plan",
    "notes_too_long": "notes",
    "invalid_domain": "domains",
    "personal_domain": "domains",
    "domains_too_long": "domains",
    "domain_taken": "domains",
    "invalid_kind": "kind",
    "invalid_role": "role",
    "organization_mismatch": "organization",
    "invalid_email": "email",
    "email_taken": "email",
}

KIND_CHOICES = [
    (Organization.Kind.CUSTOMER.value, Organization.Kind.CUSTOMER.label),
    (Organization.Kind.PARTNER.value, Organization.Kind.PARTNER.label),
]


def add_service_error(form: forms.Form, error: services.AccountError) -> None:
    """Show a service's refusal at the field it is about, or above the form."""
    field = FIELD_FOR_CODE.get(error.code)
    form.add_error(field if field in form.fields else None, error.message)


def _checked(check: Callable[[Any], Any], value: Any) -> Any:
    try:
        return check(value)
    except services.AccountError as error:
        raise ValidationError(error.message, code=error.code) from None


class OrganizationFilterForm(forms.Form):
    q = forms.CharField(
        required=False,
        max_length=200,
        label="Name or domain",
        widget=forms.TextInput(
            attrs={
                "type": "search",
                "placeholder": "Name or domain  /",
                "data-key": "/",
            }
        ),
    )
    kind = forms.ChoiceField(
        required=False, choices=[("", "Customers and partners"), *KIND_CHOICES]
    )

    def filter(self, organizations: QuerySet[Organization]) -> QuerySet[Organization]:
        """``organizations`` narrowed by what was asked; invalid input filters nothing."""
        data = self.cleaned_data if self.is_valid() else {}
        if data.get("kind"):
            organizations = organizations.filter(kind=data["kind"])
        if text := (data.get("q") or "").strip():
            organizations = organizations.filter(
                Q(name__icontains=text) | Q(domains__icontains=text)
            )
        return organizations

    @property
    def is_filtered(self) -> bool:
        return self.is_valid() and any(self.cleaned_data.values())


class OrganizationForm(forms.Form):
    """Name, plan, domains and notes: what the desk edits on an organization."""

    name = forms.CharField(
        max_length=services.ORGANIZATION_NAME_MAX_CHARS,
        error_messages={"required": "The organization needs a name."},
    )
    plan = forms.CharField(
        required=False,
        max_length=services.PLAN_MAX_CHARS,
        help_text="The support plan, e.g. enterprise or community.",
    )
    domains = forms.CharField(
        required=False,
        max_length=services.DOMAINS_MAX_CHARS,
        help_text="E-mail domains, separated by commas. Someone who signs up with an "
        "address at one of them joins this organization.",
    )
    notes = forms.CharField(
        required=False,
        max_length=services.NOTES_MAX_CHARS,
        widget=forms.Textarea(attrs={"rows": 5, "class": "markdown-input"}),
        help_text="Internal, for the desk only. Markdown.",
    )

    def clean_name(self) -> str:
        return cast(
            str, _checked(services.check_organization_name, self.cleaned_data["name"])
        )

    def clean_domains(self) -> list[str]:
        return cast(
            list[str], _checked(services.check_domains, self.cleaned_data["domains"])
        )


class NewOrganizationForm(OrganizationForm):
    kind = forms.ChoiceField(
        choices=KIND_CHOICES,
        initial=Organization.Kind.CUSTOMER,
        widget=forms.RadioSelect,
        help_text="Customers ask for help in the portal; partners' agents serve the "
        "tickets routed to them.",
    )
    field_order = ("name", "kind", "plan", "domains", "notes")


class InviteToOrganizationForm(forms.Form):
    email = forms.EmailField(
        label="E-mail address", help_text="We e-mail a link to choose a password."
    )

    def clean_email(self) -> str:
        return str(self.cleaned_data["email"]).strip().lower()


class PersonForm(forms.Form):
    """The fields of a person the signed-in user may change; the others are left out."""

    name = forms.CharField(
        max_length=services.PERSON_NAME_MAX_CHARS,
        error_messages={"required": "A person needs a name."},
    )
    role = forms.ChoiceField(choices=User.Role.choices)
    organization = forms.ModelChoiceField(
        queryset=Organization.objects.none(),
        required=False,
        empty_label="No organization",
    )
    is_active = forms.BooleanField(
        required=False,
        label="Active",
        help_text="Can sign in and use API tokens. Deactivating signs them out.",
    )

    def __init__(self, *args: Any, person: User, actor: User, **kwargs: Any) -> None:
        kwargs.setdefault(
            "initial",
            {
                "name": person.name,
                "role": person.role,
                "organization": person.organization_id,
                "is_active": person.is_active,
            },
        )
        super().__init__(*args, **kwargs)
        self.person = person
        editable = services.person_fields_editable_by(actor, person)
        for name in list(self.fields):
            if name not in editable:
                del self.fields[name]
        if "organization" in self.fields:
            # Agents move customers between customer organizations; admins anywhere,
            # and the service checks that role and organization fit.
            choices = Organization.objects.all()
            if actor.role != User.Role.ADMIN:
                choices = choices.filter(kind=Organization.Kind.CUSTOMER)
            cast(
                forms.ModelChoiceField[Organization], self.fields["organization"]
            ).queryset = choices

    def clean_organization(self) -> Organization | None:
        organization = cast(Organization | None, self.cleaned_data["organization"])
        if organization is None and self.person.organization_id is not None:
            raise ValidationError("Choose an organization.", code="required")
        return organization

    def changes(self) -> dict[str, Any]:
        """Keyword arguments for :func:`services.update_person`."""
        return {
            name: value
            for name, value in self.cleaned_data.items()
            if not (name == "organization" and value is None)
        }
