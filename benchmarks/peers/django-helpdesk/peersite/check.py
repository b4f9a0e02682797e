"""``peer check``: sign in to a running peer and send each workload's requests once.

Prints status, size and Server-Timing per request, and checks that the rows
requests in ``peer info`` are the ones the list and search pages themselves
point DataTables at. Exits 1 if any request fails.
"""

from __future__ import annotations

import html
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar
from typing import Any, TextIO

ROWS_URL = re.compile(r'"url": "(/datatables_ticket_list/[^"?]+)"')


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # report a redirect instead of following it


def check(base_url: str, info: dict[str, Any], out: TextIO) -> bool:
    jar = CookieJar()
    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(jar), _NoRedirect()
    )
    login = info["login"]
    _send(opener, base_url, "GET", login["path"], None)
    form = {
        login["username_field"]: login["username"],
        "password": login["password"],
        "csrfmiddlewaretoken": _cookie(jar, "csrftoken"),
    }
    status, _body, _timing, _ = _send(opener, base_url, "POST", login["path"], form)
    if status != 302 or not any(c.name == "sessionid" for c in jar):
        out.write(f"sign-in as {login['username']} failed ({status})\n")
        return False
    ok = True
    pages: dict[str, str] = {}
    for name, requests in info["workloads"].items():
        for request in requests:
            form = dict(request.get("form") or {})
            if request["method"] == "POST":
                form["csrfmiddlewaretoken"] = _cookie(jar, "csrftoken")
                form["title"] = f"{form.get('title', 'Benchmark')} {time.time_ns()}"
            started = time.perf_counter()
            status, body, timing, location = _send(
                opener, base_url, request["method"], request["path"], form or None
            )
            ms = (time.perf_counter() - started) * 1000
            expected = 302 if request["method"] == "POST" else 200
            good = status == expected
            ok &= good
            where = f" -> {location}" if location else ""
            out.write(
                f"{'ok ' if good else 'BAD'} {name:12} {status} {len(body):>8,} B "
                f"{ms:8.0f} ms  {timing}{where}\n"
            )
            pages[name] = body.decode("utf-8", "replace")
    for page, rows in (("list_page", "list_rows"), ("search_page", "search_rows")):
        found = ROWS_URL.search(pages.get(page, ""))
        expected_path = info["workloads"][rows][0]["path"].split("?")[0]
        same = found is not None and html.unescape(found.group(1)) == expected_path
        ok &= same
        out.write(
            f"{'ok ' if same else 'BAD'} {rows} is the request {page} makes"
            f"{'' if same else f': page has {found.group(1) if found else None}'}\n"
        )
    return ok


def _send(
    opener: urllib.request.OpenerDirector,
    base_url: str,
    method: str,
    path: str,
    form: dict[str, str] | None,
) -> tuple[int, bytes, str, str]:
    data = urllib.parse.urlencode(form).encode() if form is not None else None
    request = urllib.request.Request(  # noqa: S310 - the peer on loopback
        base_url + path,
        data=data,
        method=method,
        headers={"Referer": base_url + path},
    )
    try:
        with opener.open(request, timeout=600) as answer:
            return (
                answer.status,
                answer.read(),
                answer.headers.get("Server-Timing", ""),
                "",
            )
    except urllib.error.HTTPError as answer:
        return (
            answer.code,
            answer.read(),
            answer.headers.get("Server-Timing", ""),
            answer.headers.get("Location", ""),
        )


def _cookie(jar: CookieJar, name: str) -> str:
    for cookie in jar:
        if cookie.name == name and cookie.value:
            return cookie.value
    raise RuntimeError(f"no {name} cookie from the login page")
