from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from devdesk.accounts.models import ApiToken, Invitation, Organization, Team, User


@admin.register(User)
class UserAdmin(BaseUserAdmin[User]):
    ordering = ("email",)
    list_display = ("email", "name", "role", "organization", "is_active", "is_staff")
    list_filter = ("role", "is_active", "is_staff", "organization__kind")
    search_fields = ("email", "name")
    autocomplete_fields = ("organization",)
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (
            "Profile",
            {"fields": ("name", "role", "organization", "time_zone", "language")},
        ),
        ("Access", {"fields": ("is_active", "is_staff", "is_superuser", "groups")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("email", "role", "organization", "password1", "password2"),
            },
        ),
    )
    filter_horizontal = ("groups",)


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin[Organization]):
    list_display = ("name", "kind", "plan", "domains", "created_at")
    list_filter = ("kind", "plan")
    search_fields = ("name", "domains")
    prepopulated_fields = {"slug": ("name",)}


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin[Team]):
    list_display = ("name", "kind", "default_person")
    filter_horizontal = ("members",)
    prepopulated_fields = {"slug": ("name",)}


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin[ApiToken]):
    list_display = (
        "name",
        "user",
        "key_prefix",
        "created_at",
        "last_used_at",
        "revoked_at",
    )
    readonly_fields = ("key_hash", "key_prefix", "created_at", "last_used_at")
    search_fields = ("name", "user__email")


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin[Invitation]):
    list_display = (
        "email",
        "organization",
        "role",
        "created_at",
        "expires_at",
        "accepted_at",
    )
    readonly_fields = ("token_hash",)
