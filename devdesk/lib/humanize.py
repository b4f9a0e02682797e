"""Times and sizes as people read them, shared by templates and pages built in Python."""

from __future__ import annotations

from datetime import datetime, timedelta
from html import escape

from django.utils import timezone
from django.utils.html import avoid_wrapping
from django.utils.safestring import SafeString, mark_safe
from django.utils.timesince import timesince
from django.utils.timezone import localtime
from django.utils.translation import ngettext


def filesize(size: int) -> str:
    for unit in ("B", "KB", "MB"):
        if size < 1024:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024  # type: ignore[assignment]
    return f"{size:.1f} GB"


# Within four weeks no calendar month has passed, and ``timesince`` is plain
# arithmetic on seconds: done here with the same (translated) words, since a page
# of fifty rows spent more on ``timesince``'s lazy strings than on anything else.
_RECENT = timedelta(days=28)
_UNITS = (
    (7 * 86400, "%(num)d week", "%(num)d weeks"),
    (86400, "%(num)d day", "%(num)d days"),
    (3600, "%(num)d hour", "%(num)d hours"),
    (60, "%(num)d minute", "%(num)d minutes"),
)


def ago(moment: datetime | None) -> str:
    """How long ago, in its largest unit only ("3 hours ago", not "3 hours, 12
    minutes ago"): short enough for a table cell; the exact time goes in a title.
    The same words as ``timesince(moment, depth=1)``."""
    if moment is None:
        return ""
    delta = timezone.now() - moment
    if delta < timedelta(minutes=1):
        return "just now"
    if delta < _RECENT:
        seconds = delta.days * 86400 + delta.seconds
        for size, one, many in _UNITS:
            if seconds >= size:
                count = seconds // size
                words = ngettext(one, many, count) % {"num": count}
                return f"{avoid_wrapping(words)} ago"
    return f"{timesince(moment, depth=1)} ago"


def time_ago(
    moment: datetime | None, css_class: str = "", *, said: str | None = None
) -> SafeString:
    """``<time>`` saying how long ago, with the exact local time as its title:
    what ``<time datetime="{{ t|date:'c' }}" title="{{ t|date:'Y-m-d H:i e' }}">
    {{ t|ago }}</time>`` gives, without the date filter's format parser (pages
    with a long history show dozens of these). ``said``: ``ago(moment)`` if the
    caller has it already."""
    if moment is None:
        return SafeString("")
    local = localtime(moment)
    exact = local.strftime("%Y-%m-%d %H:%M ") + (local.tzname() or "")
    css = f' class="{escape(css_class)}"' if css_class else ""
    return mark_safe(  # noqa: S308 - every part is escaped
        f'<time{css} datetime="{escape(local.isoformat())}" title="{escape(exact)}">'
        f"{escape(ago(moment) if said is None else said)}</time>"
    )
