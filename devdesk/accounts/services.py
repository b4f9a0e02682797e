"""Sign-up, invitations and API tokens; organizations and people managed by the desk."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import connection, transaction
from django.db.models import Q, QuerySet
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
    """A business rule said no. ``code`` is stable; ``message`` is for people;
    ``status`` is what pages and the API answer with (400 unless said otherwise)."""

    def __init__(self, code: str, message: str, *, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


def organization_for_email(email: str) -> Organization | None:
    """The customer organization whose domain list holds this address's domain."""
    domain = email.rsplit("@", 1)[-1].lower()
    if domain in PERSONAL_DOMAINS:
        return None
    for org in Organization.objects.filter(domains__icontains=domain):
        if domain in org.domain_list:
            return org
    return None


def find_user_by_email(email: str, users: QuerySet[User] | None = None) -> User | None:
    """The user with this address, whatever its case. Addresses are stored in lower
    case (sign-in relies on it), so the unique index answers; a case-blind scan of
    every user only for an odd one out."""
    users = User.objects.all() if users is None else users
    email = email.strip()
    return (
        users.filter(email=email.lower()).first()
        or users.filter(email__iexact=email).first()
    )


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


# Organizations and people, managed from the desk and the API.
#
# The rules of who may change what live here, beside the services that enforce them;
# devdesk.tickets.access asks the same functions, so pages hide what would be refused.

MANAGED_KINDS = frozenset({Organization.Kind.CUSTOMER, Organization.Kind.PARTNER})
ORGANIZATION_NAME_MAX_CHARS = 200
PLAN_MAX_CHARS = 40
DOMAINS_MAX_CHARS = 500
NOTES_MAX_CHARS = 20_000
PERSON_NAME_MAX_CHARS = 150
PERSON_FIELDS = ("name", "role", "organization", "is_active")
STAFF_ROLES = frozenset({User.Role.ADMIN, User.Role.AGENT, User.Role.ENGINEER})

# One label of a host name (RFC 1123): letters, digits and inner hyphens, 63 at most.
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
# A top-level domain is letters, or an internationalized one in its xn-- form.
_TOP_LEVEL = re.compile(r"^(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})$")
# Key of the PostgreSQL advisory lock taken while domain claims are checked and written.
DOMAIN_CLAIMS_LOCK = 0x6465_7664_6F6D  # "devdom"


def may_manage_organizations(actor: User) -> bool:
    """Admins and agents create and edit customer and partner organizations."""
    return actor.is_active and actor.role in {User.Role.ADMIN, User.Role.AGENT}


def person_fields_editable_by(actor: User, person: User) -> frozenset[str]:
    """Which of ``PERSON_FIELDS`` ``actor`` may change on ``person``.

    Admins change anything of anyone, except their own role and active flag, so nobody
    locks themselves (or the desk's last admin) out by accident. Agents change a
    customer's name and organization. Everyone else changes nothing here (people edit
    their own name on the settings page).
    """
    if not actor.is_active:
        return frozenset()
    if actor.role == User.Role.ADMIN:
        if actor.pk == person.pk:
            return frozenset({"name", "organization"})
        return frozenset(PERSON_FIELDS)
    if actor.role == User.Role.AGENT and person.role == User.Role.CUSTOMER:
        return frozenset({"name", "organization"})
    return frozenset()


def invitation_role_for(actor: User, organization: Organization) -> str | None:
    """The role a person ``actor`` invites into ``organization`` gets, or None if
    ``actor`` may not invite there: agents and admins invite customers into customer
    organizations; only admins invite partner agents, who see the tickets routed to
    their partner."""
    if not actor.is_active:
        return None
    if organization.kind == Organization.Kind.CUSTOMER and may_manage_organizations(
        actor
    ):
        return User.Role.CUSTOMER
    if organization.kind == Organization.Kind.PARTNER and actor.role == User.Role.ADMIN:
        return User.Role.PARTNER_AGENT
    return None


def check_organization_name(name: str) -> str:
    """The name with runs of white space made one space; refuses empty and long names."""
    name = " ".join(name.split())
    if not name:
        raise AccountError("name_required", "The organization needs a name.")
    if len(name) > ORGANIZATION_NAME_MAX_CHARS:
        raise AccountError(
            "name_too_long",
            f"The name is longer than {ORGANIZATION_NAME_MAX_CHARS} characters.",
        )
    return name


