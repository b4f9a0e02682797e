"""What the API reads and writes: input schemas that refuse bad values before any
service runs, and output schemas built from models without extra queries."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

from django.conf import settings
from django.urls import reverse
from ninja import Field, Schema
from pydantic import AfterValidator, ConfigDict, field_validator

from devdesk.accounts.models import Invitation, Organization, User
from devdesk.api.triage_sla_schemas import TicketSlaOut, ticket_sla_out
from devdesk.lib.markdown import render_markdown
from devdesk.tickets import access
from devdesk.tickets.models import Attachment, Message, Product, Ticket, TicketEvent


def _no_nul(value: str) -> str:
    # PostgreSQL cannot store U+0000 in text; refuse it here instead of failing there.
    if "\x00" in value:
        raise ValueError("must not contain NUL (\\u0000) characters")
    return value


Text = Annotated[str, AfterValidator(_no_nul)]
# Primary keys are 64-bit; ticket numbers are 32-bit. A larger number cannot exist,
# and PostgreSQL would refuse to compare with it.
Id = Annotated[int, Field(ge=1, le=2**63 - 1)]
TicketNumber = Annotated[int, Field(ge=1, le=2**31 - 1)]
Filename = Annotated[Text, Field(min_length=1, max_length=255)]


def _refuse_null(cls: type, value: Any) -> Any:
    if value is None:
        raise ValueError("may not be null")
    return value


def not_null(*fields: str) -> Any:
    """A validator for optional fields that may be left out but not sent as null."""
    return field_validator(*fields)(classmethod(_refuse_null))


class InputSchema(Schema):
    # An unknown field is usually a typo ("assignee_id"); ignoring it would hide that.
    model_config = ConfigDict(extra="forbid")


# --- input ---------------------------------------------------------------------


class AttachmentIn(InputSchema):
    filename: Filename
    content_base64: str = Field(
        description="The file's bytes, base64-encoded (RFC 4648)."
    )


class TicketCreateIn(InputSchema):
    subject: Text
    body: Text = Field(description="Markdown.")
    product: Id | None = Field(None, description="A product id from GET /api/products.")
    priority: Ticket.Priority | None = Field(None, description="1 low … 4 urgent.")
    severity: Ticket.Severity | None = Field(
        None, description="How bad it is for you: low, normal, high or critical."
    )
    production_down: bool = Field(False, description="Production is down.")
    requester: Id | Annotated[Text, Field(max_length=254)] | None = Field(
        None,
        description="Desk staff only: id or e-mail of the customer this ticket is "
        "logged for. Customers always open tickets for themselves.",
    )
    attachments: list[AttachmentIn] = Field(default_factory=list)


class TicketUpdateIn(InputSchema):
    """Only the fields sent are changed; ``null`` clears owner, assignee, team or product."""

    status: Ticket.Status | None = None
    priority: Ticket.Priority | None = None
    owner: Id | None = None
    assignee: Id | None = None
    team: Id | None = None
    product: Id | None = None
    subject: Text | None = None
    tags: list[Annotated[Text, Field(max_length=50)]] | None = Field(
        None, description="Replaces all tags."
    )

    _not_null = not_null("status", "priority", "subject", "tags")


class MessageIn(InputSchema):
    body: Text = Field(description="Markdown.")
    internal: bool = Field(
        False, description="An internal note, never shown to customers."
    )
    status: Ticket.Status | None = Field(
        None, description="Status to set after posting."
    )
    attachments: list[AttachmentIn] = Field(default_factory=list)


class MergeIn(InputSchema):
    into: TicketNumber = Field(description="Number of the ticket that stays.")
    notify_source: bool = True
    notify_target: bool = False


class SplitIn(InputSchema):
    message_ids: list[Id] = Field(min_length=1)
    subject: Text = ""


Domain = Annotated[Text, Field(max_length=253)]


class OrganizationCreateIn(InputSchema):
    name: Annotated[Text, Field(max_length=200)]
    kind: Literal["customer", "partner"] = "customer"
    plan: Annotated[Text, Field(max_length=40)] = ""
    domains: list[Domain] = Field(
        default_factory=list,
        max_length=50,
        description="E-mail domains; people signing up with an address at one of "
        "them join this organization. A domain belongs to one organization only.",
    )
    notes: Annotated[Text, Field(max_length=20_000)] = Field(
        "", description="Internal, for the desk only. Markdown."
    )


class OrganizationUpdateIn(InputSchema):
    """Only the fields sent are changed; ``domains`` replaces the whole list."""

    name: Annotated[Text, Field(max_length=200)] | None = None
    plan: Annotated[Text, Field(max_length=40)] | None = None
    domains: list[Domain] | None = Field(None, max_length=50)
    notes: Annotated[Text, Field(max_length=20_000)] | None = None

    _not_null = not_null("name", "plan", "domains", "notes")


class UserInviteIn(InputSchema):
    email: Annotated[Text, Field(max_length=254)]
    organization: Id = Field(
        description="A customer organization (the person joins as a customer) or, "
        "for admins, a partner organization (as a partner agent)."
    )


class UserUpdateIn(InputSchema):
    """Only the fields sent are changed. Agents change customers' name and
    organization; admins also roles and ``is_active`` (not their own)."""

    name: Annotated[Text, Field(max_length=150)] | None = None
    role: User.Role | None = None
    organization: Id | None = None
    is_active: bool | None = None

    _not_null = not_null("name", "role", "organization", "is_active")


# --- output --------------------------------------------------------------------


class Ref(Schema):
    id: int
    name: str


class PersonRef(Schema):
    id: int
    name: str
    email: str

    @classmethod
    def build(cls, user: User) -> PersonRef:
        return cls(id=user.pk, name=user.display_name, email=user.email)


def _person(user: User | None) -> PersonRef | None:
    return None if user is None else PersonRef.build(user)


def _ref(obj: Any) -> Ref | None:
    return None if obj is None else Ref(id=obj.pk, name=str(obj.name))


def _author(user: User | None) -> Ref | None:
    return None if user is None else Ref(id=user.pk, name=user.display_name)


def ticket_web_url(ticket: Ticket, viewer: User) -> str:
    """The page for this ticket in the part of the site ``viewer`` uses."""
    name = (
        "desk:ticket-detail"
        if access.can_use_agent_desk(viewer)
        else "portal:ticket-detail"
    )
    return settings.SITE_URL + reverse(name, args=[ticket.number])


class TicketOut(Schema):
    number: int
    subject: str
    status: str
    priority: int
    priority_label: str
    channel: str
    product: Ref | None
    organization: Ref
    requester: PersonRef
    owner: PersonRef | None
    assignee: PersonRef | None
    team: Ref | None
    tags: list[str]
    created_at: datetime
    updated_at: datetime
    merged_into: int | None
    url: str
    sla: TicketSlaOut | None = Field(
        None, description="SLA clocks and their state; desk staff only"
    )
    severity: str
    production_down: bool
    # Triage figures, for desk staff only (null for customers).
    score: float | None
    affected_count: int | None
    effort_hours: float | None

    @classmethod
    def build(cls, ticket: Ticket, viewer: User) -> TicketOut:
        """Needs the relations of ``Ticket.objects.for_list()``."""
        staff = viewer.works_tickets
        return cls(
            severity=ticket.severity,
            production_down=ticket.is_production_down,
            score=ticket.score if staff else None,
            affected_count=ticket.affected_count if staff else None,
            effort_hours=(
                float(ticket.effort_hours)
                if staff and ticket.effort_hours is not None
                else None
            ),
            number=ticket.number,
            subject=ticket.subject,
            status=ticket.status,
            priority=ticket.priority,
            priority_label=ticket.get_priority_display(),
            channel=ticket.channel,
            product=_ref(ticket.product),
            organization=Ref(id=ticket.organization.pk, name=ticket.organization.name),
            requester=PersonRef.build(ticket.requester),
            owner=_person(ticket.owner),
            assignee=_person(ticket.assignee),
            team=_ref(ticket.team),
            tags=[tag.name for tag in ticket.tags.all()],
            created_at=ticket.created_at,
            updated_at=ticket.updated_at,
            merged_into=ticket.merged_into.number if ticket.merged_into else None,
            url=ticket_web_url(ticket, viewer),
            sla=ticket_sla_out(ticket, viewer),
        )


class AttachmentOut(Schema):
    id: int
    filename: str
    content_type: str
    size_bytes: int
    url: str

    @classmethod
    def build(cls, attachment: Attachment) -> AttachmentOut:
        return cls(
            id=attachment.pk,
            filename=attachment.filename,
            content_type=attachment.content_type,
            size_bytes=attachment.size_bytes,
            url=reverse(
                "attachment-download", args=[attachment.pk, attachment.filename]
            ),
        )


class MessageOut(Schema):
    id: int
    author: Ref | None
    internal: bool
    body: str
    body_html: str
    created_at: datetime
    attachments: list[AttachmentOut]

    @classmethod
    def build(cls, message: Message) -> MessageOut:
        """Needs ``author`` selected and ``attachments`` prefetched."""
        return cls(
            id=message.pk,
            author=_author(message.author),
            internal=message.is_internal,
            body=message.body,
            body_html=render_markdown(message.body),
            created_at=message.created_at,
            attachments=[AttachmentOut.build(a) for a in message.attachments.all()],
        )


class EventOut(Schema):
    id: int
    kind: str
    actor: Ref | None
    data: dict[str, Any]
    created_at: datetime

    @classmethod
    def build(
        cls, event: TicketEvent, *, fields: frozenset[str] | None = None
    ) -> EventOut:
        """``fields`` limits ``data`` to those keys (what a customer may read)."""
        data = event.data if isinstance(event.data, dict) else {}
        if fields is not None:
            data = {k: v for k, v in data.items() if k in fields}
        return cls(
            id=event.pk,
            kind=event.kind,
            actor=_author(event.actor),
            data=data,
            created_at=event.created_at,
        )


class OrganizationOut(Schema):
    id: int
    name: str
    slug: str
    kind: str
    plan: str
    domains: list[str]

    @classmethod
    def build(cls, org: Organization) -> OrganizationOut:
        return cls(
            id=org.pk,
            name=org.name,
            slug=org.slug,
            kind=org.kind,
            plan=org.plan,
            domains=org.domain_list,
        )


class UserOut(Schema):
    id: int
    name: str
    email: str
    role: str
    organization: Ref | None

    @classmethod
    def build(cls, user: User) -> UserOut:
        """Needs ``organization`` selected."""
        return cls(
            id=user.pk,
            name=user.display_name,
            email=user.email,
            role=user.role,
            organization=_ref(user.organization),
        )


class OrganizationDetailOut(OrganizationOut):
    """An organization with its internal notes: what desk staff's writes answer."""

    notes: str

    @classmethod
    def build(cls, org: Organization) -> OrganizationDetailOut:
        return cls(**OrganizationOut.build(org).model_dump(), notes=org.notes)


