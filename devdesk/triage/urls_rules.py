from django.urls import path

from devdesk.triage import views_rules

app_name = "rules"

urlpatterns = [
    path("", views_rules.rule_list, name="rule-list"),
    path("new/", views_rules.rule_new, name="rule-new"),
    path("<int:pk>/", views_rules.rule_detail, name="rule-detail"),
    path("<int:pk>/edit/", views_rules.rule_edit, name="rule-edit"),
    path("<int:pk>/move/", views_rules.rule_move, name="rule-move"),
    path("<int:pk>/toggle/", views_rules.rule_toggle, name="rule-toggle"),
    path("<int:pk>/delete/", views_rules.rule_delete, name="rule-delete"),
]
