"""Forms of the customer portal: filtering the list, opening a ticket, replying.

Subject, body and attachments are checked with the same functions the services use,
so a customer sees the same message here as an API client gets from the service.
"""

from __future__ import annotations

import secrets
from typing import Any, ClassVar, cast

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db.models import QuerySet

from devdesk.accounts.models import User
from devdesk.search.forms import SearchField
from devdesk.search.services import match_tickets
from devdesk.tickets import access
from devdesk.tickets.attachments import CheckedUpload, check_uploads
from devdesk.tickets.errors import TicketError
from devdesk.tickets.models import Product, Ticket
from devdesk.tickets.services import NewTicket, check_body, check_subject

Status = Ticket.Status


class MultipleFileInput(forms.FileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Any number of files; each is checked by :class:`~django.forms.FileField`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[UploadedFile[Any]]:
        files = data if isinstance(data, (list, tuple)) else [data]
        return [super(MultipleFileField, self).clean(f, initial) for f in files if f]


def _as_validation_error(exc: TicketError) -> ValidationError:
    return ValidationError(exc.message, code=exc.code)


class _MessageForm(forms.Form):
    body = forms.CharField(
        label="Message",
        strip=False,  # indentation is meaningful in Markdown code blocks
        widget=forms.Textarea(attrs={"rows": 10, "class": "markdown-input"}),
    )
    attachments = MultipleFileField(
        help_text="Logs, code, text, screenshots, PDF or zip/gzip archives.",
    )

    def clean_body(self) -> str:
        try:
            return check_body(self.cleaned_data["body"])
        except TicketError as exc:
            raise _as_validation_error(exc) from exc

    def clean_attachments(self) -> list[CheckedUpload]:
        files: list[UploadedFile[Any]] = self.cleaned_data["attachments"]
        if len(files) > settings.ATTACHMENTS_PER_MESSAGE:
            raise ValidationError(
                f"At most {settings.ATTACHMENTS_PER_MESSAGE} attachments per message.",
                code="too_many_attachments",
            )
        # One byte past the limit is enough for check_uploads to refuse an oversized
        # file, without reading all of it into memory.
        limit = settings.ATTACHMENT_MAX_MIB * 1024 * 1024 + 1
        try:
            return check_uploads([(f.name or "", f.read(limit)) for f in files])
        except TicketError as exc:
            raise _as_validation_error(exc) from exc


class ReplyForm(_MessageForm):
    pass


class NewTicketForm(_MessageForm):
    subject = forms.CharField(
        help_text="One line that says what goes wrong, e.g. 'Webhook retries arrive twice'."
    )
    product = forms.ModelChoiceField(
        queryset=Product.objects.none(),
        required=False,
        empty_label="Not sure / something else",
    )
    severity = forms.ChoiceField(
        required=False,  # a form from before the field existed means "normal"
        choices=Ticket.Severity.choices,
        initial=Ticket.Severity.NORMAL,
        help_text="How much it hurts you; it helps us answer the worst first.",
    )
    is_production_down = forms.BooleanField(
        required=False, label="Our production is down"
    )
    # A double-click or a resent form opens one ticket, not two (see intake.submit).
    idempotency_key = forms.CharField(
        widget=forms.HiddenInput, required=False, max_length=64
    )

    field_order = (
        "subject",
        "product",
        "severity",
        "is_production_down",
        "body",
        "attachments",
    )

    def __init__(self, *args: Any, products: QuerySet[Product], **kwargs: Any) -> None:
        kwargs.setdefault("initial", {}).setdefault(
            "idempotency_key", secrets.token_urlsafe(16)
        )
        super().__init__(*args, **kwargs)
        cast(
            forms.ModelChoiceField[Product], self.fields["product"]
        ).queryset = products
        self.fields["subject"].widget.attrs["maxlength"] = (
            settings.TICKET_SUBJECT_MAX_CHARS
        )

    def clean_subject(self) -> str:
        try:
            return check_subject(self.cleaned_data["subject"])
        except TicketError as exc:
            raise _as_validation_error(exc) from exc

    def new_ticket(self, requester: User) -> NewTicket:
        data = self.cleaned_data
        return NewTicket(
            requester=requester,
            subject=data["subject"],
            body=data["body"],
            channel=Ticket.Channel.PORTAL,
            product=data["product"],
            severity=data["severity"] or Ticket.Severity.NORMAL,
            is_production_down=data["is_production_down"],
            uploads=data["attachments"],
        )


class TicketFilterForm(forms.Form):
    """The portal list's filters, read from the query string."""

    SHOW: ClassVar[dict[str, tuple[str, tuple[str, ...] | None]]] = {
        "all": ("All tickets", None),
        "open": ("Open", Ticket.UNRESOLVED_STATUSES),
        "waiting": ("Awaiting your reply", (Status.PENDING_CUSTOMER,)),
        "solved": ("Solved & closed", (Status.SOLVED, Status.CLOSED)),
    }

    show = forms.ChoiceField(
        choices=[(key, label) for key, (label, _) in SHOW.items()], required=False
    )
    mine = forms.BooleanField(required=False, label="Opened by me")
    q = SearchField(placeholder="Search your tickets", what="Subject and conversation")
    cursor = forms.CharField(required=False, max_length=1000)

    def clean_show(self) -> str:
        return str(self.cleaned_data["show"] or "all")

    def apply(self, tickets: QuerySet[Ticket], user: User) -> QuerySet[Ticket]:
        statuses = self.SHOW[self.cleaned_data["show"]][1]
        if statuses is not None:
            tickets = tickets.filter(status__in=statuses)
        if self.cleaned_data["mine"]:
            tickets = tickets.filter(requester=user)
        if self.cleaned_data["q"]:
            tickets = match_tickets(
                tickets,
                self.cleaned_data["q"],
                include_internal=access.can_search_internal_notes(user),
            )
        return tickets