def check_plan(plan: str) -> str:
    """The support plan's name, trimmed; empty means no plan."""
    plan = plan.strip()
    if len(plan) > PLAN_MAX_CHARS:
        raise AccountError(
            "plan_too_long",
            f"The plan name is longer than {PLAN_MAX_CHARS} characters.",
        )
    return plan


def check_notes(notes: str) -> str:
    """Internal notes (Markdown) as typed; refuses very long ones."""
    if len(notes) > NOTES_MAX_CHARS:
        raise AccountError(
            "notes_too_long",
            f"The notes are longer than {NOTES_MAX_CHARS:,} characters.",
        )
    return notes


def _check_domain(domain: str) -> str:
    labels = domain.split(".")
    if (
        len(domain) > 253
        or len(labels) < 2
        or not all(_LABEL.match(label) for label in labels)
        or not _TOP_LEVEL.match(labels[-1])
    ):
        hint = " (write internationalized names in their xn-- form)"
        raise AccountError(
            "invalid_domain",
            f"{domain!r} is not a domain name; write it like acme-robotics.com, "
            f"without @, https:// or a path{hint if not domain.isascii() else ''}.",
        )
    if domain in PERSONAL_DOMAINS:
        raise AccountError(
            "personal_domain",
            f"{domain} is a personal e-mail provider; its users are not one "
            "organization.",
        )
    return domain


def check_domains(domains: str | Iterable[str]) -> list[str]:
    """E-mail domains as stored: lowercase, each once, in the order given.

    Takes a list, or one string separated by commas, spaces or new lines. Raises
    :class:`AccountError` ``invalid_domain`` naming the first value that is not a
    domain name, ``personal_domain`` for a free-mail provider and
    ``domains_too_long`` when the list does not fit the column.
    """
    raw = domains.replace(",", " ").split() if isinstance(domains, str) else domains
    cleaned: list[str] = []
    for value in raw:
        domain = _check_domain(value.strip().lower().removesuffix("."))
        if domain not in cleaned:
            cleaned.append(domain)
    if len(", ".join(cleaned)) > DOMAINS_MAX_CHARS:
        raise AccountError(
            "domains_too_long",
            f"Together the domains are longer than {DOMAINS_MAX_CHARS} characters.",
        )
    return cleaned


def check_email(email: str) -> str:
    """The address lowercased and trimmed; refuses what is not an e-mail address."""
    email = email.strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise AccountError(
            "invalid_email", f"{email!r} is not an e-mail address."
        ) from None
    return email


