"""Forms of the agent desk: inbox filters, the composer, ticket properties, escalation,
merge, split, and opening a ticket on behalf of a customer.

Forms check the shape of what was sent (including uploads, through
:func:`attachments.check_uploads`). Business rules stay in the services, which raise
:class:`TicketError`; the views show that message.
"""

from __future__ import annotations

import uuid
from typing import Any, ClassVar

from django import forms
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db.models import Q, QuerySet
from django.http import QueryDict
from django.urls import reverse
from django.utils.functional import cached_property

from devdesk.accounts.models import Organization, Team, User
from devdesk.tickets import access, bulk, inbox
from devdesk.tickets.attachments import CheckedUpload, check_uploads
from devdesk.tickets.errors import TicketError
from devdesk.tickets.models import Macro, Message, Product, Ticket
from devdesk.tickets.services import TRANSITIONS, normalize_tags

Status = Ticket.Status
Role = User.Role
WORKER_ROLES = [Role.ADMIN, Role.AGENT, Role.ENGINEER, Role.PARTNER_AGENT]
BODY_REQUIRED = {"required": "Write a message first: the body is empty."}


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class AttachmentsField(forms.FileField):
    """Several files in one input; cleaned into checked uploads or a clear error."""

    widget = MultipleFileInput

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("label", "Attachments")
        super().__init__(**kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[CheckedUpload]:
        files = [f for f in (data if isinstance(data, list | tuple) else [data]) if f]
        try:
            return check_uploads([(f.name or "", _read_capped(f)) for f in files])
        except TicketError as error:
            raise forms.ValidationError(error.message, code=error.code) from None


def _read_capped(upload: UploadedFile[bytes]) -> bytes:
    # One byte over the limit is enough for check_upload to refuse it; a huge file
    # is never read into memory whole.
    content: bytes = upload.read(settings.ATTACHMENT_MAX_MIB * 1024 * 1024 + 1)
    return content


def status_field(
    ticket: Ticket, *, label: str, blank: str | None = None
) -> forms.ChoiceField:
    """A status choice that accepts any status (the service explains a refused
    transition in words) but offers only the ones the lifecycle allows next."""
    offered = [
        *([] if blank is not None else [ticket.status]),
        *TRANSITIONS[ticket.status],
    ]
    choices = [(s, Status(s).label) for s in Status.values]
    field = forms.ChoiceField(label=label, choices=choices, required=blank is None)
    if blank is not None:
        field.choices = [("", blank), *choices]
    field.widget.choices = [
        *([("", blank)] if blank is not None else []),
        *[(s, Status(s).label) for s in Status.values if s in offered],
    ]
    return field


# Inbox


class InboxFilterForm(forms.Form):
    view = forms.ChoiceField(
        required=False,
        choices=[(v.slug, v.label) for v in inbox.VIEWS.values()],
        widget=forms.HiddenInput,
    )
    q = forms.CharField(
        required=False,
        max_length=200,
        label="Search",
        widget=forms.TextInput(
            attrs={
                "type": "search",
                "placeholder": "Search tickets  /",
                "title": 'Subject, replies and notes. "exact phrase", -leave-out, '
                "this OR that",
                "data-key": "/",
            }
        ),
    )
    status = forms.ChoiceField(
        required=False, choices=[("", "Any status"), *Status.choices]
    )
    priority = forms.TypedChoiceField(
        required=False,
        coerce=int,
        empty_value=None,
        choices=[("", "Any priority"), *Ticket.Priority.choices],
    )
    product: forms.ModelChoiceField[Product] = forms.ModelChoiceField(
        required=False, queryset=Product.objects.none(), empty_label="Any product"
    )
    # A box, not a list: a desk has thousands of customer organizations, and a
    # <select> of all of them made the inbox cost what the table holds.
    organization = forms.CharField(
        required=False,
        max_length=200,
        label="Organization",
        widget=forms.TextInput(attrs={"placeholder": "Organization"}),
    )
    assignee = forms.ChoiceField(required=False)
    channel = forms.ChoiceField(
        required=False, choices=[("", "Any channel"), *Ticket.Channel.choices]
    )
    tag = forms.CharField(
        required=False,
        max_length=50,
        widget=forms.TextInput(attrs={"placeholder": "Tag"}),
    )
    sort = forms.ChoiceField(
        required=False,
        choices=[(key, label) for key, (label, _) in inbox.SORTS.items()],
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["product"].queryset = access.visible_products(user)  # type: ignore[attr-defined]
        workers = access.visible_users(user).filter(
            role__in=WORKER_ROLES, is_active=True
        )
        self.fields["assignee"].choices = [  # type: ignore[attr-defined]
            ("", "Anyone"),
            ("me", "Me"),
            ("none", "Nobody"),
            *[(str(u.pk), u.display_name) for u in workers],
        ]

    def clean_organization(self) -> Organization | None:
        """An organization the agent may see, by slug, exact name or id (links)."""
        text = self.cleaned_data["organization"].strip()
        if not text:
            return None
        orgs = access.visible_organizations(self.user).exclude(
            kind=Organization.Kind.VENDOR
        )
        found = orgs.filter(slug=text.lower()).first() or (
            orgs.filter(name__iexact=text).order_by("pk").first()
        )
        # isascii: str.isdigit() accepts "²", which int() refuses.
        if found is None and text.isascii() and text.isdigit() and int(text) < 2**31:
            found = orgs.filter(pk=int(text)).first()
        if found is None:
            raise forms.ValidationError(f"No organization called {text[:60]!r}.")
        return found

    def clean_tag(self) -> str:
        tag: str = self.cleaned_data["tag"]
        try:
            names = normalize_tags([tag])
        except TicketError as error:
            raise forms.ValidationError(error.message) from None
        return names[0] if names else ""

    def view_slug(self) -> str:
        return self._cleaned("view") or inbox.default_view(self.user)

    def sort_key(self) -> str:
        return self._cleaned("sort") or inbox.DEFAULT_SORT

    def filters(self) -> inbox.InboxFilters:
        """What was valid of the filters; an invalid field does not filter."""
        product = self._cleaned("product")
        organization = self._cleaned("organization")
        return inbox.InboxFilters(
            status=self._cleaned("status") or "",
            priority=self._cleaned("priority"),
            product_id=product.pk if product else None,
            organization_id=organization.pk if organization else None,
            assignee=self._cleaned("assignee") or "",
            channel=self._cleaned("channel") or "",
            tag=self._cleaned("tag") or "",
            text=(self._cleaned("q") or "").strip(),
        )

    def _cleaned(self, name: str) -> Any:
        self.is_valid()
        return self.cleaned_data.get(name)


class TicketNumbersField(forms.Field):
    """Ticket numbers sent as several values of one name (ticked checkboxes)."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value: Any) -> list[int]:
        raws = value if isinstance(value, list | tuple) else [value] if value else []
        numbers = []
        for raw in raws:
            text = str(raw).strip().removeprefix("#")
            # isascii: str.isdigit() accepts "²", which int() refuses.
            if not (text.isascii() and text.isdigit() and 0 < int(text) < 2**31):
                raise forms.ValidationError(
                    f"{str(raw)[:20]!r} is not a ticket number."
                )
            numbers.append(int(text))
        return sorted(set(numbers))


class BulkUpdateForm(forms.Form):
    """The inbox's bulk bar: one change for every ticked ticket. A choice left empty
    keeps what each ticket has. ``page`` lists every ticket on the page, so "all on
    this page" works without JavaScript; ``back`` is the inbox's query string."""

    tickets = TicketNumbersField(required=False)
    page = TicketNumbersField(required=False)
    all_on_page = forms.BooleanField(required=False, label="All on this page")
    assignee = forms.ChoiceField(required=False, label="Assign to")
    status = forms.ChoiceField(
        required=False, choices=[("", "Status…"), *Status.choices]
    )
    priority = forms.TypedChoiceField(
        required=False,
        coerce=int,
        empty_value=None,
        choices=[("", "Priority…"), *Ticket.Priority.choices],
    )
    team = forms.ChoiceField(required=False)
    add_tags = forms.CharField(
        required=False,
        max_length=500,
        widget=forms.TextInput(attrs={"placeholder": "Add tags"}),
    )
    remove_tags = forms.CharField(
        required=False,
        max_length=500,
        widget=forms.TextInput(attrs={"placeholder": "Remove tags"}),
    )
    back = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "bulk")
        super().__init__(*args, **kwargs)
        self.user = user
        self.workers = {
            str(u.pk): u
            for u in access.visible_users(user).filter(
                role__in=WORKER_ROLES, is_active=True
            )
        }
        self.fields["assignee"].choices = [  # type: ignore[attr-defined]
            ("", "Assign to…"),
            ("me", "Me"),
            ("none", "Nobody"),
            *[(pk, u.display_name) for pk, u in self.workers.items()],
        ]
        self.teams = {str(t.pk): t for t in Team.objects.filter(kind=Team.Kind.SUPPORT)}
        self.fields["team"].choices = [  # type: ignore[attr-defined]
            ("", "Team…"),
            ("none", "No team"),
            *[(pk, t.name) for pk, t in self.teams.items()],
        ]

    def clean_add_tags(self) -> list[str]:
        return self._tags("add_tags")

    def clean_remove_tags(self) -> list[str]:
        return self._tags("remove_tags")

    def _tags(self, name: str) -> list[str]:
        try:
            return normalize_tags(self.cleaned_data[name].split(","))
        except TicketError as error:
            raise forms.ValidationError(error.message) from None

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        numbers = data.get("page" if data.get("all_on_page") else "tickets")
        if numbers == []:
            self.add_error(None, "Tick the tickets to change first.")
        elif numbers and len(numbers) > bulk.MAX_TICKETS:
            self.add_error(
                None,
                f"Tick at most {bulk.MAX_TICKETS} tickets at a time, not {len(numbers)}.",
            )
        both = set(data.get("add_tags") or ()) & set(data.get("remove_tags") or ())
        if both:
            self.add_error(
                "remove_tags",
                f"A tag cannot be both added and removed: {', '.join(sorted(both))}.",
            )
        if not self.errors and not self.changes().wanted():
            self.add_error(None, "Choose a change to apply to the ticked tickets.")
        return data

    def numbers(self) -> list[int]:
        data = self.cleaned_data
        numbers: list[int] = data["page" if data["all_on_page"] else "tickets"]
        return numbers

    def changes(self) -> bulk.BulkChanges:
        data = self.cleaned_data
        return bulk.BulkChanges(
            status=data.get("status") or "",
            priority=data.get("priority"),
            assignee=self._assignee(data.get("assignee") or ""),
            team=self._team(data.get("team") or ""),
            add_tags=data.get("add_tags") or (),
            remove_tags=data.get("remove_tags") or (),
        )

    def _assignee(self, choice: str) -> User | bulk.Keep | None:
        if not choice:
            return bulk.KEEP
        if choice == "none":
            return None
        if choice == "me":
            return self.user
        return self.workers[choice]

    def _team(self, choice: str) -> Team | bulk.Keep | None:
        if not choice:
            return bulk.KEEP
        if choice == "none":
            return None
        return self.teams[choice]

    def ticked(self) -> set[int]:
        """What was ticked, as far as it reads as numbers (to tick it again)."""
        raw = self["tickets"].value() if self.is_bound else []
        return {
            int(n) for n in raw or [] if n.isascii() and n.isdigit() and len(n) < 10
        }

    def back_url(self) -> str:
        """The inbox page the form was sent from (view, filters, page)."""
        query = self.back_query().urlencode()
        url = reverse("desk:inbox")
        return f"{url}?{query}" if query else url

    def back_query(self) -> QueryDict:
        raw = self.data.get(self.add_prefix("back"), "") if self.is_bound else ""
        return QueryDict(str(raw)[:2000])


# The ticket page


class ReplyForm(forms.Form):
    """The composer: a public reply or internal note, optionally via a macro."""

    kind = forms.ChoiceField(choices=Message.Kind.choices, widget=forms.RadioSelect)
    body = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 6, "class": "markdown-input"}),
        error_messages=BODY_REQUIRED,
        strip=False,
    )
    attachments = AttachmentsField()
    macro = forms.ModelChoiceField(
        queryset=Macro.objects.filter(is_active=True),
        required=False,
        widget=forms.HiddenInput,
    )

    def __init__(self, *args: Any, ticket: Ticket, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.ticket = ticket
        # Any kind is accepted here; add_message refuses one the user may not write
        # (403 with a reason), and the switch offers only the allowed ones.
        kinds = [
            (kind, label)
            for kind, label in Message.Kind.choices
            if (access.can_reply_publicly if kind == "public" else access.can_add_note)(
                user, ticket
            )
        ]
        self.fields["kind"].widget.choices = kinds
        self.fields["kind"].initial = kinds[0][0] if kinds else None
        if access.can_change_status(user, ticket):
            self.fields["new_status"] = status_field(
                ticket, label="Submit as", blank=f"{ticket.get_status_display()} (keep)"
            )

    @property
    def is_internal(self) -> bool:
        macro = self.chosen_macro
        kind = macro.kind if macro else self["kind"].value()
        return kind == Message.Kind.INTERNAL

    @cached_property
    def chosen_macro(self) -> Macro | None:
        """The macro this composer sends, if one was picked (bound or preset)."""
        if self.is_bound:
            self.is_valid()
            return self.cleaned_data.get("macro")
        pk = self.initial.get("macro")
        return Macro.objects.filter(pk=pk).first() if pk else None

    def clean_body(self) -> str:
        body: str = self.cleaned_data["body"]
        if not body.strip():
            raise forms.ValidationError(BODY_REQUIRED["required"])
        if len(body) > settings.MESSAGE_BODY_MAX_CHARS:
            raise forms.ValidationError(
                f"The message is longer than {settings.MESSAGE_BODY_MAX_CHARS:,} characters."
            )
        return body


def macro_choices(ticket: Ticket, user: User) -> QuerySet[Macro]:
    """Macros ``user`` may send on ``ticket`` (engineers: internal ones only)."""
    macros = Macro.objects.filter(is_active=True)
    if not access.can_reply_publicly(user, ticket):
        macros = macros.filter(kind=Message.Kind.INTERNAL)
    if not access.can_add_note(user, ticket):
        macros = macros.filter(kind=Message.Kind.PUBLIC)
    return macros


def assignable_users(ticket: Ticket) -> QuerySet[User]:
    """People who can work the ticket: desk staff, its escalation team, its partner,
    and whoever owns or works it now (so the current value stays valid)."""
    current = [pk for pk in (ticket.owner_id, ticket.assignee_id) if pk]
    condition = Q(role__in=[Role.ADMIN, Role.AGENT]) | Q(pk__in=current)
    if ticket.escalated_team_id:
        condition |= Q(role=Role.ENGINEER, teams=ticket.escalated_team_id)
    if ticket.partner_organization_id:
        condition |= Q(
            role=Role.PARTNER_AGENT, organization=ticket.partner_organization_id
        )
    return User.objects.filter(condition, is_active=True).distinct()


class TicketUpdateForm(forms.Form):
    """The properties column. Which fields exist depends on what the user may change;
    sending a field one may not change is refused by the view (403)."""

    EDIT_FIELDS: ClassVar[tuple[str, ...]] = (
        "subject",
        "priority",
        "owner",
        "assignee",
        "team",
        "product",
        "tags",
        "followers",
    )

    def __init__(self, *args: Any, ticket: Ticket, user: User, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "prop_%s")
        super().__init__(*args, **kwargs)
        self.ticket = ticket
        if access.can_change_status(user, ticket):
            self.fields["status"] = status_field(ticket, label="Status")
            self.initial["status"] = ticket.status
        if access.can_edit_ticket(user, ticket):
            self._add_edit_fields(ticket, user)
        if self.is_bound:
            # A field that was not sent keeps its value, so a form showing only some
            # properties (or a script sending one) changes only those. An empty
            # multi-select sends nothing, hence the "followers_shown" marker.
            for name, field in self.fields.items():
                if name not in self.data and f"{name}_shown" not in self.data:
                    field.disabled = True

    def _add_edit_fields(self, ticket: Ticket, user: User) -> None:
        people = assignable_users(ticket)
        self.fields["subject"] = forms.CharField(
            max_length=settings.TICKET_SUBJECT_MAX_CHARS,
            error_messages={"required": "A subject is required."},
        )
        self.fields["priority"] = forms.TypedChoiceField(
            coerce=int, choices=Ticket.Priority.choices
        )
        self.fields["owner"] = forms.ModelChoiceField(
            queryset=people.filter(
                Q(role__in=[Role.ADMIN, Role.AGENT]) | Q(pk=ticket.owner_id)
            ),
            required=False,
            empty_label="Nobody",
            label="Owner",
            help_text="The customer's point of contact; stays on escalation.",
        )
        self.fields["assignee"] = forms.ModelChoiceField(
            queryset=people,
            required=False,
            empty_label="Nobody",
            widget=forms.Select(attrs={"data-key": "e"}),
        )
        self.fields["team"] = forms.ModelChoiceField(
            queryset=Team.objects.filter(
                Q(kind=Team.Kind.SUPPORT) | Q(pk=ticket.team_id)
            ),
            required=False,
            empty_label="No team",
            help_text="Escalate below to involve engineering.",
        )
        self.fields["product"] = forms.ModelChoiceField(
            queryset=access.visible_products(user)
            | Product.objects.filter(pk__in=[ticket.product_id]),
            required=False,
            empty_label="No product",
        )
        self.fields["tags"] = forms.CharField(
            required=False,
            max_length=500,
            help_text="Separated by commas",
        )
        followers = [u.pk for u in ticket.followers.all()]
        self.fields["followers"] = forms.ModelMultipleChoiceField(
            queryset=User.objects.filter(
                Q(role__in=[Role.ADMIN, Role.AGENT], is_active=True)
                | Q(organization=ticket.organization_id, is_active=True)
                | Q(pk__in=followers)
            ),
            required=False,
            widget=forms.SelectMultiple(attrs={"size": 4}),
            help_text="Copied on public replies.",
        )
        self.initial.update(
            subject=ticket.subject,
            priority=ticket.priority,
            owner=ticket.owner_id,
            assignee=ticket.assignee_id,
            team=ticket.team_id,
            product=ticket.product_id,
            tags=", ".join(t.name for t in ticket.tags.all()),
            followers=followers,
        )

    def clean_tags(self) -> list[str]:
        try:
            return normalize_tags(self.cleaned_data["tags"].split(","))
        except TicketError as error:
            raise forms.ValidationError(error.message) from None

    def field_changes(self) -> dict[str, Any]:
        """The plain fields (for ``update_ticket``) whose value differs from the ticket."""
        names = ("subject", "priority", "owner", "assignee", "team", "product")
        return {
            name: self.cleaned_data[name]
            for name in names
            if name in self.cleaned_data
            and self.cleaned_data[name] != getattr(self.ticket, name)
        }


class EscalateForm(forms.Form):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "escalate_%s")
        super().__init__(*args, **kwargs)

    team = forms.ModelChoiceField(
        queryset=Team.objects.filter(kind=Team.Kind.ENGINEERING),
        empty_label="Choose an engineering team",
        error_messages={"required": "Choose the engineering team to escalate to."},
    )
    note = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="What you need from engineering; an internal note.",
        error_messages={"required": "Tell engineering what you need in a note."},
    )


