"""Results: ratios against the peer, targets, a Markdown table and an SVG chart."""

from __future__ import annotations

import math
from typing import Any

# name -> (devdesk workloads, peer workloads, target). A p95 ratio adds the p95s of
# a side's workloads: the peer's list is a page plus a request for its rows, and a
# person waits for both. devdesk's inbox is also its landing page (the dashboard).
P95_COMPARISONS: dict[str, tuple[list[str], list[str], float]] = {
    "inbox_p95": (["inbox"], ["list_page", "list_rows"], 1 / 20),
    "search_p95": (["search"], ["search_page", "search_rows"], 1 / 50),
    "search_rare_p95": (
        ["search_rare"],
        ["search_rare_page", "search_rare_rows"],
        1 / 50,
    ),
    "dashboard_p95": (["inbox"], ["dashboard"], 1 / 50),
    "ticket_page_p95": (["ticket_page"], ["ticket_page"], 1 / 3),
}
# Ticket creation: devdesk's portal form against the peer's ticket form (both an
# HTML form post answered with a redirect); the API's create is reported beside it.
CREATE_TARGETS = {"postgresql": 2.0, "sqlite": 5.0}
WORKER_RSS_TARGET = 1.2
GROWTH_WORKLOADS = ["inbox", "ticket_page", "api_list"]
GROWTH_TARGET = 2.0


def find_run(
    runs: list[dict[str, Any]], app: str, database: str, tickets: int
) -> dict[str, Any] | None:
    for run in runs:
        if (run["app"], run["database"], run["tickets"]) == (app, database, tickets):
            return run
    return None


def _p95(run: dict[str, Any], names: list[str]) -> float | None:
    endpoints = run["endpoints"]
    if not all(n in endpoints and endpoints[n]["responses"] for n in names):
        return None
    return float(sum(endpoints[n]["p95_ms"] for n in names))


def _value(run: dict[str, Any] | None, name: str, key: str) -> float | None:
    if run is None or name not in run["endpoints"]:
        return None
    value = run["endpoints"][name].get(key)
    return float(value) if value else None


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 4) if a is not None and b else None


def comparison_size(runs: list[dict[str, Any]], preferred: int = 100_000) -> int | None:
    """The ticket count both apps ran at on PostgreSQL: 100k, else the largest."""
    sizes = {
        r["tickets"]
        for r in runs
        if r["app"] == "django-helpdesk" and r["database"] == "postgresql"
    } & {r["tickets"] for r in runs if r["app"] == "devdesk"}
    if not sizes:
        return None
    return preferred if preferred in sizes else max(sizes)


