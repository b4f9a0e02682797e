from django.contrib.auth import views as auth_views
from django.urls import path

from devdesk.accounts import views

app_name = "accounts"

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password/reset/", views.PasswordResetView.as_view(), name="password-reset"),
    path(
        "password/reset/sent/",
        auth_views.PasswordResetDoneView.as_view(
            template_name="accounts/password_reset_sent.html"
        ),
        name="password-reset-sent",
    ),
    path(
        "password/reset/<uidb64>/<token>/",
        views.PasswordResetConfirmView.as_view(),
        name="password-reset-confirm",
    ),
    path("signup/", views.signup, name="signup"),
    path("signup/<str:token>/", views.signup_confirm, name="signup-confirm"),
    path("invitation/<str:token>/", views.accept_invitation, name="accept-invitation"),
    path("invite/", views.invite, name="invite"),
    path("settings/", views.settings_view, name="settings"),
    path(
        "settings/password/", views.PasswordChangeView.as_view(), name="password-change"
    ),
    path("settings/tokens/", views.token_create, name="token-create"),
    path("settings/tokens/<int:pk>/revoke/", views.token_revoke, name="token-revoke"),
]