class MergeForm(forms.Form):
    """Merging this ticket (the source) into another one (the target)."""

    NOTIFY: ClassVar[dict[str, tuple[bool, bool]]] = {
        "source": (True, False),
        "target": (False, True),
        "both": (True, True),
        "none": (False, False),
    }

    target = forms.IntegerField(
        min_value=1,
        label="Merge into ticket number",
        error_messages={"required": "Enter the number of the ticket to merge into."},
    )
    notify = forms.ChoiceField(
        choices=[
            ("source", "This ticket's customer"),
            ("target", "The other ticket's customer"),
            ("both", "Both customers"),
            ("none", "Nobody"),
        ],
        initial="source",
        widget=forms.RadioSelect,
        label="Who is told",
    )
    source_notice = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        label="Notice on this ticket",
    )
    target_notice = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        label="Notice on the other ticket",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "merge_%s")
        super().__init__(*args, **kwargs)

    def notify_flags(self) -> tuple[bool, bool]:
        return self.NOTIFY[self.cleaned_data["notify"]]


class SplitForm(forms.Form):
    message_ids = forms.TypedMultipleChoiceField(
        coerce=int,
        error_messages={"required": "Tick the messages to split into a new ticket."},
    )
    subject = forms.CharField(
        required=False,
        max_length=settings.TICKET_SUBJECT_MAX_CHARS,
        help_text="Leave empty for “Split from #N: …”.",
    )

    def __init__(self, *args: Any, ticket: Ticket, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "split_%s")
        super().__init__(*args, **kwargs)
        ids = ticket.messages.values_list("pk", flat=True)
        self.fields["message_ids"].choices = [(str(pk), str(pk)) for pk in ids]  # type: ignore[attr-defined]


