"""The search box, as agents and customers type into it."""

from __future__ import annotations

from typing import Any

from django import forms

# What the box understands (devdesk.search.query), said where the box is.
SYNTAX = '"exact phrase", -leave-out, this OR that'


class SearchField(forms.CharField):
    """A search box: up to 200 characters; ``what`` says what it searches (shown
    with the syntax as the box's title)."""

    def __init__(self, *, placeholder: str, what: str, **attrs: Any) -> None:
        super().__init__(
            required=False,
            max_length=200,
            label="Search",
            widget=forms.TextInput(
                attrs={
                    "type": "search",
                    "placeholder": placeholder,
                    "title": f"{what}. {SYNTAX}",
                    **attrs,
                }
            ),
        )