def ratios(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """``ratios_vs_django_helpdesk``: devdesk's figure divided by the peer's."""
    size = comparison_size(runs)
    if size is None:
        return {}
    ours = find_run(runs, "devdesk", "postgresql", size)
    theirs = find_run(runs, "django-helpdesk", "postgresql", size)
    out: dict[str, Any] = {"tickets": size, "database": "postgresql"}
    for key, (mine, peer, _) in P95_COMPARISONS.items():
        out[key] = _ratio(
            _p95(ours, mine) if ours else None, _p95(theirs, peer) if theirs else None
        )
    out["create_throughput"] = _ratio(
        _value(ours, "portal_create", "throughput_rps"),
        _value(theirs, "create", "throughput_rps"),
    )
    out["api_create_throughput"] = _ratio(
        _value(ours, "api_create", "throughput_rps"),
        _value(theirs, "create", "throughput_rps"),
    )
    sqlite_size = max(
        (
            r["tickets"]
            for r in runs
            if r["database"] == "sqlite" and r["app"] == "django-helpdesk"
        ),
        default=None,
    )
    if sqlite_size is not None:
        out["create_throughput_sqlite"] = _ratio(
            _value(
                find_run(runs, "devdesk", "sqlite", sqlite_size),
                "portal_create",
                "throughput_rps",
            ),
            _value(
                find_run(runs, "django-helpdesk", "sqlite", sqlite_size),
                "create",
                "throughput_rps",
            ),
        )
        out["create_throughput_sqlite_tickets"] = sqlite_size
    else:
        out["create_throughput_sqlite"] = None
    out["worker_rss"] = _ratio(
        _value(ours, "ticket_page", "worker_peak_rss_mb"),
        _value(theirs, "ticket_page", "worker_peak_rss_mb"),
    )
    return out


def targets(runs: list[dict[str, Any]], ratio: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target of the issue, its measured value and whether it is met."""
    checks: list[dict[str, Any]] = []
    for key, (_, _, limit) in P95_COMPARISONS.items():
        checks.append(_check(key, ratio.get(key), "<=", limit))
    for vendor, limit in CREATE_TARGETS.items():
        key = "create_throughput" + ("" if vendor == "postgresql" else "_sqlite")
        checks.append(_check(key, ratio.get(key), ">=", limit))
    checks.append(
        _check("worker_rss", ratio.get("worker_rss"), "<=", WORKER_RSS_TARGET)
    )
    sizes = sorted({r["tickets"] for r in runs if r["app"] == "devdesk"})
    if len(sizes) > 1:
        small = find_run(runs, "devdesk", "postgresql", sizes[0])
        large = find_run(runs, "devdesk", "postgresql", sizes[-1])
        for name in GROWTH_WORKLOADS:
            grow = _ratio(_value(large, name, "p95_ms"), _value(small, name, "p95_ms"))
            checks.append(
                _check(
                    f"growth_{name}_p95_{sizes[-1]}_vs_{sizes[0]}",
                    grow,
                    "<=",
                    GROWTH_TARGET,
                )
            )
    return checks


def _check(name: str, value: float | None, op: str, limit: float) -> dict[str, Any]:
    met = None if value is None else (value <= limit if op == "<=" else value >= limit)
    return {"name": name, "value": value, "target": f"{op} {limit:.4g}", "met": met}


def _fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return f"{value:,}"


def markdown(results: dict[str, Any]) -> str:
    runs = results["runs"]
    lines = [
        f"Measured {results['date']} on {results['machine']['description']}, commit "
        f"`{results['commit'][:10]}`; gunicorn with {results['settings']['workers']} "
        f"workers, wrk with {results['settings']['connections']} connections, "
        f"≥{results['settings']['seconds']:g} s per workload. Times in ms; "
        "*db* and *server* are the mean time in the database and in the app per "
        "request (Server-Timing); *RSS* is the peak of a web worker.",
        "",
        "| app | db | tickets | workload | req/s | p50 | p95 | p99 | alone | errors "
        "| queries | db | server | RSS MB |",
        "|---|---|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for run in runs:
        for name, e in run["endpoints"].items():
            lines.append(
                f"| {run['app']} | {run['database']} | {run['tickets']:,} | {name} "
                f"| {_fmt(e['throughput_rps'])} | {_fmt(e['p50_ms'])} "
                f"| {_fmt(e['p95_ms'])} | {_fmt(e['p99_ms'])} | {_fmt(e['alone_ms'])} "
                f"| {e['errors']} | {_fmt(e['queries_per_request'])} "
                f"| {_fmt(e['db_ms_mean'])} | {_fmt(e['server_ms_mean'])} "
                f"| {_fmt(e.get('worker_peak_rss_mb'), 0)} |"
            )
    lines += [
        "",
        "| process | app | db | tickets | peak RSS MB |",
        "|---|---|---|--:|--:|",
    ]
    for run in runs:
        for proc, mb in run.get("processes", {}).items():
            lines.append(
                f"| {proc} | {run['app']} | {run['database']} | {run['tickets']:,} "
                f"| {_fmt(mb, 0)} |"
            )
    ratio = results.get("ratios_vs_django_helpdesk") or {}
    if ratio:
        lines += [
            "",
            f"Against django-helpdesk at {ratio['tickets']:,} tickets on PostgreSQL "
            "(devdesk ÷ django-helpdesk):",
            "",
            "| target | measured | wanted | met |",
            "|---|--:|--:|---|",
        ]
        for check in results.get("targets", []):
            met = {True: "yes", False: "**no**", None: "not measured"}[check["met"]]
            lines.append(
                f"| {check['name']} | {_fmt(check['value'], 4)} | {check['target']} "
                f"| {met} |"
            )
    if results.get("mail"):
        lines += ["", *mail_markdown(results["mail"])]
    return "\n".join(lines) + "\n"


def mail_markdown(mail: dict[str, Any]) -> list[str]:
    """The e-mail intake part: throughput, and the real-mail corpus side by side."""
    parser = mail["parser"]
    lines = [
        f"E-mail intake, {mail['message_bytes'] // 1024} KB messages: the parser alone "
        f"(parse, classify, cut quoted history) {_fmt(parser['messages_per_second'])} "
        "messages/s.",
        "",
        "| delivered over LMTP into | messages | connections | stored/s | processed/s "
        "| errors |",
        "|---|--:|--:|--:|--:|--:|",
    ]
    lines.extend(
        f"| {t['database']} | {t['messages']} | {t['connections']} "
        f"| {_fmt(t['stored_per_second'])} | {_fmt(t['processed_per_second'])} "
        f"| {t['errors']} |"
        for t in mail["throughput"]
    )
    lines += [
        "",
        "The real-mail corpus through each application's own intake:",
        "",
        "| app | db | messages | messages/s | unhandled errors | tickets "
        "| bounces → tickets | automatic answers | … to automatic mail |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for c in mail["corpus"]:
        lines.append(
            f"| {c['app']} | {c['database']} | {c['messages']} "
            f"| {_fmt(c['messages_per_second'])} | {c['unhandled_errors']} "
            f"| {c['tickets_created']} | {c['bounces_turned_into_tickets']} "
            f"| {c['automatic_answers']} | {c['automatic_answers_to_automatic_mail']} |"
        )
    return lines


# The chart: p95 against ticket count, both on log scales.
_W, _H, _L, _R, _T, _B = 760, 420, 70, 190, 30, 50
_COLOURS = [
    "#1f6feb", "#d29922", "#2da44e", "#cf222e", "#8250df",
    "#0a7ea4", "#bf3989", "#6e7781", "#953800", "#116329",
]  # fmt: skip


def svg_chart(results: dict[str, Any], database: str = "postgresql") -> str:
    series: dict[str, list[tuple[int, float]]] = {}
    for run in results["runs"]:
        if run["database"] != database:
            continue
        for name, e in run["endpoints"].items():
            if e["responses"] and e["p95_ms"] > 0:
                label = name if run["app"] == "devdesk" else f"helpdesk {name}"
                series.setdefault(label, []).append((run["tickets"], e["p95_ms"]))
    points = [p for s in series.values() for p in s]
    if not points:
        return _svg(['<text x="20" y="40">No results yet.</text>'])
    xs = [math.log10(x) for x, _ in points]
    ys = [math.log10(y) for _, y in points]
    x0, x1 = min(xs) - 0.1, max(xs) + 0.1
    y0, y1 = math.floor(min(ys)), math.ceil(max(ys))
    if y1 == y0:
        y1 += 1

    def px(x: float) -> float:
        return _L + (math.log10(x) - x0) / (x1 - x0) * (_W - _L - _R)

    def py(y: float) -> float:
        return _H - _B - (math.log10(y) - y0) / (y1 - y0) * (_H - _T - _B)

    parts = [
        f'<text x="{_L}" y="18" font-weight="bold">p95 latency (ms) against tickets '
        f"in the database, {database}, log scales</text>"
    ]
    for decade in range(y0, y1 + 1):
        y = py(10**decade)
        parts.append(
            f'<line x1="{_L}" y1="{y:.1f}" x2="{_W - _R}" y2="{y:.1f}" stroke="#ddd"/>'
            f'<text x="{_L - 6}" y="{y + 4:.1f}" text-anchor="end">{10**decade:g}</text>'
        )
    for size in sorted({x for x, _ in points}):
        x = px(size)
        parts.append(
            f'<line x1="{x:.1f}" y1="{_T}" x2="{x:.1f}" y2="{_H - _B}" stroke="#eee"/>'
            f'<text x="{x:.1f}" y="{_H - _B + 18}" text-anchor="middle">{size:,}</text>'
        )
    for i, (label, pts) in enumerate(sorted(series.items())):
        colour = _COLOURS[i % len(_COLOURS)]
        dash = ' stroke-dasharray="5,4"' if label.startswith("helpdesk") else ""
        coords = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in sorted(pts))
        parts.append(
            f'<polyline points="{coords}" fill="none" stroke="{colour}" '
            f'stroke-width="2"{dash}/>'
        )
        for x, y in pts:
            parts.append(
                f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="3" fill="{colour}"/>'
            )
        ly = _T + 14 * i + 10
        parts.append(
            f'<line x1="{_W - _R + 10}" y1="{ly - 4}" x2="{_W - _R + 30}" '
            f'y2="{ly - 4}" stroke="{colour}" stroke-width="2"{dash}/>'
            f'<text x="{_W - _R + 36}" y="{ly}">{label}</text>'
        )
    return _svg(parts)


def _svg(parts: list[str]) -> str:
    body = "\n".join(parts)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_W}" height="{_H}" '
        f'viewBox="0 0 {_W} {_H}" font-family="sans-serif" font-size="11">\n'
        f'<rect width="100%" height="100%" fill="white"/>\n{body}\n</svg>\n'
    )
