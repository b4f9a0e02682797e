"""``scripts/bench``: devdesk and django-helpdesk under the same HTTP load, side by side.

For each database (PostgreSQL, SQLite) and ticket count: seed both applications with
the same desk, start each with gunicorn as in production, sign in real users and
drive each workload with wrk from a second process; write
``benchmarks/results/<name>.json``, ``.md`` and ``.svg``. ``--quick`` is the CI
mode: 10k tickets, a few seconds per workload.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.harness import mail, report
from benchmarks.harness.load import LoadShape, measure, probe, wrk_available
from benchmarks.harness.procs import Process, free_port, proc_field, rss_mb
from benchmarks.harness.targets import ROOT, WORK, Devdesk, DjangoHelpdesk

RESULTS = ROOT / "benchmarks" / "results"


def _sizes(text: str) -> list[int]:
    try:
        sizes = [int(s.replace("_", "")) for s in text.split(",") if s.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of numbers: {text!r}") from None
    if not sizes or min(sizes) < 100:
        raise argparse.ArgumentTypeError("ticket counts must be at least 100")
    return sizes


def _names(text: str) -> list[str]:
    return [s.strip() for s in text.split(",") if s.strip()]


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="scripts/bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="CI mode (see above).")
    parser.add_argument(
        "--sizes",
        type=_sizes,
        default=None,
        help="Ticket counts for devdesk (default 10000,100000,1000000).",
    )
    parser.add_argument(
        "--peer-sizes",
        type=_sizes,
        default=None,
        help="Ticket counts at which django-helpdesk runs too (default 10000,100000).",
    )
    parser.add_argument(
        "--databases",
        type=_names,
        default=None,
        help="postgresql and/or sqlite (default postgresql,sqlite).",
    )
    parser.add_argument(
        "--sqlite-sizes",
        type=_sizes,
        default=None,
        help="Ticket counts on SQLite (default 100000).",
    )
    parser.add_argument("--no-peer", action="store_true", help="devdesk alone.")
    parser.add_argument(
        "--mail",
        action="store_true",
        help="Only the e-mail intake part (results named mail by default).",
    )
    parser.add_argument(
        "--mail-messages",
        type=int,
        default=None,
        help="10 KB messages per throughput measurement (2000; 200 in --quick).",
    )
    parser.add_argument(
        "--only", type=_names, default=None, help="Only these workloads."
    )
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (2).")
    parser.add_argument(
        "--connections", type=int, default=4, help="wrk connections (4)."
    )
    parser.add_argument(
        "--seconds", type=float, default=None, help="Seconds per workload (10)."
    )
    parser.add_argument(
        "--keyword",
        default="exception",
        help="The word both apps search for (default 'exception', in ~14%% of tickets).",
    )
    parser.add_argument(
        "--rare-keyword",
        default="deadlock",
        help="A second, specific word both apps search for, as one looks up a "
        "known problem (default 'deadlock', in ~1%% of tickets).",
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="Keep databases this harness seeded before instead of seeding again.",
    )
    parser.add_argument(
        "--name",
        default=None,
        help="Results file name in benchmarks/results (latest; quick in --quick).",
    )
    parser.add_argument(
        "--out", type=Path, default=RESULTS, help="Where results are written."
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes = args.sizes or [10_000]
        args.peer_sizes = args.peer_sizes or [10_000]
        args.databases = args.databases or ["postgresql"]
        args.sqlite_sizes = args.sqlite_sizes or []
        args.seconds = args.seconds or 3.0
        args.name = args.name or "quick"
    args.mail_messages = args.mail_messages or (200 if args.quick else 2000)
    if args.mail:
        args.name = args.name or "mail"
    args.sizes = args.sizes or [10_000, 100_000, 1_000_000]
    args.peer_sizes = [] if args.no_peer else (args.peer_sizes or [10_000, 100_000])
    args.databases = args.databases or ["postgresql", "sqlite"]
    if args.sqlite_sizes is None:
        args.sqlite_sizes = [100_000]
    args.seconds = args.seconds or 10.0
    args.name = args.name or "latest"
    for vendor in args.databases:
        if vendor not in ("postgresql", "sqlite"):
            parser.error(f"--databases: unknown database {vendor!r}")
    return args


def machine() -> dict[str, Any]:
    cpu = proc_field("/proc/cpuinfo", "model name") or ""
    mem_kb = proc_field("/proc/meminfo", "MemTotal:")
    memory = int(mem_kb.split()[0]) / 1024 / 1024 if mem_kb else 0.0
    cores = os.cpu_count() or 0
    return {
        "description": f"{cores} cores ({cpu or platform.machine()}), "
        f"{memory:.0f} GiB, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}",
        "cores": cores,
        "cpu": cpu,
        "memory_gib": round(memory, 1),
        "python": platform.python_version(),
        "postgresql": _postgres_version(),
    }


def _postgres_version() -> str:
    try:
        import psycopg

        with psycopg.connect(
            "postgres://postgres@127.0.0.1:5432/postgres", connect_timeout=5
        ) as conn:
            row = conn.execute("SHOW server_version").fetchone()
            return str(row[0]) if row else ""
    except Exception:  # only informative
        return ""


def commit() -> str:
    done = subprocess.run(
        ["git", "rev-parse", "HEAD"],  # noqa: S607
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"],  # noqa: S607
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")


def bench_target(
    target: Devdesk | DjangoHelpdesk,
    info: dict[str, Any],
    args: argparse.Namespace,
    log_dir: Path,
    seed_seconds: float,
) -> dict[str, Any]:
    """Every workload of one app at one size, each on fresh gunicorn workers."""
    port = free_port()
    server = target.start(port, args.workers)
    sides: dict[str, Process] = {}
    endpoints: dict[str, Any] = {}
    shape = LoadShape(
        connections=args.connections,
        threads=min(2, args.connections),
        seconds=args.seconds,
        max_seconds=max(args.seconds, 30.0 if args.quick else 120.0),
        min_requests=12 if args.quick else 40,
    )
    try:
        server.wait_ready()
        sides = target.side_processes()
        loads = target.workloads(server.base_url, info, args.keyword, args.rare_keyword)
        for name, requests in loads.items():
            if args.only and name not in args.only:
                continue
            server.fresh_workers()
            print(f"  {target.name} {target.db.vendor} {target.db.size:,} {name} …")
            # Warm up: imports, template caches and connections of the new workers.
            probe(server.base_url, requests, args.workers * 2, f"warm-{time.time_ns()}")
            result = measure(
                server.base_url,
                requests,
                shape,
                run_id=f"{name}-{time.time_ns()}",
                workdir=WORK / "wrk",
            )
            result["worker_peak_rss_mb"] = round(server.worker_peak_rss_mb(), 1)
            endpoints[name] = result
            print(
                f"    {result['throughput_rps']} req/s, p95 {result['p95_ms']} ms, "
                f"{result['queries_per_request']} queries, errors {result['errors']}"
                + (f" ({result['first_error'][:120]})" if result["errors"] else "")
            )
        processes = {"web_master": round(server.master_rss_mb(), 1)}
        for side_name, process in sides.items():
            processes[side_name] = round(rss_mb(process.pid, peak=True), 1)
    finally:
        server.stop()
        for process in sides.values():
            process.stop()
    return {
        "app": target.name,
        "database": target.db.vendor,
        "tickets": target.db.size,
        "seed_seconds": round(seed_seconds, 1),
        "info": {k: v for k, v in info.items() if k not in ("api_token", "password")},
        "endpoints": endpoints,
        "processes": processes,
    }


def write_results(results: dict[str, Any], out: Path, name: str) -> None:
    results["ratios_vs_django_helpdesk"] = report.ratios(results["runs"])
    results["targets"] = report.targets(
        results["runs"], results["ratios_vs_django_helpdesk"]
    )
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.json").write_text(json.dumps(results, indent=1) + "\n")
    (out / f"{name}.md").write_text(report.markdown(results))
    (out / f"{name}.svg").write_text(report.svg_chart(results))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if not wrk_available():
        print("wrk is not installed: scripts/bench installs it (Debian package wrk).")
        return 2
    log_dir = WORK / "logs"
    results: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "commit": commit(),
        "mode": "quick" if args.quick else "full",
        "settings": {
            "workers": args.workers,
            "connections": args.connections,
            "seconds": args.seconds,
            "keyword": args.keyword,
            "rare_keyword": args.rare_keyword,
        },
        "runs": [],
    }
    if args.peer_sizes or (args.mail and not args.no_peer):
        print("Setting up django-helpdesk (benchmarks/peers/django-helpdesk) …")
        DjangoHelpdesk.setup(log_dir)
    if args.mail:
        return _mail_only(results, args)
    for vendor in args.databases:
        sizes = args.sizes if vendor == "postgresql" else args.sqlite_sizes
        for size in sizes:
            ours = Devdesk(vendor, size, log_dir)
            print(f"devdesk on {vendor} with {size:,} tickets: seeding …")
            seeded = ours.prepare(reuse=args.reuse)
            info = ours.info()
            peer = None
            if size in args.peer_sizes:
                peer = DjangoHelpdesk(vendor, size, log_dir, ours.source_url())
                print(f"django-helpdesk on {vendor} with {size:,} tickets: seeding …")
                peer_seeded = peer.prepare(reuse=args.reuse)
                peer_info = peer.info(args.keyword, args.rare_keyword)
            results["runs"].append(bench_target(ours, info, args, log_dir, seeded))
            write_results(results, args.out, args.name)
            if peer is not None:
                results["runs"].append(
                    bench_target(peer, peer_info, args, log_dir, peer_seeded)
                )
                write_results(results, args.out, args.name)
    results["mail"] = mail.run(
        databases=args.databases, count=args.mail_messages, peer=bool(args.peer_sizes)
    )
    write_results(results, args.out, args.name)
    print(f"Results in {args.out / args.name}.json, .md and .svg")
    failures = [
        (run["app"], run["database"], run["tickets"], name)
        for run in results["runs"]
        for name, e in run["endpoints"].items()
        if not e["responses"] or e["status_5xx"]
    ]
    for failure in failures:
        print("No answers or server errors:", *failure)
    return 1 if failures else 0


def _mail_only(results: dict[str, Any], args: argparse.Namespace) -> int:
    results["mail"] = mail.run(
        databases=args.databases, count=args.mail_messages, peer=not args.no_peer
    )
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{args.name}.json").write_text(json.dumps(results, indent=1) + "\n")
    (args.out / f"{args.name}.md").write_text(
        "\n".join(report.mail_markdown(results["mail"])) + "\n"
    )
    print(f"Results in {args.out / args.name}.json and .md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
