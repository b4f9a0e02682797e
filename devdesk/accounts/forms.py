"""Forms for signing in, signing up, invitations and the settings page.

They validate input before a service sees it; services still re-check the rules
that depend on the database at the moment of writing (a taken e-mail address).
"""

from __future__ import annotations

import zoneinfo
from functools import lru_cache
from typing import Any, cast

from django import forms
from django.contrib.auth import password_validation
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError

from devdesk.accounts.models import Organization, User

EMAIL_TAKEN = "An account with this e-mail address exists; sign in instead."


@lru_cache(maxsize=1)
def time_zone_choices() -> list[tuple[str, str]]:
    return [
        (name, name.replace("_", " "))
        for name in sorted(zoneinfo.available_timezones())
    ]


class EmailAuthenticationForm(AuthenticationForm):
    """Sign in with an e-mail address in any letter case (addresses are stored lowercase)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.error_messages = {
            **self.error_messages,
            "invalid_login": "This e-mail address and password do not match an account. "
            "Passwords are case-sensitive.",
        }
        self.fields["username"].label = "E-mail address"
        self.fields["username"].widget = forms.EmailInput(
            attrs={"autofocus": True, "autocomplete": "email"}
        )

    def clean_username(self) -> str:
        return str(self.cleaned_data["username"]).strip().lower()


class SignUpForm(forms.Form):
    """Step one of sign-up: who you are. The password is chosen from the e-mailed link,
    which proves the address is yours before you join your company's organization."""

    name = forms.CharField(
        max_length=150, widget=forms.TextInput(attrs={"autocomplete": "name"})
    )
    email = forms.EmailField(
        label="Work e-mail address",
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    company = forms.CharField(
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "organization"}),
        help_text="If your colleagues already use this portal, you join them by e-mail domain.",
    )

    def clean_email(self) -> str:
        email = str(self.cleaned_data["email"]).strip().lower()
        if User.objects.filter(email__iexact=email).exists():
            raise ValidationError(EMAIL_TAKEN, code="email_taken")
        return email


class NewAccountForm(forms.Form):
    """Name and password for a new account (after sign-up or from an invitation)."""

    name = forms.CharField(
        max_length=150, widget=forms.TextInput(attrs={"autocomplete": "name"})
    )
    password = forms.CharField(
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=" ".join(password_validation.password_validators_help_texts()),
    )

    def __init__(self, *args: Any, email: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.email = email

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        password = cleaned.get("password")
        if password:
            # An unsaved user lets the similarity validator compare with name and e-mail.
            candidate = User(email=self.email, name=cleaned.get("name", ""))
            try:
                password_validation.validate_password(password, candidate)
            except ValidationError as exc:
                self.add_error("password", exc)
        return cleaned


class InviteForm(forms.Form):
    """Desk staff pick any customer organization; customers invite to their own."""

    email = forms.EmailField(label="E-mail address of the person to invite")
    organization = forms.ModelChoiceField(
        queryset=Organization.objects.none(), empty_label="Choose an organization"
    )

    def __init__(self, *args: Any, inviter: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if inviter.is_desk_staff:
            cast(
                forms.ModelChoiceField[Organization], self.fields["organization"]
            ).queryset = Organization.objects.filter(kind=Organization.Kind.CUSTOMER)
        else:
            del self.fields["organization"]

    def clean_email(self) -> str:
        return str(self.cleaned_data["email"]).strip().lower()


class ProfileForm(forms.ModelForm[User]):
    name = forms.CharField(
        max_length=150, error_messages={"required": "Tell us what to call you."}
    )
    time_zone = forms.ChoiceField(
        choices=time_zone_choices,
        help_text="Dates on your ticket pages are shown in this time zone.",
    )

    class Meta:
        model = User
        fields = ("name", "time_zone")


class ApiTokenForm(forms.Form):
    name = forms.CharField(
        label="Token name",
        max_length=100,
        help_text="Say where it is used, e.g. “CI pipeline” or “status dashboard”.",
    )
