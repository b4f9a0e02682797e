"""Sign-up, invitations and API tokens."""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify

from devdesk.accounts.models import ApiToken, Invitation, Organization, User, hash_token

# Addresses at these domains are personal: their owners never join an organization
# by domain.
PERSONAL_DOMAINS = {
    "gmail.com",
    "googlemail.com",
    "outlook.com",
    "hotmail.com",
    "yahoo.com",
    "icloud.com",
    "proton.me",
    "protonmail.com",
    "gmx.de",
    "web.de",
    "yandex.ru",
}


class AccountError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def organization_for_email(email: str) -> Organization | None:
    """The customer organization whose domain list holds this address's domain."""
    domain = email.rsplit("@", 1)[-1].lower()
    if domain in PERSONAL_DOMAINS:
        return None
    for org in Organization.objects.filter(domains__icontains=domain):
        if domain in org.domain_list:
            return org
    return None


def unique_slug(name: str) -> str:
    base = slugify(name)[:60] or "org"
    slug, n = base, 2
    while Organization.objects.filter(slug=slug).exists():
        slug, n = f"{base}-{n}", n + 1
    return slug


def sign_up(*, email: str, name: str, password: str, company: str = "") -> User:
    """Create a customer account, joining the organization that owns the e-mail domain
    or a new organization named after the company (or the person).

    Joining by domain grants access to that organization's tickets, so callers must
    have verified that the person controls the address (the sign-up view mails a
    signed link first). Never expose this without that check.
    """
    email = email.strip().lower()
    if User.objects.filter(email__iexact=email).exists():
        raise AccountError(
            "email_taken", "An account with this e-mail address exists; sign in."
        )
    with transaction.atomic():
        org = organization_for_email(email)
        if org is None:
            org_name = company.strip() or f"{name.strip() or email}"
            org = Organization.objects.create(
                name=org_name[:200],
                slug=unique_slug(org_name),
                kind=Organization.Kind.CUSTOMER,
            )
        return User.objects.create_user(
            email,
            password,
            name=name.strip(),
            organization=org,
            role=User.Role.CUSTOMER,
        )


def create_api_token(user: User, *, name: str) -> tuple[ApiToken, str]:
    """Make a personal token. Returns it with the raw value, which is never stored."""
    raw = ApiToken.generate_raw()
    token = ApiToken.objects.create(
        user=user,
        name=name.strip()[:100] or "API token",
        key_hash=hash_token(raw),
        key_prefix=raw[:8],
    )
    return token, raw


def revoke_api_token(token: ApiToken) -> None:
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])


def user_for_token(raw: str) -> User | None:
    """The active user a raw token belongs to, or None for unknown or revoked tokens."""
    if not raw.startswith(ApiToken.PREFIX):
        return None
    token = (
        ApiToken.objects.select_related("user")
        .filter(key_hash=hash_token(raw), revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if token is None:
        return None
    now = timezone.now()
    # Writing on every request would serialize API traffic; a minute is precise enough.
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user


def invite(
    *, email: str, organization: Organization, role: str, invited_by: User
) -> tuple[Invitation, str]:
    """Invite someone to join ``organization``; e-mails them a link valid for 14 days."""
    email = email.strip().lower()
    if User.objects.filter(email__iexact=email).exists():
        raise AccountError("email_taken", f"{email} already has an account.")
    raw = secrets.token_urlsafe(24)
    invitation = Invitation.objects.create(
        email=email,
        organization=organization,
        role=role,
        token_hash=hash_token(raw),
        invited_by=invited_by,
        expires_at=timezone.now() + timedelta(days=14),
    )
    link = settings.SITE_URL + reverse("accounts:accept-invitation", args=[raw])
    transaction.on_commit(
        lambda: send_mail(
            f"{invited_by.display_name} invited you to {settings.SITE_NAME}",
            f"Hello,\n\n{invited_by.display_name} invited you to the {organization.name} "
            f"support portal.\n\nSet your password here (valid 14 days):\n{link}\n",
            None,
            [email],
        )
    )
    return invitation, raw


def invitation_for_token(raw: str) -> Invitation | None:
    return (
        Invitation.objects.select_related("organization")
        .filter(
            token_hash=hash_token(raw),
            accepted_at__isnull=True,
            expires_at__gt=timezone.now(),
        )
        .first()
    )


def accept_invitation(invitation: Invitation, *, name: str, password: str) -> User:
    with transaction.atomic():
        user = User.objects.create_user(
            invitation.email,
            password,
            name=name.strip(),
            organization=invitation.organization,
            role=invitation.role,
        )
        invitation.accepted_at = timezone.now()
        invitation.save(update_fields=["accepted_at"])
    return user