# Opening a ticket for a customer

AGENT_CHANNELS = [
    (Ticket.Channel.AGENT, "Phone or in person"),
    (Ticket.Channel.EMAIL, "E-mail"),
    (Ticket.Channel.CHAT, "Chat"),
    (Ticket.Channel.EVENT, "Event / conference"),
]


class NewTicketForm(forms.Form):
    requester = forms.EmailField(
        label="Customer e-mail",
        help_text="An existing customer; the ticket goes to their organization.",
    )
    channel = forms.ChoiceField(choices=AGENT_CHANNELS, label="How they contacted us")
    subject = forms.CharField(max_length=settings.TICKET_SUBJECT_MAX_CHARS)
    body = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 8, "class": "markdown-input"}),
        error_messages=BODY_REQUIRED,
        label="What they asked",
        strip=False,
    )
    product: forms.ModelChoiceField[Product] = forms.ModelChoiceField(
        queryset=Product.objects.none(), required=False, empty_label="Not sure"
    )
    priority = forms.TypedChoiceField(
        coerce=int, choices=Ticket.Priority.choices, initial=Ticket.Priority.NORMAL
    )
    attachments = AttachmentsField()
    # Makes a double-submitted form open one ticket, not two (intake idempotency).
    token = forms.CharField(widget=forms.HiddenInput, max_length=64)

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {}).setdefault("token", uuid.uuid4().hex)
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["product"].queryset = access.visible_products(user)  # type: ignore[attr-defined]

    def clean_requester(self) -> User:
        email = self.cleaned_data["requester"]
        customer = (
            access.visible_users(self.user)
            .filter(email__iexact=email, role=Role.CUSTOMER, is_active=True)
            .select_related("organization")
            .first()
        )
        if customer is None:
            raise forms.ValidationError(
                f"No customer with the address {email}. Invite them first, or check the spelling."
            )
        return customer

    def clean_body(self) -> str:
        body: str = self.cleaned_data["body"]
        if not body.strip():
            raise forms.ValidationError(BODY_REQUIRED["required"])
        return body