class UserAccountOut(UserOut):
    """A person with their account's state: what desk staff's writes answer."""

    is_active: bool
    time_zone: str
    last_login: datetime | None
    date_joined: datetime

    @classmethod
    def build(cls, user: User) -> UserAccountOut:
        """Needs ``organization`` selected."""
        return cls(
            **UserOut.build(user).model_dump(),
            is_active=user.is_active,
            time_zone=user.time_zone,
            last_login=user.last_login,
            date_joined=user.date_joined,
        )


class InvitationOut(Schema):
    """An invitation waiting for its person: they get an e-mail with a link, choose
    a password there, and only then does their user (``role`` in ``organization``)
    exist. The link itself is never returned: it signs its holder in."""

    id: int
    email: str
    organization: Ref
    role: str
    invited_by: PersonRef | None
    created_at: datetime
    expires_at: datetime
    user: None = Field(
        None, description="Always null here: the account is made on acceptance."
    )

    @classmethod
    def build(cls, invitation: Invitation) -> InvitationOut:
        return cls(
            id=invitation.pk,
            email=invitation.email,
            organization=Ref(
                id=invitation.organization.pk, name=invitation.organization.name
            ),
            role=invitation.role,
            invited_by=_person(invitation.invited_by),
            created_at=invitation.created_at,
            expires_at=invitation.expires_at,
            user=None,
        )


