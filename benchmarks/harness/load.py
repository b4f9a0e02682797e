"""Driving HTTP load with wrk from a second process, bounded in requests and time."""

from __future__ import annotations

import http.client
import json
import math
import shutil
import statistics
import subprocess
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

WRK_SCRIPT = Path(__file__).with_name("wrk.lua")


@dataclass(frozen=True)
class Request:
    """One request of a workload; ``{uid}`` in headers or body is made unique."""

    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    body: str | None = None


@dataclass(frozen=True)
class LoadShape:
    connections: int = 4
    threads: int = 2
    seconds: float = 10.0  # at least this long...
    max_seconds: float = 120.0  # ...longer for slow pages, to get min_requests
    min_requests: int = 40
    timeout_seconds: int = 120


def _lua_string(text: str) -> str:
    # A long bracket [==[...]==] whose closing does not occur in the text (nor
    # across its last character).
    level = 0
    while f"]{'=' * level}]" in text + "]":
        level += 1
    eq = "=" * level
    return f"[{eq}[{text}]{eq}]"


def write_requests(requests: list[Request], path: Path) -> None:
    lines = ["return {"]
    for r in requests:
        headers = ", ".join(
            f"[ {_lua_string(k)} ] = {_lua_string(v)}" for k, v in r.headers.items()
        )
        body = _lua_string(r.body) if r.body is not None else "nil"
        lines.append(
            f"  {{method = {_lua_string(r.method)}, path = {_lua_string(r.path)}, "
            f"headers = {{{headers}}}, body = {body}}},"
        )
    lines.append("}")
    path.write_text("\n".join(lines) + "\n")


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


def run_wrk(
    base_url: str,
    requests: list[Request],
    *,
    connections: int,
    threads: int,
    seconds: float,
    timeout_seconds: int,
    run_id: str,
    workdir: Path,
) -> dict[str, Any]:
    """One wrk run; wrk's own summary plus the Server-Timing sums (see wrk.lua)."""
    workdir.mkdir(parents=True, exist_ok=True)
    request_file = workdir / f"requests-{run_id}.lua"
    write_requests(requests, request_file)
    threads = max(1, min(threads, connections))
    argv = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, math.ceil(seconds))}s",
        f"--timeout={timeout_seconds}s",
        "-s",
        str(WRK_SCRIPT),
        base_url,
        "--",
        str(request_file),
        run_id,
    ]
    done = subprocess.run(  # noqa: S603 - fixed argv
        argv, capture_output=True, text=True, check=False, timeout=seconds + 300
    )
    for line in done.stdout.splitlines():
        if line.startswith("WRK_JSON "):
            result: dict[str, Any] = json.loads(line.removeprefix("WRK_JSON "))
            return result
    raise RuntimeError(f"wrk gave no result:\n{done.stdout}\n{done.stderr}")


def probe(base_url: str, requests: list[Request], count: int, run_id: str) -> float:
    """Send ``count`` requests one after another (no other load); the median
    latency in ms. Also warms up imports, caches and connections."""
    parsed = urllib.parse.urlsplit(base_url)
    timings = []
    for i in range(count):
        r = requests[i % len(requests)]
        uid = f"{run_id}-probe-{i}"
        body = r.body.replace("{uid}", uid).encode() if r.body is not None else None
        headers = {k: v.replace("{uid}", uid) for k, v in r.headers.items()}
        conn = http.client.HTTPConnection(
            parsed.hostname or "127.0.0.1", parsed.port, timeout=300
        )
        started = time.perf_counter()
        try:
            conn.request(r.method, r.path, body=body, headers=headers)
            answer = conn.getresponse()
            answer.read()
        finally:
            conn.close()
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def measure(
    base_url: str,
    requests: list[Request],
    shape: LoadShape,
    *,
    run_id: str,
    workdir: Path,
) -> dict[str, Any]:
    """Alone first (a few requests one at a time), then under load for long enough
    to collect about ``min_requests``; the figures the results table shows."""
    alone_ms = probe(base_url, requests, 3, run_id)
    needed = alone_ms / 1000 * shape.min_requests / shape.connections * 1.5
    seconds = min(max(shape.seconds, needed), shape.max_seconds)
    loaded = run_wrk(
        base_url,
        requests,
        connections=shape.connections,
        threads=shape.threads,
        seconds=seconds,
        timeout_seconds=shape.timeout_seconds,
        run_id=run_id,
        workdir=workdir,
    )
    return summarize(loaded, alone_ms=alone_ms)


def summarize(raw: dict[str, Any], *, alone_ms: float) -> dict[str, Any]:
    seconds = raw["duration_us"] / 1e6
    count = raw["count"] or 1
    timed = raw["timed"] or 0
    errors = (
        raw["errors_connect"]
        + raw["errors_read"]
        + raw["errors_write"]
        + raw["errors_status"]
        + raw["errors_timeout"]
    )
    return {
        "requests": raw["requests"],
        "seconds": round(seconds, 2),
        "throughput_rps": round(raw["requests"] / seconds, 2) if seconds else 0.0,
        "p50_ms": round(raw["p50_us"] / 1000, 2),
        "p95_ms": round(raw["p95_us"] / 1000, 2),
        "p99_ms": round(raw["p99_us"] / 1000, 2),
        "max_ms": round(raw["latency_max_us"] / 1000, 2),
        "alone_ms": round(alone_ms, 2),
        "errors": errors,
        "status_4xx": raw["status_4xx"],
        "status_5xx": raw["status_5xx"],
        "first_error": raw["first_error"][:300],
        "queries_per_request": round(raw["queries"] / timed, 1) if timed else None,
        "db_ms_mean": round(raw["db_ms"] / timed, 2) if timed else None,
        "server_ms_mean": round(raw["total_ms"] / timed, 2) if timed else None,
        "responses": count,
    }
