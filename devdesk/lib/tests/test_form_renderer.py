"""The Python widget renderer must give byte-for-byte what Django's templates give."""

from __future__ import annotations

import pytest
from django import forms
from django.forms.renderers import DjangoTemplates
from django.utils.safestring import mark_safe

from devdesk.lib.form_renderer import FastFormRenderer

HOSTILE = '"><script>alert(1)</script>&amp;'


class EveryWidget(forms.Form):
    text = forms.CharField(widget=forms.TextInput(attrs={"placeholder": HOSTILE}))
    email = forms.EmailField()
    hidden = forms.CharField(widget=forms.HiddenInput)
    number = forms.IntegerField(required=False)
    password = forms.CharField(widget=forms.PasswordInput(render_value=True))
    url = forms.URLField(required=False, assume_scheme="https")
    search = forms.CharField(widget=forms.TextInput(attrs={"type": "search"}))
    date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    ticked = forms.BooleanField(required=False)
    upload = forms.FileField(required=False)
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}))
    choice = forms.ChoiceField(
        choices=[("", "Any"), ("a", "A & B"), (HOSTILE, HOSTILE), ("z", "Zed")]
    )
    grouped = forms.ChoiceField(
        choices=[("Fruit", [("apple", "Apple"), ("pear", "Pear")]), ("x", "Other")]
    )
    several = forms.MultipleChoiceField(choices=[(1, "One"), (2, "Two"), (3, "Three")])
    numbers = forms.TypedChoiceField(
        coerce=int, choices=[(1, "Low"), (2, "Normal")], required=False
    )
    split = forms.SplitDateTimeField(required=False)  # a multi-widget: templates


DATA = {
    "text": HOSTILE,
    "email": "a@example.com",
    "hidden": HOSTILE,
    "number": "7",
    "password": "s3cret<",
    "search": "",
    "date": "2026-11-23",
    "ticked": "on",
    "body": "line one\n<b>two</b> & three",
    "choice": HOSTILE,
    "grouped": "pear",
    "several": ["1", "3"],
    "numbers": "2",
}


@pytest.mark.parametrize(
    ("data", "initial"),
    [
        (None, None),
        (DATA, None),
        (None, {"body": mark_safe("<i>safe</i>"), "text": mark_safe("<i>x</i>")}),
        ({"choice": "nope", "several": ["9"]}, None),
    ],
    ids=["empty", "bound", "safe-initial", "invalid"],
)
def test_every_widget_renders_exactly_as_the_templates_do(data, initial):
    slow = EveryWidget(data=data, initial=initial, renderer=DjangoTemplates())
    fast = EveryWidget(data=data, initial=initial, renderer=FastFormRenderer())

    for name in EveryWidget.base_fields:
        assert str(fast[name]) == str(slow[name]), name


def test_the_desk_uses_it(settings):
    assert settings.FORM_RENDERER == "devdesk.lib.form_renderer.FastFormRenderer"
