"""Checking uploaded files before they become attachments.

A file is accepted when its size is within the limit, its extension is on the safe
list, and its content matches what the extension claims (a ``.png`` must be a PNG,
a ``.log`` must be text). Forged types are refused rather than renamed.
"""

from __future__ import annotations

import hashlib
import mimetypes
import unicodedata
from dataclasses import dataclass
from pathlib import PurePath

import filetype
from django.conf import settings

from devdesk.tickets.errors import TicketError

# Extension -> the content family it must contain.
BINARY_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".pdf": "application/pdf",
    ".zip": "application/zip",
    ".gz": "application/gzip",
    ".tgz": "application/gzip",
}
TEXT_EXTENSIONS = {
    ".txt",
    ".log",
    ".md",
    ".json",
    ".yaml",
    ".yml",
    ".toml",
    ".xml",
    ".csv",
    ".har",
    ".ini",
    ".cfg",
    ".conf",
    ".env.example",
    ".py",
    ".js",
    ".mjs",
    ".ts",
    ".tsx",
    ".jsx",
    ".go",
    ".rs",
    ".java",
    ".kt",
    ".rb",
    ".php",
    ".cs",
    ".c",
    ".h",
    ".cpp",
    ".swift",
    ".sh",
    ".sql",
    ".diff",
    ".patch",
    ".html",
    ".css",
    ".proto",
    ".graphql",
    ".tf",
}


@dataclass(frozen=True)
class CheckedUpload:
    filename: str
    content_type: str
    content: bytes
    sha256: str

    @property
    def size_bytes(self) -> int:
        return len(self.content)


def clean_filename(name: str) -> str:
    """A display name without directories, control characters or odd Unicode forms."""
    base = PurePath(name.replace("\\", "/")).name
    base = unicodedata.normalize("NFC", base)
    base = "".join(ch for ch in base if ch.isprintable() and ch not in '<>:"|?*')
    return base.strip(" .")[:200] or "attachment"


def check_upload(name: str, content: bytes) -> CheckedUpload:
    """Validate one upload; raises :class:`TicketError` with a clear reason."""
    filename = clean_filename(name)
    max_bytes = settings.ATTACHMENT_MAX_MIB * 1024 * 1024
    if not content:
        raise TicketError("attachment_empty", f"{filename} is empty.")
    if len(content) > max_bytes:
        raise TicketError(
            "attachment_too_large",
            f"{filename} is larger than the {settings.ATTACHMENT_MAX_MIB} MiB limit.",
        )
    suffix = PurePath(filename).suffix.lower()
    sniffed = filetype.guess_mime(content)
    if suffix in BINARY_TYPES:
        expected = BINARY_TYPES[suffix]
        if sniffed != expected:
            raise TicketError(
                "attachment_type_mismatch",
                f"{filename} does not contain what its name says ({expected}).",
            )
        content_type = expected
    elif suffix in TEXT_EXTENSIONS:
        if sniffed is not None or b"\x00" in content[:8192]:
            raise TicketError(
                "attachment_type_mismatch", f"{filename} should be text but is binary."
            )
        content_type = mimetypes.guess_type(filename)[0] or "text/plain"
        if not content_type.startswith("text/"):
            content_type = "text/plain"
    else:
        raise TicketError(
            "attachment_type_not_allowed",
            f"Files like {filename} are not accepted. Send logs, code, text, images, "
            "PDF or zip/gzip archives.",
        )
    return CheckedUpload(
        filename=filename,
        content_type=content_type,
        content=content,
        sha256=hashlib.sha256(content).hexdigest(),
    )


def check_uploads(files: list[tuple[str, bytes]]) -> list[CheckedUpload]:
    if len(files) > settings.ATTACHMENTS_PER_MESSAGE:
        raise TicketError(
            "too_many_attachments",
            f"At most {settings.ATTACHMENTS_PER_MESSAGE} attachments per message.",
        )
    return [check_upload(name, content) for name, content in files]
