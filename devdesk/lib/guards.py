"""View guards: who may open a page at all, before the view looks anything up."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse

View = TypeVar("View", bound=Callable[..., HttpResponse])


def signed_in_and(allowed: Callable[[Any], bool]) -> Callable[[View], View]:
    """Anonymous visitors are sent to sign in; signed-in people for whom
    ``allowed(user)`` is false get 404, so a page's existence is not revealed."""

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not allowed(request.user):
                raise Http404("No such page")
            return view(request, *args, **kwargs)

        return cast(View, wrapper)

    return decorator
