"""Reading a raw message with the standard library's modern e-mail policy, leniently.

Real mail breaks rules: headers that don't parse, charsets nobody registered,
missing parts, HTML only. :func:`parse` never trusts one header or part to be well
formed: what cannot be read is read the old way (raw header text, bytes decoded
with a fallback charset) or left out, and only a message with nothing usable in it
raises :class:`Unparseable`.
"""

from __future__ import annotations

import email
import email.header
import email.utils
import re
from dataclasses import dataclass, field
from datetime import datetime
from email import policy
from email.message import EmailMessage, Message

import nh3
from markdownify import markdownify

# Message-IDs in In-Reply-To / References: <...>, or bare ones some clients send.
ANGLE_ID_RE = re.compile(r"<([^<>\s]+)>")
MAX_HEADER_CHARS = 998
ADDRESS_RE = re.compile(r"[\w.+'=-]+@[\w-]+(?:\.[\w-]+)+")
BOUNDARY_LINE_RE = re.compile(r"^--(\S+?)(?:--)?[ \t]*\r?$", re.MULTILINE)
FROM_LINE_RE = re.compile(r"^From:[ \t]*(.+)$", re.MULTILINE | re.IGNORECASE)
FALLBACK_CHARSETS = ("utf-8", "windows-1252")


class Unparseable(Exception):
    """The message holds nothing a ticket can be made of; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class MailPart:
    """An attachment or an inline image."""

    filename: str
    content_type: str
    content: bytes
    content_id: str = ""
    inline: bool = False


@dataclass
class ParsedMail:
    message: Message
    message_id: str
    subject: str
    from_name: str
    from_address: str
    in_reply_to: list[str]
    references: list[str]
    text: str  # the body as text (HTML-only mail turned into Markdown)
    html: str  # the HTML body where there was one
    attachments: list[MailPart] = field(default_factory=list)
    # Each header's first value as it arrived (unfolded, not decoded): enough for
    # the signals classification reads, and far cheaper than parsing each one.
    raw_headers: dict[str, str] = field(default_factory=dict)

    def header(self, name: str) -> str:
        return self.raw_headers.get(name.lower(), "")

    # Read on demand: processing needs none of these, and each parsed header costs.
    @property
    def reply_to(self) -> str:
        return _address(self.message, "Reply-To")[1]

    @property
    def to(self) -> list[str]:
        return _addresses(self.message, "To")

    @property
    def cc(self) -> list[str]:
        return _addresses(self.message, "Cc")

    @property
    def date(self) -> datetime | None:
        return _date(self.raw_headers.get("date", ""))

    @property
    def thread_ids(self) -> list[str]:
        """Every Message-ID this message answers, nearest first."""
        seen: dict[str, None] = {}
        for mid in [*self.in_reply_to, *reversed(self.references)]:
            seen.setdefault(mid, None)
        return list(seen)


def parse(raw: bytes) -> ParsedMail:
    if not raw.strip():
        raise Unparseable("The message is empty.")
    first = email.message_from_bytes(raw, policy=policy.default)
    if not list(first.keys()):
        raise Unparseable("The message has no header lines: it is not an e-mail.")
    message = _with_real_boundary(first, raw)
    raw_headers = _raw_headers(message)
    from_name, from_address = _address(message, "From")
    if not from_address:
        from_name, from_address = _address(message, "Sender")
    if not from_address:
        from_address = _salvaged_from(raw_headers.get("from", ""), raw)
    if not from_address:
        _, from_address = _address(message, "Return-Path")
    text, html = _body(message)
    return ParsedMail(
        message=message,
        message_id=(message_ids(raw_headers.get("message-id", "")) or [""])[0],
        subject=_one_line(header_text(message, "Subject")),
        from_name=from_name,
        from_address=from_address,
        in_reply_to=message_ids(raw_headers.get("in-reply-to", "")),
        references=message_ids(raw_headers.get("references", "")),
        text=text,
        html=html,
        attachments=_attachments(message),
        raw_headers=raw_headers,
    )


def _raw_headers(message: Message) -> dict[str, str]:
    found: dict[str, str] = {}
    for name, value in message.raw_items():
        found.setdefault(name.lower(), " ".join(str(value).split()))
    return found


def _with_real_boundary(message: Message, raw: bytes) -> Message:
    """A multipart message whose parts are delimited by another boundary than the
    one its header declares, parsed again with the boundary actually used."""
    payload = message.get_payload()
    if message.get_content_maintype() != "multipart" or not isinstance(payload, str):
        return message
    used = BOUNDARY_LINE_RE.search(payload)
    declared = message.get_boundary()
    if used is None or not declared or declared == used.group(1):
        return message
    fixed = raw.replace(declared.encode(), used.group(1).encode(), 1)
    return email.message_from_bytes(fixed, policy=policy.default)


def header_text(message: Message, name: str) -> str:
    """A header's decoded value, or its raw text where it does not parse."""
    try:
        value = message.get(name)
        return "" if value is None else str(value)
    except Exception:
        raw = next((v for k, v in message.raw_items() if k.lower() == name.lower()), "")
        return _decode_words(str(raw))


def _decode_words(raw: str) -> str:
    try:
        return str(email.header.make_header(email.header.decode_header(raw)))
    except Exception:
        return raw


