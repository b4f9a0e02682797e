"""A real IMAP server for the poller tests: Debian's Dovecot, started on a free
loopback port with a throwaway configuration, a few accounts and Maildir storage.

``scripts/setup test`` installs it (package ``dovecot-imapd``). The config is
written for Dovecot 2.3 (Debian 12); 2.4 changed the syntax.
"""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from string import Template

from imapclient import IMAPClient

from devdesk.tests.processes import free_port

DOVECOT = "/usr/sbin/dovecot"
START_SECONDS = 10.0
PASSWORD = "imap-test-password"
# The accounts (all with PASSWORD), and the capabilities each one's server announces
# (empty: Dovecot's own): like older servers, without RFC 6851 MOVE, or also
# without RFC 4315 UIDPLUS.
ACCOUNTS = {"support": "", "no-move": "IMAP4rev1 UIDPLUS", "imap4rev1": "IMAP4rev1"}

# Dovecot refuses to open mail as root, so a root test run (CI) keeps the mail as
# the package's "dovecot" user; anyone else runs the whole server as themselves.
CONFIG = Template("""\
protocols = imap
listen = 127.0.0.1
base_dir = $root/run
state_dir = $root/state
log_path = $root/dovecot.log
instance_name = devdesk-test-$port
default_login_user = $login_user
default_internal_user = $login_user
default_internal_group = $internal_group
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
# A wrong password is answered at once: no delay, and (below) no penalty that
# grows with each failure from the same address.
auth_failure_delay = 0
first_valid_uid = 1
mail_location = maildir:$root/mail/%u
passdb {
  driver = passwd-file
  args = scheme=PLAIN $root/users
}
userdb {
  driver = passwd-file
  args = $root/users
}
# Without root there is no chroot.
service imap-login {
  chroot =
  inet_listener imap {
    address = 127.0.0.1
    port = $port
  }
  inet_listener imaps {
    port = 0
  }
}
service anvil {
  chroot =
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
""")


@dataclass(frozen=True)
class Dovecot:
    host: str
    port: int
    root: Path
    username: str = "support"
    password: str = PASSWORD

    def client(self, username: str = "") -> IMAPClient:
        """A logged-in connection, for a test to put mail in and look at it."""
        client = IMAPClient(self.host, self.port, ssl=False, timeout=10)
        client.login(username or self.username, self.password)
        return client

    def empty(self) -> None:
        """Delete every message and every folder but INBOX, for the next test."""
        for username in ACCOUNTS:
            with self.client(username) as client:
                for _flags, _delimiter, name in client.list_folders():
                    if name != "INBOX":
                        client.delete_folder(name)
                client.select_folder("INBOX")
                if uids := client.search("ALL"):
                    client.delete_messages(uids)
                    client.expunge()

    def log(self) -> str:
        return "".join(
            path.read_text()
            for path in (self.root / "stderr.log", self.root / "dovecot.log")
            if path.exists()
        )


@contextmanager
def running_dovecot() -> Iterator[Dovecot]:
    """Start Dovecot, wait until it greets, and stop it (and delete its mail) after.

    It lives in a new folder under the system temp directory, not pytest's
    ``tmp_path``: that one is private to root, and under root the mail is kept as
    another user (see ``CONFIG``), which must be able to reach it.
    """
    if not os.access(DOVECOT, os.X_OK):
        raise RuntimeError(
            f"{DOVECOT} is missing: the IMAP poller tests need a real Dovecot. "
            "Run `scripts/setup test` (it installs Debian's dovecot-imapd)."
        )
    root = Path(tempfile.mkdtemp(prefix="devdesk-dovecot-"))
    os.chmod(root, 0o755)  # noqa: S103 - the mail user and login processes read it
    process: subprocess.Popen[bytes] | None = None
    try:
        dovecot = Dovecot(host="127.0.0.1", port=free_port(), root=root)
        _configure(dovecot)
        with (root / "stderr.log").open("wb") as stderr:
            process = subprocess.Popen(  # noqa: S603 - a fixed binary, our config
                [DOVECOT, "-F", "-c", str(root / "dovecot.conf")],
                stdout=stderr,
                stderr=stderr,
            )
        _wait_for_greeting(dovecot, process)
        yield dovecot
    finally:
        if process is not None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        shutil.rmtree(root, ignore_errors=True)


def _configure(dovecot: Dovecot) -> None:
    root = dovecot.root
    if os.geteuid() == 0:
        mail_user = pwd.getpwnam("dovecot")
        login_user, internal_group = "dovenull", "dovecot"
    else:
        mail_user = pwd.getpwuid(os.getuid())
        login_user = mail_user.pw_name
        internal_group = grp.getgrgid(os.getgid()).gr_name
    for name in ("run", "state", "mail"):
        (root / name).mkdir()
    os.chown(root / "mail", mail_user.pw_uid, mail_user.pw_gid)
    # passwd-file: user:password:uid:gid:gecos:home:shell:extra fields, which are
    # separated by spaces, so a tab separates the words of a capability list.
    lines = []
    for username, capability in ACCOUNTS.items():
        tabbed = capability.replace(" ", "\t")
        extra = f"userdb_imap_capability={tabbed}" if capability else ""
        lines.append(
            f"{username}:{{PLAIN}}{dovecot.password}:{mail_user.pw_uid}:"
            f"{mail_user.pw_gid}::{root}/mail/{username}::{extra}\n"
        )
    (root / "users").write_text("".join(lines))
    (root / "dovecot.conf").write_text(
        CONFIG.substitute(
            root=root,
            port=dovecot.port,
            login_user=login_user,
            internal_group=internal_group,
        )
    )


def _wait_for_greeting(dovecot: Dovecot, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"Dovecot exited with {process.returncode}:\n{dovecot.log()}"
            )
        try:
            with socket.create_connection((dovecot.host, dovecot.port), timeout=1) as s:
                if s.recv(100).startswith(b"* OK"):
                    return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(
        f"Dovecot did not answer on port {dovecot.port} within {START_SECONDS:.0f}s:\n"
        f"{dovecot.log()}"
    )