def _lock_domain_claims() -> None:
    """Serialize checking and writing domain claims until the transaction ends.

    Domains share one text column, so no unique constraint can guard them. SQLite
    runs one writing transaction at a time already (BEGIN IMMEDIATE); on PostgreSQL
    this advisory lock makes two organizations claiming one domain at the same moment
    queue, so the second sees the first's claim and is refused.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [DOMAIN_CLAIMS_LOCK])


def _check_unclaimed(domains: list[str], *, exclude: Organization | None) -> None:
    if not domains:
        return
    candidates = Organization.objects.filter(
        Q.create([("domains__icontains", d) for d in domains], connector=Q.OR)
    )
    if exclude is not None:
        candidates = candidates.exclude(pk=exclude.pk)
    for org in candidates.order_by("name", "id"):
        for domain in domains:
            if domain in org.domain_list:
                raise AccountError(
                    "domain_taken",
                    f"{domain} already belongs to {org.name}: new people from a "
                    "domain join one organization, so it can be listed only once.",
                    status=409,
                )


def _require_organization_manager(actor: User) -> None:
    if not may_manage_organizations(actor):
        raise AccountError(
            "not_allowed", "Only admins and agents manage organizations.", status=403
        )


def create_organization(
    *,
    name: str,
    kind: str,
    acting_user: User,
    plan: str = "",
    domains: str | Iterable[str] = (),
    notes: str = "",
) -> Organization:
    """Create a customer or partner organization with a unique slug.

    Raises :class:`AccountError`: ``not_allowed`` (403) unless ``acting_user`` is an
    admin or agent; ``invalid_kind`` for anything but customer or partner; the codes
    of :func:`check_organization_name`, :func:`check_plan`, :func:`check_notes` and
    :func:`check_domains`; ``domain_taken`` (409) when another organization lists one
    of the domains. Holds the domain-claims lock until commit.
    """
    _require_organization_manager(acting_user)
    if kind not in MANAGED_KINDS:
        raise AccountError(
            "invalid_kind", "An organization you create is a customer or a partner."
        )
    name = check_organization_name(name)
    plan, notes = check_plan(plan), check_notes(notes)
    domain_list = check_domains(domains)
    with transaction.atomic():
        _lock_domain_claims()  # also keeps two creations from taking one slug
        _check_unclaimed(domain_list, exclude=None)
        return Organization.objects.create(
            name=name,
            slug=unique_slug(name),
            kind=kind,
            plan=plan,
            domains=", ".join(domain_list),
            notes=notes,
        )


def update_organization(
    organization: Organization,
    *,
    acting_user: User,
    name: str | None = None,
    plan: str | None = None,
    domains: str | Iterable[str] | None = None,
    notes: str | None = None,
) -> list[str]:
    """Change the fields given (None leaves one as it is); returns the names of those
    that changed, and updates ``organization`` in place.

    ``domains`` replaces the whole list. Only domains the organization does not list
    yet are checked against the others, so an old overlap never blocks other edits.
    Raises :class:`AccountError` with the codes of :func:`create_organization`, and
    ``not_allowed`` (403) for the vendor organization, which the Django admin edits.
    Locks the organization's row and the domain claims until commit.
    """
    _require_organization_manager(acting_user)
    if organization.kind not in MANAGED_KINDS:
        raise AccountError(
            "not_allowed",
            "The vendor organization is changed in the Django admin.",
            status=403,
        )
    wanted: dict[str, str] = {}
    if name is not None:
        wanted["name"] = check_organization_name(name)
    if plan is not None:
        wanted["plan"] = check_plan(plan)
    if notes is not None:
        wanted["notes"] = check_notes(notes)
    domain_list = None if domains is None else check_domains(domains)
    with transaction.atomic():
        _lock_domain_claims()
        stored = Organization.objects.select_for_update().get(pk=organization.pk)
        changes = {f: v for f, v in wanted.items() if getattr(stored, f) != v}
        if domain_list is not None and domain_list != stored.domain_list:
            added = [d for d in domain_list if d not in stored.domain_list]
            _check_unclaimed(added, exclude=stored)
            changes["domains"] = ", ".join(domain_list)
        for field, value in changes.items():
            setattr(organization, field, value)
        if changes:
            organization.save(update_fields=list(changes))
    return [f for f in ("name", "plan", "domains", "notes") if f in changes]


def invite_to_organization(
    organization: Organization, *, email: str, acting_user: User
) -> tuple[Invitation, str]:
    """Invite someone into a customer organization (as a customer) or a partner
    organization (as a partner agent); :func:`invite` e-mails the link after commit.

    Returns the invitation and its raw token, which only the e-mail may carry.
    Raises :class:`AccountError`: ``invalid_organization`` (422) for the vendor
    organization; ``not_allowed`` (403) when :func:`invitation_role_for` says no;
    ``invalid_email``; ``email_taken`` (409) when the address has an account.
    """
    if organization.kind not in MANAGED_KINDS:
        raise AccountError(
            "invalid_organization",
            "Invitations are into a customer or partner organization; staff accounts "
            "are made in the Django admin.",
            status=422,
        )
    role = invitation_role_for(acting_user, organization)
    if role is None:
        raise AccountError(
            "not_allowed",
            f"You cannot invite people into {organization.name}.",
            status=403,
        )
    email = check_email(email)
    if User.objects.filter(email__iexact=email).exists():
        raise AccountError(
            "email_taken", f"{email} already has an account.", status=409
        )
    with transaction.atomic():
        return invite(
            email=email, organization=organization, role=role, invited_by=acting_user
        )


def _check_role_fits(role: str, organization: Organization | None) -> None:
    kind = organization.kind if organization is not None else None
    if role == User.Role.CUSTOMER and kind != Organization.Kind.CUSTOMER:
        raise AccountError(
            "organization_mismatch", "A customer belongs to a customer organization."
        )
    if role == User.Role.PARTNER_AGENT and kind != Organization.Kind.PARTNER:
        raise AccountError(
            "organization_mismatch",
            "A partner agent belongs to a partner organization.",
        )
    if role in STAFF_ROLES and kind not in {Organization.Kind.VENDOR, None}:
        raise AccountError(
            "organization_mismatch",
            "Admins, agents and engineers belong to the vendor organization.",
        )


def person_change_refusal(
    actor: User, person: User, fields: Iterable[str]
) -> AccountError:
    """The ``not_allowed`` (403) error for ``actor`` changing ``fields`` of ``person``,
    saying who may do it instead."""
    names = ", ".join(
        "active" if f == "is_active" else f for f in PERSON_FIELDS if f in fields
    )
    if actor.pk == person.pk and actor.role == User.Role.ADMIN:
        message = (
            "You cannot change your own role or deactivate yourself; ask another admin."
        )
    elif actor.role == User.Role.AGENT:
        message = (
            f"You cannot change {names} of {person.display_name}: agents change "
            "customers' names and organizations; admins do the rest."
        )
    else:
        message = f"You cannot change {names} of {person.display_name}."
    return AccountError("not_allowed", message, status=403)


def update_person(
    person: User,
    *,
    acting_user: User,
    name: str | None = None,
    role: str | None = None,
    organization: Organization | None = None,
    is_active: bool | None = None,
) -> list[str]:
    """Change a person's name, role, organization or active flag as far as
    :func:`person_fields_editable_by` allows; returns the names of the fields that
    changed and updates ``person`` in place. None leaves a field as it is.

    Only values that differ from the stored ones count, so sending a field unchanged
    is never refused. Steps:

    1. Lock the person's row and compare with what is stored.
    2. Refuse with ``not_allowed`` (403) if ``acting_user`` may not change one of them.
    3. Check the values: ``name_required``, ``name_too_long``, ``invalid_role``, and
       ``organization_mismatch`` when role and organization's kind do not fit.
    4. Save. The Django admin (``is_staff``, ``is_superuser``) follows the admin
       role both ways, so a demoted admin keeps no back door.

    A deactivated person cannot sign in, their sessions stop working and their API
    tokens are refused (:func:`user_for_token`); reactivating restores the tokens.
    """
    with transaction.atomic():
        stored = User.objects.select_for_update().get(pk=person.pk)
        wanted: dict[str, object] = {}
        if name is not None:
            wanted["name"] = " ".join(name.split())
        if role is not None:
            wanted["role"] = role
        if is_active is not None:
            wanted["is_active"] = is_active
        changes = {f: v for f, v in wanted.items() if getattr(stored, f) != v}
        if organization is not None and organization.pk != stored.organization_id:
            changes["organization"] = organization
        refused = set(changes) - person_fields_editable_by(acting_user, stored)
        if refused:
            raise person_change_refusal(acting_user, stored, refused)
        if "name" in changes:
            _check_person_name(str(changes["name"]))
        if "role" in changes and changes["role"] not in User.Role.values:
            raise AccountError("invalid_role", f"{role!r} is not a role.")
        if {"role", "organization"} & set(changes):
            _check_role_fits(
                str(changes.get("role", stored.role)),
                organization if "organization" in changes else stored.organization,
            )
        if "role" in changes:
            is_admin = changes["role"] == User.Role.ADMIN
            changes.update(is_staff=is_admin, is_superuser=is_admin)
        for field, value in changes.items():
            setattr(person, field, value)
        if changes:
            person.save(update_fields=list(changes))
    return [f for f in PERSON_FIELDS if f in changes]


def _check_person_name(name: str) -> None:
    if not name:
        raise AccountError("name_required", "A person needs a name.")
    if len(name) > PERSON_NAME_MAX_CHARS:
        raise AccountError(
            "name_too_long",
            f"The name is longer than {PERSON_NAME_MAX_CHARS} characters.",
        )
