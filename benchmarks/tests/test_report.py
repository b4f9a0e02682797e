"""The harness's arithmetic: ratios against the peer, targets, tables and charts."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from benchmarks.harness import report
from benchmarks.harness.load import Request, summarize, write_requests


def endpoint(p95, *, rps=10.0, rss=100.0, responses=50):
    return {
        "requests": responses,
        "seconds": 5.0,
        "throughput_rps": rps,
        "p50_ms": p95 / 2,
        "p95_ms": p95,
        "p99_ms": p95 * 1.2,
        "max_ms": p95 * 1.5,
        "alone_ms": p95 / 3,
        "errors": 0,
        "status_4xx": 0,
        "status_5xx": 0,
        "first_error": "",
        "queries_per_request": 12.0,
        "db_ms_mean": 2.0,
        "server_ms_mean": 10.0,
        "responses": responses,
        "worker_peak_rss_mb": rss,
    }


def run(app, tickets, endpoints, database="postgresql"):
    return {
        "app": app,
        "database": database,
        "tickets": tickets,
        "endpoints": endpoints,
        "processes": {"web_master": 30.0},
    }


def desk(tickets, database="postgresql", **over):
    names = ["inbox", "search", "ticket_page", "api_list"]
    endpoints = {n: endpoint(over.get(n, 20.0)) for n in names}
    endpoints["portal_create"] = endpoint(50.0, rps=over.get("create_rps", 100.0))
    endpoints["api_create"] = endpoint(30.0, rps=150.0)
    endpoints["ticket_page"]["worker_peak_rss_mb"] = over.get("rss", 110.0)
    return run("devdesk", tickets, endpoints, database)


def peer(tickets, database="postgresql", create_rps=40.0):
    endpoints = {
        "list_page": endpoint(100.0),
        "list_rows": endpoint(1900.0),
        "search_page": endpoint(100.0),
        "search_rows": endpoint(16000.0),
        "dashboard": endpoint(12000.0),
        "ticket_page": endpoint(240.0, rss=100.0),
        "create": endpoint(80.0, rps=create_rps),
    }
    return run("django-helpdesk", tickets, endpoints, database)


def test_ratios_add_the_peer_list_page_and_its_rows_request():
    runs = [desk(100_000), peer(100_000)]

    ratios = report.ratios(runs)

    assert ratios["tickets"] == 100_000
    assert ratios["inbox_p95"] == round(20.0 / (100.0 + 1900.0), 4)
    assert ratios["search_p95"] == round(20.0 / (100.0 + 16000.0), 4)
    assert ratios["dashboard_p95"] == round(20.0 / 12000.0, 4)
    assert ratios["ticket_page_p95"] == round(20.0 / 240.0, 4)
    assert ratios["create_throughput"] == 2.5
    assert ratios["worker_rss"] == 1.1
    assert ratios["create_throughput_sqlite"] is None


def test_ratios_prefer_100k_and_take_sqlite_create_from_the_sqlite_runs():
    runs = [
        desk(10_000, inbox=5.0),
        peer(10_000),
        desk(100_000, inbox=20.0),
        peer(100_000),
        desk(100_000, "sqlite", create_rps=60.0),
        peer(100_000, "sqlite", create_rps=10.0),
    ]

    ratios = report.ratios(runs)

    assert ratios["tickets"] == 100_000
    assert ratios["inbox_p95"] == round(20.0 / 2000.0, 4)
    assert ratios["create_throughput_sqlite"] == 6.0


def test_targets_say_which_are_missed_and_what_was_not_measured():
    runs = [desk(10_000), desk(1_000_000, inbox=60.0), peer(10_000)]
    ratios = report.ratios(runs)

    checks = {c["name"]: c for c in report.targets(runs, ratios)}

    assert checks["ticket_page_p95"]["met"] is True
    assert checks["create_throughput_sqlite"]["met"] is None
    assert checks["growth_inbox_p95_1000000_vs_10000"]["value"] == 3.0
    assert checks["growth_inbox_p95_1000000_vs_10000"]["met"] is False
    assert checks["growth_ticket_page_p95_1000000_vs_10000"]["met"] is True


def test_no_peer_no_ratios():
    assert report.ratios([desk(10_000)]) == {}


def test_markdown_and_svg_show_every_run():
    results = {
        "date": "2026-11-23T00:00:00+00:00",
        "machine": {"description": "2 cores"},
        "commit": "0123456789abcdef",
        "settings": {"workers": 2, "connections": 4, "seconds": 10.0},
        "runs": [desk(10_000), desk(100_000), peer(100_000)],
    }
    results["ratios_vs_django_helpdesk"] = report.ratios(results["runs"])
    results["targets"] = report.targets(
        results["runs"], results["ratios_vs_django_helpdesk"]
    )

    table = report.markdown(results)
    svg = report.svg_chart(results)

    assert "| devdesk | postgresql | 100,000 | inbox |" in table
    assert "| django-helpdesk | postgresql | 100,000 | list_rows |" in table
    assert "| inbox_p95 | 0.0100 | <= 0.05 | yes |" in table
    root = ET.fromstring(svg)  # noqa: S314 - our own output; checks it is well-formed
    labels = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert "inbox" in labels
    assert "helpdesk list_rows" in labels
    assert "100,000" in labels


def test_requests_file_survives_brackets_and_quotes(tmp_path):
    path = tmp_path / "r.lua"
    write_requests(
        [Request("POST", "/x?a=[[b]]", {"Cookie": "a=]"}, '{"s": "]=]"}')], path
    )

    text = path.read_text()

    assert text.startswith("return {")
    assert "path = [=[/x?a=[[b]]]=]" in text
    assert "[ [[Cookie]] ] = [=[a=]]=]" in text
    assert 'body = [[{"s": "]=]"}]]' in text


def test_summarize_turns_wrk_counts_into_rates_and_means():
    raw = {
        "requests": 200,
        "duration_us": 4_000_000,
        "errors_connect": 0,
        "errors_read": 1,
        "errors_write": 0,
        "errors_status": 2,
        "errors_timeout": 0,
        "latency_min_us": 1000,
        "latency_mean_us": 5000,
        "latency_max_us": 90000,
        "p50_us": 4000,
        "p95_us": 20000,
        "p99_us": 50000,
        "first_error": "503 busy",
        "count": 200,
        "timed": 100,
        "db_ms": 300.0,
        "total_ms": 1500.0,
        "queries": 1200,
        "status_2xx": 198,
        "status_3xx": 0,
        "status_4xx": 0,
        "status_5xx": 2,
    }

    out = summarize(raw, alone_ms=3.0)

    assert out["throughput_rps"] == 50.0
    assert out["p95_ms"] == 20.0
    assert out["errors"] == 3
    assert out["queries_per_request"] == 12.0
    assert out["db_ms_mean"] == 3.0
    assert out["server_ms_mean"] == 15.0


def test_the_mail_table_has_a_row_per_database_and_per_app():
    corpus = {
        "messages": 362,
        "messages_per_second": 50.0,
        "unhandled_errors": 0,
        "tickets_created": 190,
        "bounces_turned_into_tickets": 1,
        "automatic_answers": 180,
        "automatic_answers_to_automatic_mail": 0,
    }
    mail = {
        "message_bytes": 10240,
        "parser": {"messages_per_second": 250.0},
        "throughput": [
            {
                "database": "sqlite",
                "messages": 100,
                "connections": 4,
                "stored_per_second": 120.0,
                "processed_per_second": 50.0,
                "errors": 0,
            }
        ],
        "corpus": [
            {"app": "devdesk", "database": "sqlite", **corpus},
            {
                "app": "django-helpdesk",
                "database": "sqlite",
                **corpus,
                "unhandled_errors": 8,
                "automatic_answers_to_automatic_mail": 67,
            },
        ],
    }

    lines = report.mail_markdown(mail)

    assert "10 KB messages" in lines[0]
    assert "| sqlite | 100 | 4 | 120.0 | 50.0 | 0 |" in lines
    assert "| devdesk | sqlite | 362 | 50.0 | 0 | 190 | 1 | 180 | 0 |" in lines
    assert "| django-helpdesk | sqlite | 362 | 50.0 | 8 | 190 | 1 | 180 | 67 |" in lines
