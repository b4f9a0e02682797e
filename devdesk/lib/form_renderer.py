"""Form widgets rendered in Python instead of through templates, with identical HTML.

Django renders every widget, and every ``<option>`` of a select, through a small
template with an ``{% include %}`` for its attributes. On the agent's pages that was
about a third of the time spent building the page (the ticket page's property and
composer selects, the inbox filter bar). The common widgets are rendered here
directly; anything else goes to the templates as before, so a custom widget
template still works.
"""

from __future__ import annotations

from typing import Any

from django.forms.renderers import DjangoTemplates
from django.http import HttpRequest
from django.utils.html import conditional_escape, escape
from django.utils.safestring import SafeData, SafeString, mark_safe

_WIDGETS = "django/forms/widgets/"
# Widgets whose template is nothing but django/forms/widgets/input.html.
_INPUTS = {
    f"{_WIDGETS}{name}.html"
    for name in (
        "input", "text", "email", "hidden", "number", "password", "url", "search",
        "tel", "color", "date", "datetime", "time", "checkbox", "file",
    )
}  # fmt: skip


def _formatted(value: Any) -> str:
    """``{{ value|stringformat:'s' }}``: escaped unless ``value`` was marked safe (the
    filter keeps safety)."""
    text = "%s" % (value,)  # noqa: UP031 - exactly what the filter does
    return text if isinstance(value, SafeData) else escape(text)


def attrs_html(attrs: dict[str, Any]) -> str:
    """What django/forms/widgets/attrs.html makes of ``attrs``."""
    parts = []
    for name, value in attrs.items():
        if value is False:
            continue
        if value is True:
            parts.append(f" {conditional_escape(name)}")
        else:
            parts.append(f' {conditional_escape(name)}="{_formatted(value)}"')
    return "".join(parts)


def input_html(widget: dict[str, Any]) -> str:
    value = widget["value"]
    shown = "" if value is None else f' value="{_formatted(value)}"'
    return (
        f'<input type="{conditional_escape(widget["type"])}" '
        f'name="{conditional_escape(widget["name"])}"{shown}'
        f"{attrs_html(widget['attrs'])}>"
    )


def select_html(widget: dict[str, Any]) -> str:
    out = [f'<select name="{conditional_escape(widget["name"])}"']
    out.append(f"{attrs_html(widget['attrs'])}>")
    for group_name, options, _ in widget["optgroups"]:
        if group_name:
            out.append(f'\n  <optgroup label="{conditional_escape(group_name)}">')
        out.extend(
            f'\n  <option value="{_formatted(option["value"])}"'
            f"{attrs_html(option['attrs'])}>{conditional_escape(option['label'])}"
            "</option>\n"  # the option template's own last line break
            for option in options
        )
        if group_name:
            out.append("\n  </optgroup>")
    out.append("\n</select>")
    return "".join(out)


def textarea_html(widget: dict[str, Any]) -> str:
    value = widget["value"]
    return (
        f'<textarea name="{conditional_escape(widget["name"])}"'
        f"{attrs_html(widget['attrs'])}>\n"
        f"{conditional_escape(value) if value else ''}</textarea>"
    )


class FastFormRenderer(DjangoTemplates):
    """Django's default form renderer, with the common widgets rendered in Python."""

    def render(
        self,
        template_name: str,
        context: dict[str, Any],
        request: HttpRequest | None = None,
    ) -> SafeString:
        widget = context.get("widget")
        if widget is not None and not widget.get("subwidgets"):
            if template_name in _INPUTS:
                return mark_safe(input_html(widget))  # noqa: S308 - escaped above
            if template_name == f"{_WIDGETS}select.html":
                return mark_safe(select_html(widget))  # noqa: S308 - escaped above
            if template_name == f"{_WIDGETS}textarea.html":
                return mark_safe(textarea_html(widget))  # noqa: S308 - escaped above
        return SafeString(super().render(template_name, context, request))
