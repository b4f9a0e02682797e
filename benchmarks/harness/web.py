"""Signing in over HTTP the way a browser does, and small JSON requests."""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar
from typing import Any


def sign_in(
    base_url: str,
    path: str,
    *,
    username_field: str,
    username: str,
    password: str,
) -> dict[str, str]:
    """GET the login page (CSRF cookie), POST the form; the session's cookies."""
    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    with opener.open(base_url + path, timeout=60) as page:
        page.read()
    csrf = _cookie(jar, "csrftoken")
    form = urllib.parse.urlencode(
        {username_field: username, "password": password, "csrfmiddlewaretoken": csrf}
    ).encode()
    request = urllib.request.Request(  # noqa: S310 - loopback
        base_url + path, data=form, headers={"Referer": base_url + path}
    )
    with opener.open(request, timeout=60) as answer:
        answer.read()
    cookies = {c.name: c.value or "" for c in jar}
    if "sessionid" not in cookies:
        raise RuntimeError(f"could not sign in as {username} at {base_url}{path}")
    return cookies


def _cookie(jar: CookieJar, name: str) -> str:
    for cookie in jar:
        if cookie.name == name and cookie.value:
            return cookie.value
    raise RuntimeError(f"no {name} cookie")


def cookie_header(cookies: dict[str, str]) -> str:
    return "; ".join(f"{k}={v}" for k, v in sorted(cookies.items()))


def get_json(url: str, headers: dict[str, str]) -> Any:
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 - loopback
    with urllib.request.urlopen(request, timeout=120) as answer:  # noqa: S310
        return json.loads(answer.read())
