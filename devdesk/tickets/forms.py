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
from django.utils.html import escape
from django.utils.http import urlencode
from django.utils.safestring import SafeString, mark_safe

from devdesk.accounts.models import Organization, Team, User
from devdesk.lib.ids import INTEGER_MAX, as_id
from devdesk.search.forms import SearchField
from devdesk.tickets import access, bulk, inbox
from devdesk.tickets.attachments import CheckedUpload, check_uploads
from devdesk.tickets.errors import TicketError
from devdesk.tickets.models import Macro, Message, Product, Ticket
from devdesk.tickets.people import PersonNotFound, find_person
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


class PersonInput(forms.TextInput):
    """A box for a person (``several``: comma-separated people) that suggests
    matches while one types: htmx asks ``desk:people-suggest`` to fill the
    ``<datalist>`` that follows the box. ``scope`` names who may be chosen
    (:func:`people_for`); ``ticket`` is the ticket whose people they are."""

    def __init__(
        self,
        *,
        scope: str,
        ticket: Ticket | None = None,
        attrs: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(attrs)
        self.scope = scope
        self.ticket_number = ticket.number if ticket else None

    def render(
        self,
        name: str,
        value: Any,
        attrs: dict[str, Any] | None = None,
        renderer: Any = None,
    ) -> SafeString:
        attrs = dict(attrs or {})
        list_id = f"{attrs.get('id') or name}-people"
        query = {"scope": self.scope, "list": list_id, "box": name}
        if self.ticket_number:
            query["ticket"] = str(self.ticket_number)
        attrs.update(
            {
                "list": list_id,
                "autocomplete": "off",
                "hx-get": f"{reverse('desk:people-suggest')}?{urlencode(query)}",
                "hx-trigger": "input changed delay:200ms",
                "hx-target": f"#{list_id}",
                "hx-swap": "outerHTML",
            }
        )
        box = super().render(name, value, attrs, renderer)
        return mark_safe(f'{box}<datalist id="{escape(list_id)}"></datalist>')  # noqa: S308 - escaped


class PeopleInput(PersonInput):
    """Several people in one box; a form posted with one value per person (a
    script, an older page) reads the same."""

    def value_from_datadict(self, data: Any, files: Any, name: str) -> Any:
        if hasattr(data, "getlist"):
            return ", ".join(str(v) for v in data.getlist(name))
        return super().value_from_datadict(data, files, name)


class _PeopleBox(forms.CharField):
    """What the person boxes share: the list they choose from (``people``), the
    suggesting widget and finding someone by what was typed."""

    input_class: ClassVar[type[PersonInput]] = PersonInput

    def __init__(
        self,
        *,
        people: QuerySet[User],
        scope: str,
        ticket: Ticket | None = None,
        placeholder: str,
        max_length: int,
        **kwargs: Any,
    ) -> None:
        attrs = {"placeholder": placeholder, **kwargs.pop("attrs", {})}
        widget = self.input_class(scope=scope, ticket=ticket, attrs=attrs)
        super().__init__(required=False, max_length=max_length, widget=widget, **kwargs)
        self.people = people

    def find(self, text: str) -> User:
        try:
            return find_person(self.people, text)
        except PersonNotFound as error:
            raise forms.ValidationError(str(error)) from None


class PersonField(_PeopleBox):
    """One person, typed: cleans to the :class:`User`, to ``None`` when empty, or
    to one of ``words`` ("me", "none") when typed as such; with ``me``, "me" is
    that person, if they may be chosen."""

    def __init__(
        self,
        *,
        words: tuple[str, ...] = ("me", "none"),
        me: User | None = None,
        placeholder: str = "Name or e-mail",
        **kwargs: Any,
    ) -> None:
        super().__init__(placeholder=placeholder, max_length=254, **kwargs)
        self.words = words
        self.me = me

    def prepare_value(self, value: Any) -> Any:
        return value.email if isinstance(value, User) else value

    def clean(self, value: Any) -> User | str | None:
        text: str = super().clean(value)
        if not text:
            return None
        word = text.lower()
        if word == "me" and self.me is not None:
            return self.find(str(self.me.pk))  # "me" too must be someone allowed
        if word in self.words:
            return word
        return self.find(text)


class PeopleField(_PeopleBox):
    """Several people, typed and separated by commas; cleans to a list."""

    input_class = PeopleInput

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            placeholder="Names or e-mails, separated by commas",
            max_length=5000,
            **kwargs,
        )

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, list | tuple):
            return ", ".join(p.email if isinstance(p, User) else str(p) for p in value)
        return value

    def clean(self, value: Any) -> list[User]:
        text: str = super().clean(value)
        found: dict[int, User] = {}
        for part in text.split(","):
            if part.strip():
                person = self.find(part)
                found.setdefault(person.pk, person)
        return list(found.values())


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
    q = SearchField(
        placeholder="Search tickets  /",
        what="Subject, replies and notes",
        **{"data-key": "/"},
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
    assignee = forms.CharField(required=False)  # a PersonField for the user
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
        if self.is_bound and not self.data.get("sort"):
            # Show the sort the view really uses (the open queue's is the score).
            view = self.data.get("view") or inbox.default_view(user)
            self.data = {**dict(self.data.items()), "sort": inbox.default_sort(view)}
        self.fields["product"].queryset = access.visible_products(user)  # type: ignore[attr-defined]
        self.fields["assignee"] = PersonField(
            people=_workers(user),
            scope="workers",
            label="Assignee",
            placeholder='Assignee, "me" or "none"',
        )

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
        pk = as_id(text, below=INTEGER_MAX)
        if found is None and pk is not None:
            found = orgs.filter(pk=pk).first()
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
        return self._cleaned("sort") or inbox.default_sort(self.view_slug())

    def filters(self) -> inbox.InboxFilters:
        """What was valid of the filters; an invalid field does not filter."""
        product = self._cleaned("product")
        organization = self._cleaned("organization")
        return inbox.InboxFilters(
            status=self._cleaned("status") or "",
            priority=self._cleaned("priority"),
            product_id=product.pk if product else None,
            organization_id=organization.pk if organization else None,
            assignee=_assignee_filter(self._cleaned("assignee")),
            channel=self._cleaned("channel") or "",
            tag=self._cleaned("tag") or "",
            text=(self._cleaned("q") or "").strip(),
        )

    def _cleaned(self, name: str) -> Any:
        self.is_valid()
        return self.cleaned_data.get(name)


def _assignee_filter(value: User | str | None) -> str:
    """What :class:`inbox.InboxFilters` takes: "me", "none", an id or nothing."""
    if isinstance(value, User):
        return str(value.pk)
    return value or ""


def _workers(user: User) -> QuerySet[User]:
    return access.visible_users(user).filter(role__in=WORKER_ROLES, is_active=True)


class TicketNumbersField(forms.Field):
    """Ticket numbers sent as several values of one name (ticked checkboxes)."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value: Any) -> list[int]:
        raws = value if isinstance(value, list | tuple) else [value] if value else []
        numbers = []
        for raw in raws:
            number = as_id(str(raw).strip().removeprefix("#"), below=INTEGER_MAX)
            if number is None:
                raise forms.ValidationError(
                    f"{str(raw)[:20]!r} is not a ticket number."
                )
            numbers.append(number)
        return sorted(set(numbers))


class BulkUpdateForm(forms.Form):
    """The inbox's bulk bar: one change for every ticked ticket. A choice left empty
    keeps what each ticket has. ``page`` lists every ticket on the page, so "all on
    this page" works without JavaScript; ``back`` is the inbox's query string."""

    tickets = TicketNumbersField(required=False)
    page = TicketNumbersField(required=False)
    all_on_page = forms.BooleanField(required=False, label="All on this page")
    assignee = forms.CharField(required=False)  # a PersonField for the user
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
        self.fields["assignee"] = PersonField(
            people=_workers(user),
            scope="workers",
            label="Assign to",
            placeholder='Assign to… ("me", "none")',
        )
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
            assignee=self._assignee(data.get("assignee")),
            team=self._team(data.get("team") or ""),
            add_tags=data.get("add_tags") or (),
            remove_tags=data.get("remove_tags") or (),
        )

    def _assignee(self, choice: User | str | None) -> User | bulk.Keep | None:
        if isinstance(choice, User):
            return choice
        if choice == "me":
            return self.user
        if choice == "none":
            return None
        return bulk.KEEP

    def _team(self, choice: str) -> Team | bulk.Keep | None:
        if not choice:
            return bulk.KEEP
        if choice == "none":
            return None
        return self.teams[choice]

    def ticked(self) -> set[int]:
        """What was ticked, as far as it reads as numbers (to tick it again)."""
        raw = self["tickets"].value() if self.is_bound else []
        numbers = (as_id(n, below=INTEGER_MAX) for n in raw or [])
        return {n for n in numbers if n is not None}

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