def message_ids(value: str) -> list[str]:
    """The Message-IDs in a header, without angle brackets; bare ones too."""
    found = ANGLE_ID_RE.findall(value)
    if not found:
        found = [w.strip("<>") for w in value.split() if "@" in w]
    return [mid[:MAX_HEADER_CHARS] for mid in found]


def _one_line(text: str) -> str:
    return " ".join(text.split())[:MAX_HEADER_CHARS]


def _address(message: Message, name: str) -> tuple[str, str]:
    pairs = _address_pairs(message, name)
    return pairs[0] if pairs else ("", "")


def _addresses(message: Message, name: str) -> list[str]:
    return [address for _, address in _address_pairs(message, name)]


def _address_pairs(message: Message, name: str) -> list[tuple[str, str]]:
    text = header_text(message, name)
    if not text:
        return []
    pairs = email.utils.getaddresses([text])
    return [
        (_one_line(display)[:150], address.strip().lower()[:320])
        for display, address in pairs
        if "@" in address and " " not in address.strip()
    ]


def _salvaged_from(text: str, raw: bytes) -> str:
    """An address from a From header (as it arrived) that does not parse (``Big Bug
    bb@bug.com``), or that a broken line before it pushed out of the header block."""
    if not text:
        head = raw.replace(b"\r\n", b"\n").split(b"\n\n", 1)[0]
        found = FROM_LINE_RE.search(head.decode("utf-8", "replace"))
        text = found.group(1) if found else ""
    match = ADDRESS_RE.search(text)
    return match.group(0).lower()[:320] if match else ""


def _date(value: str) -> datetime | None:
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return parsed if parsed.tzinfo else None


def part_text(part: Message) -> str:
    """A text part's content, whatever its declared charset and encoding say."""
    if isinstance(part, EmailMessage):
        try:
            content = part.get_content()
            if isinstance(content, str):
                return content
        except Exception:  # noqa: S110 - decoded by hand below
            pass
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        payload = str(part.get_payload()).encode("utf-8", "replace")
    charset = part.get_content_charset() or "utf-8"
    for candidate in (charset, *FALLBACK_CHARSETS):
        try:
            return payload.decode(candidate)
        except (LookupError, UnicodeDecodeError):
            continue
    return payload.decode("utf-8", "replace")


def _body(message: Message) -> tuple[str, str]:
    """The plain text and HTML bodies; HTML-only mail gets Markdown as its text."""
    plain = html = ""
    if isinstance(message, EmailMessage):
        try:
            plain_part = message.get_body(preferencelist=("plain",))
            html_part = message.get_body(preferencelist=("html",))
        except Exception:
            plain_part = html_part = None
        if plain_part is not None:
            plain = part_text(plain_part)
        if html_part is not None:
            html = part_text(html_part)
    if not plain and not html:
        for part in message.walk():
            if part.is_multipart() or _is_attachment(part):
                continue
            if part.get_content_type() == "text/plain" and not plain:
                plain = part_text(part)
            elif part.get_content_type() == "text/html" and not html:
                html = part_text(part)
    text = plain if plain.strip() else html_to_text(html)
    return _clean_text(text), html


def html_to_text(html: str) -> str:
    """HTML mail as Markdown: sanitized first, so scripts and styles are gone."""
    if not html.strip():
        return ""
    safe = nh3.clean(html, tags=nh3.ALLOWED_TAGS - {"img"})
    return markdownify(safe, heading_style="ATX", bullets="-").strip()


def _clean_text(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip()


def _is_attachment(part: Message) -> bool:
    if part.is_multipart():
        return False
    disposition = (part.get("Content-Disposition") or "").split(";")[0].strip().lower()
    if disposition == "attachment":
        return True
    if part.get_filename():
        return True
    maintype = part.get_content_maintype()
    return maintype not in {"text", "multipart"} and part.get_content_type() != (
        "message/delivery-status"
    )


def _attachments(message: Message) -> list[MailPart]:
    parts: list[MailPart] = []
    if not message.is_multipart():
        return parts
    for index, part in enumerate(message.walk()):
        if part is message or not _is_attachment(part):
            continue
        if part.get_content_type() == "message/rfc822":
            inner = part.get_payload()
            content = part.as_bytes()
            if isinstance(inner, list) and inner and isinstance(inner[0], Message):
                content = inner[0].as_bytes()
        else:
            payload = part.get_payload(decode=True)
            content = payload if isinstance(payload, bytes) else b""
        if not content:
            continue
        try:
            filename = part.get_filename() or ""
        except Exception:
            filename = ""
        content_id = header_text(part, "Content-ID").strip().strip("<>")
        parts.append(
            MailPart(
                filename=_one_line(filename) or _default_name(part, index),
                content_type=part.get_content_type(),
                content=content,
                content_id=content_id[:200],
                inline=bool(content_id)
                or (part.get("Content-Disposition") or "").lower().startswith("inline"),
            )
        )
    return parts


def _default_name(part: Message, index: int) -> str:
    extension = {
        "message/rfc822": ".eml",
        "text/plain": ".txt",
        "text/html": ".html",
        "image/png": ".png",
        "image/jpeg": ".jpg",
        "image/gif": ".gif",
        "application/pdf": ".pdf",
    }.get(part.get_content_type(), ".bin")
    return f"part-{index}{extension}"
