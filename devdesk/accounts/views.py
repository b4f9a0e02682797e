"""Signing in and up, invitations, and each person's settings and API tokens."""

from __future__ import annotations

import logging
import smtplib
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.core.mail import send_mail
from django.db import IntegrityError
from django.forms import Form
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse, reverse_lazy
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from devdesk.accounts import services, throttle
from devdesk.accounts.forms import (
    EMAIL_TAKEN,
    ApiTokenForm,
    EmailAuthenticationForm,
    InviteForm,
    NewAccountForm,
    ProfileForm,
    SignUpForm,
)
from devdesk.accounts.models import ApiToken, Invitation, User

logger = logging.getLogger(__name__)

SIGNUP_SALT = "devdesk.accounts.signup"
SIGNUP_LINK_MAX_AGE_SECONDS = 3 * 24 * 3600


def _posted(request: HttpRequest) -> QueryDict | None:
    """The form data of a POST (even an empty one), or None for an unbound form."""
    return request.POST if request.method == "POST" else None


def _status(form: Form) -> int:
    return 400 if form.is_bound and form.errors else 200


def _user(request: HttpRequest) -> User:
    if not isinstance(request.user, User):  # login_required normally ran first
        raise PermissionDenied
    return request.user


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = EmailAuthenticationForm
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        # LoginView puts the host name in site_name; the page wants the product's name.
        return {
            **super().get_context_data(**kwargs),
            "site_name": settings.SITE_NAME,
            "signup_open": settings.SIGNUP_OPEN,
        }

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        email = request.POST.get("username", "")
        client = throttle.client_address(request)
        if throttle.is_blocked(
            throttle.SIGN_IN_PER_ADDRESS, email
        ) or throttle.is_blocked(throttle.SIGN_IN_PER_CLIENT, client):
            form = self.get_form()
            form.errors.clear()
            form.add_error(
                None,
                "Too many failed sign-ins. Wait "
                f"{throttle.SIGN_IN_PER_ADDRESS.window_minutes} minutes, or reset your "
                "password.",
            )
            response = self.render_to_response(self.get_context_data(form=form))
            response.status_code = 429
            return response
        return super().post(request, *args, **kwargs)

    def form_valid(self, form: Any) -> HttpResponse:
        throttle.reset(throttle.SIGN_IN_PER_ADDRESS, form.get_user().email)
        return super().form_valid(form)

    def form_invalid(self, form: Any) -> HttpResponse:
        throttle.count(
            throttle.SIGN_IN_PER_ADDRESS, self.request.POST.get("username", "")
        )
        throttle.count(
            throttle.SIGN_IN_PER_CLIENT, throttle.client_address(self.request)
        )
        response = super().form_invalid(form)
        response.status_code = 400
        return response


def mail_allowed(request: HttpRequest, email: str) -> bool:
    """Count a request that sends mail to ``email``; False once over the limits, so
    nobody can use the desk to flood an inbox."""
    client = throttle.client_address(request)
    if throttle.is_blocked(throttle.MAIL_PER_ADDRESS, email) or throttle.is_blocked(
        throttle.MAIL_PER_CLIENT, client
    ):
        return False
    throttle.count(throttle.MAIL_PER_ADDRESS, email)
    throttle.count(throttle.MAIL_PER_CLIENT, client)
    return True


TOO_MANY_MAILS = "Too many e-mails were asked for. Please try again in an hour."


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("accounts:settings")

    def form_valid(self, form: Any) -> HttpResponse:
        messages.success(self.request, "Your password was changed.")
        return super().form_valid(form)

    def form_invalid(self, form: Any) -> HttpResponse:
        response = super().form_invalid(form)
        response.status_code = 400
        return response


