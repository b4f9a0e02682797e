"""People and organizations: who works the desk, who asks for help, and their tokens."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any, ClassVar

from django.contrib.auth.models import (
    AbstractBaseUser,
    BaseUserManager,
    PermissionsMixin,
)
from django.db import models
from django.utils import timezone


class Organization(models.Model):
    """A company: the vendor running the desk, a customer, or a certified partner."""

    class Kind(models.TextChoices):
        VENDOR = "vendor", "Vendor"
        CUSTOMER = "customer", "Customer"
        PARTNER = "partner", "Partner"

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80, unique=True)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.CUSTOMER)
    # Comma-separated e-mail domains; a new sender from one of them joins this organization.
    domains = models.CharField(max_length=500, blank=True)
    plan = models.CharField(max_length=40, blank=True, help_text="Support plan name")
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering: ClassVar = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def domain_list(self) -> list[str]:
        return [d.strip().lower() for d in self.domains.split(",") if d.strip()]


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(
        self, email: str, password: str | None = None, **extra: Any
    ) -> User:
        if not email:
            raise ValueError("An e-mail address is required")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(
        self, email: str, password: str | None = None, **extra: Any
    ) -> User:
        extra.setdefault("role", User.Role.ADMIN)
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """Anyone who signs in. The role decides what they may see (see tickets/access.py)."""

    class Role(models.TextChoices):
        ADMIN = "admin", "Admin"
        AGENT = "agent", "Agent"
        ENGINEER = "engineer", "Engineer"
        PARTNER_AGENT = "partner_agent", "Partner agent"
        CUSTOMER = "customer", "Customer"

    email = models.EmailField(unique=True)
    name = models.CharField(max_length=150, blank=True)
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.CUSTOMER)
    organization = models.ForeignKey(
        Organization,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="members",
    )
    time_zone = models.CharField(max_length=64, default="UTC")
    language = models.CharField(max_length=16, default="en")
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False, help_text="May use the Django admin")
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []
    # Enough to name someone in a list and check what they may do (``.only()``).
    NAME_FIELDS: ClassVar[tuple[str, ...]] = (
        "id",
        "email",
        "name",
        "role",
        "organization",
        "is_active",
    )

    class Meta:
        ordering: ClassVar = ["name", "email"]
        indexes: ClassVar = [
            # Staff are a few hundred among tens of thousands of customers: the
            # person boxes and their suggestions look among them by role.
            models.Index(fields=["role", "name"], name="user_role_name"),
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        return self.name or self.email.split("@")[0]

    @property
    def first_name(self) -> str:
        return self.display_name.split()[0]

    @property
    def is_customer(self) -> bool:
        return self.role == self.Role.CUSTOMER

    @property
    def is_desk_staff(self) -> bool:
        """Agents and admins: people who work every ticket of the desk."""
        return self.role in {self.Role.AGENT, self.Role.ADMIN}

    @property
    def works_tickets(self) -> bool:
        """Anyone on the vendor or partner side, who sees the agent interface."""
        return self.role != self.Role.CUSTOMER


class Team(models.Model):
    """A group of people tickets can be routed or escalated to."""

    class Kind(models.TextChoices):
        SUPPORT = "support", "Support"
        ENGINEERING = "engineering", "Engineering"

    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=60, unique=True)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.SUPPORT)
    members = models.ManyToManyField(User, related_name="teams", blank=True)
    default_person = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering: ClassVar = ["name"]

    def __str__(self) -> str:
        return self.name


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiToken(models.Model):
    """A personal API token. Only its hash is stored; the raw value is shown once."""

    PREFIX = "dd_"

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    key_hash = models.CharField(max_length=64, unique=True)
    key_prefix = models.CharField(max_length=12)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering: ClassVar = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.key_prefix}…)"

    @staticmethod
    def generate_raw() -> str:
        return ApiToken.PREFIX + secrets.token_urlsafe(32)


class Invitation(models.Model):
    """An invitation for a person to join an organization's portal (or the desk staff)."""

    email = models.EmailField()
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="invitations"
    )
    role = models.CharField(
        max_length=16, choices=User.Role.choices, default=User.Role.CUSTOMER
    )
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(
        User, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.email} → {self.organization}"
