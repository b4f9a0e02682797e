"""Django admin pages for the scope catalog: plan coverage, areas, flags."""

from django.contrib import admin

from devdesk.triage.models import PlanCoverage, ScopeArea, ScopeFlag


@admin.register(PlanCoverage)
class PlanCoverageAdmin(admin.ModelAdmin[PlanCoverage]):
    list_display = ("plan", "product", "versions", "note")
    list_filter = ("plan",)


@admin.register(ScopeArea)
class ScopeAreaAdmin(admin.ModelAdmin[ScopeArea]):
    list_display = ("name", "slug", "kind", "product")
    list_filter = ("kind",)
    prepopulated_fields = {"slug": ("name",)}


@admin.register(ScopeFlag)
class ScopeFlagAdmin(admin.ModelAdmin[ScopeFlag]):
    list_display = ("ticket", "source", "area", "reason", "flagged_at")
    list_filter = ("source",)
    raw_id_fields = ("ticket",)