def people_for(scope: str, user: User, ticket: Ticket | None) -> QuerySet[User]:
    """Who may be typed into a person box of ``scope`` (see :class:`PersonInput`);
    the forms check against the same lists the suggestions come from."""
    if scope == "workers" or ticket is None:
        return _workers(user)
    if scope == "owner":
        return assignable_users(ticket).filter(
            Q(role__in=[Role.ADMIN, Role.AGENT]) | Q(pk=ticket.owner_id)
        )
    if scope == "followers":
        current = ticket.followers.values("pk")
        return User.objects.filter(
            Q(role__in=[Role.ADMIN, Role.AGENT], is_active=True)
            | Q(organization=ticket.organization_id, is_active=True)
            | Q(pk__in=current)
        ).only(*User.NAME_FIELDS)
    return assignable_users(ticket)


PERSON_SCOPES = ("workers", "owner", "assignee", "followers")


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
    return (
        User.objects.filter(condition, is_active=True)
        .only(*User.NAME_FIELDS)
        .distinct()
    )


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
        self.fields["subject"] = forms.CharField(
            max_length=settings.TICKET_SUBJECT_MAX_CHARS,
            error_messages={"required": "A subject is required."},
        )
        self.fields["priority"] = forms.TypedChoiceField(
            coerce=int, choices=Ticket.Priority.choices
        )
        self.fields["owner"] = PersonField(
            people=people_for("owner", user, ticket),
            scope="owner",
            ticket=ticket,
            me=user,
            label="Owner",
            placeholder="Nobody",
            help_text="The customer's point of contact; stays on escalation.",
        )
        self.fields["assignee"] = PersonField(
            people=people_for("assignee", user, ticket),
            scope="assignee",
            ticket=ticket,
            me=user,
            placeholder="Nobody",
            attrs={"data-key": "e"},
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
        followers = list(ticket.followers.only(*User.NAME_FIELDS))
        self.fields["followers"] = PeopleField(
            people=people_for("followers", user, ticket),
            scope="followers",
            ticket=ticket,
            help_text="Copied on public replies.",
        )
        self.initial.update(
            subject=ticket.subject,
            priority=ticket.priority,
            owner=ticket.owner,
            assignee=ticket.assignee,
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

    def clean_owner(self) -> User | None:
        return self._person("owner")

    def clean_assignee(self) -> User | None:
        return self._person("assignee")

    def _person(self, name: str) -> User | None:
        """ "none" and an empty box are nobody."""
        value = self.cleaned_data[name]
        return value if isinstance(value, User) else None

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
