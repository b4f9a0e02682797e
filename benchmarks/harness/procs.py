"""Processes the harness starts: gunicorn servers and workers, and their memory."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def children(pid: int) -> list[int]:
    """Direct children of ``pid`` (gunicorn's workers, for its master)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name is in parentheses and may contain spaces.
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid:
            found.append(int(entry.name))
    return sorted(found)


def proc_field(path: str, key: str) -> str | None:
    """The value after ``key`` on the first line of a /proc file that starts with
    it (``proc_field("/proc/meminfo", "MemTotal:")`` -> ``"24576000 kB"``)."""
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(key):
                return line[len(key) :].strip(" :\t")
    except OSError:
        return None
    return None


def rss_mb(pid: int, *, peak: bool) -> float:
    """Resident memory of ``pid`` in MiB: now (VmRSS) or its peak (VmHWM)."""
    value = proc_field(f"/proc/{pid}/status", "VmHWM:" if peak else "VmRSS:")
    return int(value.split()[0]) / 1024 if value else 0.0


class Process:
    """A child process in its own session, stopped with everything it started."""

    def __init__(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str],
        cwd: Path,
        log: Path,
    ) -> None:
        self.argv = list(argv)
        self.log = log
        log.parent.mkdir(parents=True, exist_ok=True)
        self._log_file = log.open("ab")
        self.popen = subprocess.Popen(  # noqa: S603 - our own commands
            self.argv,
            env=dict(env),
            cwd=cwd,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def stop(self, timeout: float = 10) -> None:
        if self.alive():
            try:
                os.killpg(self.pid, signal.SIGTERM)
                self.popen.wait(timeout)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.pid, signal.SIGKILL)
                self.popen.wait(5)
        self._log_file.close()

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


class Gunicorn(Process):
    """A gunicorn master; :meth:`fresh_workers` replaces its workers (HUP), so each
    workload's memory peak is measured on new processes."""

    def __init__(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str],
        cwd: Path,
        log: Path,
        port: int,
        ready_path: str,
        workers: int,
    ) -> None:
        super().__init__(argv, env=env, cwd=cwd, log=log)
        self.base_url = f"http://127.0.0.1:{port}"
        self.ready_path = ready_path
        self.workers = workers

    def master_pid(self) -> int:
        """gunicorn itself: the process we started, or its only child when a
        wrapper (``devdesk serve``) execs or runs it."""
        kids = children(self.pid)
        if len(kids) == 1 and len(children(kids[0])) >= 1:
            return kids[0]
        return self.pid

    def worker_pids(self) -> list[int]:
        return children(self.master_pid())

    def wait_ready(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError(f"server exited:\n{self.tail()}")
            if len(self.worker_pids()) >= self.workers and self._answers():
                return
            time.sleep(0.2)
        raise RuntimeError(f"server not ready after {timeout:.0f} s:\n{self.tail()}")

    def _answers(self) -> bool:
        try:
            with urllib.request.urlopen(  # noqa: S310 - loopback
                self.base_url + self.ready_path, timeout=10
            ) as answer:
                return bool(answer.status < 500)
        except urllib.error.HTTPError as exc:
            return exc.code < 500
        except OSError:
            return False

    def fresh_workers(self, timeout: float = 120) -> None:
        before = set(self.worker_pids())
        os.kill(self.master_pid(), signal.SIGHUP)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            now = set(self.worker_pids())
            if len(now) >= self.workers and not now & before:
                break
            time.sleep(0.2)
        else:
            raise RuntimeError("gunicorn did not replace its workers")
        self.wait_ready(timeout)

    def worker_peak_rss_mb(self) -> float:
        return max((rss_mb(pid, peak=True) for pid in self.worker_pids()), default=0)

    def master_rss_mb(self) -> float:
        return rss_mb(self.master_pid(), peak=True)