class PasswordResetView(auth_views.PasswordResetView):
    """Ask for a reset link; the answer is the same whether the address is known or not."""

    template_name = "accounts/password_reset.html"
    email_template_name = "accounts/password_reset_email.txt"
    subject_template_name = "accounts/password_reset_subject.txt"
    success_url = reverse_lazy("accounts:password-reset-sent")

    def form_valid(self, form: Any) -> HttpResponse:
        if not mail_allowed(self.request, form.cleaned_data["email"]):
            form.add_error(None, TOO_MANY_MAILS)
            response = self.form_invalid(form)
            response.status_code = 429
            return response
        # Links use SITE_URL, never the request's Host header, which a sender controls.
        self.extra_email_context = {
            "site_url": settings.SITE_URL,
            "site_name": settings.SITE_NAME,
        }
        return super().form_valid(form)

    def form_invalid(self, form: Any) -> HttpResponse:
        response = super().form_invalid(form)
        response.status_code = 400
        return response


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.html"
    post_reset_login = True
    success_url = reverse_lazy("home")

    def form_valid(self, form: Any) -> HttpResponse:
        messages.success(
            self.request, "Your new password is set, and you are signed in."
        )
        return super().form_valid(form)

    def form_invalid(self, form: Any) -> HttpResponse:
        response = super().form_invalid(form)
        response.status_code = 400
        return response


def _invalid_link(request: HttpRequest, title: str, text: str) -> HttpResponse:
    return render(
        request,
        "accounts/link_invalid.html",
        {"title": title, "text": text},
        status=404,
    )


def signup(request: HttpRequest) -> HttpResponse:
    """Step one: name, e-mail and company; we e-mail a link that proves the address."""
    if not settings.SIGNUP_OPEN:
        return render(request, "accounts/signup_closed.html", status=403)
    form = SignUpForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        if not mail_allowed(request, form.cleaned_data["email"]):
            form.add_error(None, TOO_MANY_MAILS)
            return render(request, "accounts/signup.html", {"form": form}, status=429)
        token = signing.dumps(form.cleaned_data, salt=SIGNUP_SALT, compress=True)
        link = settings.SITE_URL + reverse("accounts:signup-confirm", args=[token])
        try:
            send_mail(
                f"Confirm your e-mail address for {settings.SITE_NAME}",
                f"Hello {form.cleaned_data['name']},\n\nTo finish signing up, choose a "
                f"password here (the link works for 3 days):\n{link}\n\nIf you did not "
                "ask for an account, ignore this e-mail.\n",
                None,
                [form.cleaned_data["email"]],
            )
        except (OSError, smtplib.SMTPException):
            logger.exception("sign-up e-mail to %s failed", form.cleaned_data["email"])
            form.add_error(
                None, "We could not send the e-mail just now. Please try again."
            )
            return render(request, "accounts/signup.html", {"form": form}, status=503)
        return render(
            request, "accounts/signup_sent.html", {"email": form.cleaned_data["email"]}
        )
    return render(request, "accounts/signup.html", {"form": form}, status=_status(form))


def signup_confirm(request: HttpRequest, token: str) -> HttpResponse:
    """Step two: choose a password; the account joins the organization of its domain."""
    if not settings.SIGNUP_OPEN:
        return render(request, "accounts/signup_closed.html", status=403)
    try:
        details = signing.loads(
            token, salt=SIGNUP_SALT, max_age=SIGNUP_LINK_MAX_AGE_SECONDS
        )
    except signing.BadSignature:  # also raised for an expired link
        return _invalid_link(
            request,
            "This sign-up link does not work",
            "It is incomplete or more than 3 days old. Sign up again to get a new one.",
        )
    form = NewAccountForm(_posted(request), email=details["email"], initial=details)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.sign_up(
                email=details["email"],
                name=form.cleaned_data["name"],
                password=form.cleaned_data["password"],
                company=details.get("company", ""),
            )
        # IntegrityError: a sign-up for the same address committed in between.
        except (services.AccountError, IntegrityError):
            form.add_error(None, EMAIL_TAKEN)
        else:
            login(request, user)
            messages.success(
                request, f"Welcome to {settings.SITE_NAME}, {user.first_name}."
            )
            return redirect("home")
    context = {"form": form, "email": details["email"]}
    return render(
        request, "accounts/signup_confirm.html", context, status=_status(form)
    )