class ProductOut(Schema):
    id: int
    name: str
    slug: str
    description: str

    @classmethod
    def build(cls, product: Product) -> ProductOut:
        return cls(
            id=product.pk,
            name=product.name,
            slug=product.slug,
            description=product.description,
        )


T = TypeVar("T")


class PageOut(Schema, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page.")
    previous_cursor: str | None = Field(
        description="Pass as ?cursor= for the page before."
    )


class ErrorOut(Schema):
    code: str = Field(description="Stable, for programs: e.g. invalid_transition.")
    message: str = Field(description="For people: what is wrong and how to fix it.")


# --- query parameters ------------------------------------------------------------

TicketSort = Literal[
    "-updated_at", "updated_at", "-created_at", "created_at", "-priority", "-score"
]

TICKET_ORDERINGS: dict[str, list[str]] = {
    "-updated_at": ["-updated_at", "-id"],
    "updated_at": ["updated_at", "id"],
    "-created_at": ["-created_at", "-id"],
    "created_at": ["created_at", "id"],
    "-priority": ["-priority", "-updated_at", "-id"],
    "-score": ["-score", "-id"],
}

Limit = Annotated[int, Field(ge=1, le=100)]
Cursor = Annotated[Text, Field(max_length=2000)]
QueryText = Annotated[Text, Field(max_length=200)]


class TicketFilters(Schema):
    status: list[QueryText] = Field(
        default_factory=list,
        description="Repeat, or separate with commas: status=new,open.",
    )
    priority: Ticket.Priority | None = None
    product: QueryText | None = Field(None, description="Product id or slug.")
    organization: Id | None = None
    assignee: QueryText | None = Field(None, description="A user id, 'me' or 'none'.")
    owner: QueryText | None = Field(None, description="A user id, 'me' or 'none'.")
    channel: Ticket.Channel | None = None
    tag: list[QueryText] = Field(
        default_factory=list, description="Repeat to require several."
    )
    q: QueryText | None = Field(
        None,
        description="Search words: every word must appear in the subject or the "
        'conversation (internal notes only for those who may read them); "an exact '
        'phrase", -leave-out, this OR that.',
    )
    sort: TicketSort = "-updated_at"
    cursor: Cursor | None = None
    limit: Limit = 25


class PageParams(Schema):
    cursor: Cursor | None = None
    limit: Limit = 50


class UserFilters(PageParams):
    organization: Id | None = None
    role: User.Role | None = None
    q: QueryText | None = Field(None, description="Part of the name or e-mail address.")


class OrganizationFilters(PageParams):
    kind: Organization.Kind | None = None
    q: QueryText | None = Field(None, description="Part of the name.")


# --- bulk changes ------------------------------------------------------------------

TagName = Annotated[Text, Field(max_length=50)]


class BulkChangesIn(InputSchema):
    """Leave a field out to keep what each ticket has; ``null`` clears the assignee
    or team. Tags are added to and removed from each ticket's own."""

    status: Ticket.Status | None = None
    priority: Ticket.Priority | None = None
    assignee: Id | None = Field(None, description="A user id; null for nobody.")
    team: Id | None = Field(None, description="A team id; null for no team.")
    add_tags: list[TagName] = Field(default_factory=list, max_length=50)
    remove_tags: list[TagName] = Field(default_factory=list, max_length=50)

    _not_null = not_null("status", "priority")


class BulkUpdateIn(InputSchema):
    numbers: list[TicketNumber] = Field(
        min_length=1,
        max_length=100,  # tickets.bulk.MAX_TICKETS; the API tests hold them equal
        description="The tickets to change: at most 100 per request.",
    )
    changes: BulkChangesIn


class BulkRefusalOut(Schema):
    number: int
    code: str = Field(
        description="Stable, as in errors: e.g. not_found, reply_required."
    )
    message: str


class BulkResultOut(Schema):
    updated: list[int] = Field(description="Tickets that changed.")
    unchanged: list[int] = Field(description="Tickets that already were as asked.")
    refused: list[BulkRefusalOut] = Field(
        description="Tickets left as they were, each with the reason."
    )