def accept_invitation(request: HttpRequest, token: str) -> HttpResponse:
    invitation = services.invitation_for_token(token)
    if invitation is None:
        return _invalid_link(
            request,
            "This invitation does not work",
            "It was already used, has expired (invitations last 14 days), or the link is "
            "incomplete. Ask the person who invited you to send a new one.",
        )
    form = NewAccountForm(_posted(request), email=invitation.email)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.accept_invitation(
                invitation,
                name=form.cleaned_data["name"],
                password=form.cleaned_data["password"],
            )
        except (
            IntegrityError
        ):  # the address got an account since the invitation was sent
            form.add_error(None, EMAIL_TAKEN)
        else:
            login(request, user)
            messages.success(
                request, f"Welcome to {invitation.organization.name}'s support portal."
            )
            return redirect("home")
    context = {"form": form, "invitation": invitation}
    return render(
        request, "accounts/accept_invitation.html", context, status=_status(form)
    )


def _may_invite(user: User) -> bool:
    return user.is_desk_staff or (user.is_customer and user.organization_id is not None)


@login_required
def invite(request: HttpRequest) -> HttpResponse:
    """Desk staff invite people to any customer organization; customers, colleagues."""
    user = _user(request)
    if not _may_invite(user):
        raise PermissionDenied
    form = InviteForm(_posted(request), inviter=user)
    if request.method == "POST" and form.is_valid():
        organization = form.cleaned_data.get("organization") or user.organization
        if organization is None:  # _may_invite rules this out; keeps the types honest
            raise PermissionDenied
        try:
            invitation, _raw = services.invite(
                email=form.cleaned_data["email"],
                organization=organization,
                role=User.Role.CUSTOMER,
                invited_by=user,
            )
        except services.AccountError as exc:
            form.add_error("email", exc.message)
        else:
            messages.success(
                request,
                f"We e-mailed an invitation to {invitation.email} ({organization.name}).",
            )
            return redirect("accounts:invite")
    pending = Invitation.objects.filter(
        accepted_at__isnull=True, expires_at__gt=timezone.now()
    ).select_related("organization")
    if not user.is_desk_staff:
        pending = pending.filter(organization=user.organization)
    context = {"form": form, "pending": pending.order_by("-created_at")[:20]}
    return render(request, "accounts/invite.html", context, status=_status(form))


def _settings_page(
    request: HttpRequest,
    *,
    profile_form: ProfileForm | None = None,
    token_form: ApiTokenForm | None = None,
    new_token: tuple[ApiToken, str] | None = None,
    status: int = 200,
) -> HttpResponse:
    user = _user(request)
    context = {
        "profile_form": profile_form or ProfileForm(instance=user),
        "token_form": token_form or ApiTokenForm(prefix="token"),
        "tokens": user.api_tokens.all(),
        "new_token": new_token,
        "api_url": settings.SITE_URL + "/api/tickets",
        "may_invite": _may_invite(user),
    }
    return render(request, "accounts/settings.html", context, status=status)


@login_required
def settings_view(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _settings_page(request)
    form = ProfileForm(request.POST, instance=_user(request))
    if not form.is_valid():
        return _settings_page(request, profile_form=form, status=400)
    form.save()
    messages.success(request, "Your settings were saved.")
    return redirect("accounts:settings")


@never_cache  # the page shows a secret once; no cache may keep it
@login_required
@require_POST
def token_create(request: HttpRequest) -> HttpResponse:
    form = ApiTokenForm(request.POST, prefix="token")
    if not form.is_valid():
        return _settings_page(request, token_form=form, status=400)
    token, raw = services.create_api_token(
        _user(request), name=form.cleaned_data["name"]
    )
    # Rendered, not redirected: the raw value must never sit in a session or a URL.
    return _settings_page(request, new_token=(token, raw))


@login_required
@require_POST
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    token = get_object_or_404(ApiToken, pk=pk, user=_user(request))
    services.revoke_api_token(token)
    messages.success(request, f"Token '{token.name}' was revoked; it no longer works.")
    return redirect("accounts:settings")
