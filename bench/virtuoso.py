"""A throw-away Virtuoso, for the tests and the benchmark: installed from Debian's packages
when missing, started on free loopback ports with its own database directory, ini and dba
password, stopped at the end. Updates go through its authenticated endpoint (/sparql-auth,
HTTP Digest).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from claimgraph.store import Delta
from claimgraph.store.shared import RemoteStore

PACKAGE = "virtuoso-opensource"  # Debian's; brings virtuoso-t and isql-vt
PASSWORD = "claimgraph-throwaway-dba"  # the dba password of every test instance
START_TIMEOUT = 90.0

INI = """\
[Database]
DatabaseFile = {root}/virtuoso.db
ErrorLogFile = {root}/virtuoso.log
LockFile = {root}/virtuoso.lck
TransactionFile = {root}/virtuoso.trx
xa_persistent_file = {root}/virtuoso.pxa
ErrorLogLevel = 7
FileExtend = 200
Striping = 0
TempStorage = TempDatabase

[TempDatabase]
DatabaseFile = {root}/virtuoso-temp.db
TransactionFile = {root}/virtuoso-temp.trx
Striping = 0

[Parameters]
ServerPort = 127.0.0.1:{sql_port}
DisableUnixSocket = 1
DisableTcpSocket = 0
CaseMode = 2
DirsAllowed = ., {root}
NumberOfBuffers = {buffers}
MaxDirtyBuffers = {dirty_buffers}
CheckpointInterval = 60
MaxClientConnections = 20
ThreadsPerQuery = 2
; repeatable read: one update request is isolated from a concurrent one (read committed,
; the default, lets two ClaimGraph instances' conditional writes both apply: see remote.py)
DefaultIsolation = 4

[HTTPServer]
ServerPort = 127.0.0.1:{http_port}
ServerRoot = {root}/vsp
ServerThreads = 10
MaxClientConnections = 20
MaxKeepAlives = 10
KeepAliveTimeout = 10

[SPARQL]
; the tests keep it below the store's page size: long reads must page through a capped server
ResultSetMaxRows = {max_rows}
MaxQueryExecutionTime = {max_query_seconds}
; as in Debian's own virtuoso.ini: it makes Virtuoso compile DATA blocks to SQL (see remote.py)
MaxQueryCostEstimationTime = 400
"""


class VirtuosoUnavailable(Exception):
    """Virtuoso could not be installed or started here."""


def _run(cmd: list[str], env: dict[str, str] | None = None, timeout: float = 600) -> None:
    done = subprocess.run(
        cmd, env=env, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL
    )
    if done.returncode != 0:
        tail = (done.stdout + done.stderr)[-2000:]
        raise VirtuosoUnavailable(f"`{' '.join(cmd)}` failed ({done.returncode}):\n{tail}")


def ensure_installed() -> tuple[str, str]:
    """Paths of virtuoso-t and isql-vt, installing Debian's package when they are missing."""
    exe, isql = shutil.which("virtuoso-t"), shutil.which("isql-vt")
    if exe and isql:
        return exe, isql
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        raise VirtuosoUnavailable(
            f"virtuoso-t is not installed and cannot be installed here (needs root and "
            f"apt-get): apt-get install {PACKAGE}"
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    # The package asks for a dba password for its own system database: answer it (empty:
    # keep the default), so that the install never waits for a terminal.
    seeds = "".join(
        f"virtuoso-opensource-7 virtuoso-opensource-7/{q} password \n"
        for q in ("dba-password", "dba-password-again")
    )
    subprocess.run(
        ["debconf-set-selections"], input=seeds, text=True, capture_output=True, check=False
    )
    # Do not let the package start its own system-wide server (Docker images already say no).
    policy = Path("/usr/sbin/policy-rc.d")
    ours = not policy.exists()
    if ours:
        policy.write_text("#!/bin/sh\nexit 101\n")
        policy.chmod(0o755)
    try:
        _run(["apt-get", "update"], env)
        _run(["apt-get", "install", "-y", "--no-install-recommends", PACKAGE], env)
    finally:
        if ours:
            policy.unlink(missing_ok=True)
    exe, isql = shutil.which("virtuoso-t"), shutil.which("isql-vt")
    if not (exe and isql):
        raise VirtuosoUnavailable(f"{PACKAGE} installed, but virtuoso-t or isql-vt is missing")
    return exe, isql


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Virtuoso:
    """One Virtuoso server process over its own directory; ``start`` again after ``kill``
    reopens the same database (Virtuoso rolls its transaction log forward)."""

    def __init__(
        self,
        root: Path,
        max_query_seconds: int = 30,
        *,
        buffers: int = 10_000,
        max_rows: int = 1000,
    ) -> None:
        """``buffers``: 8 kB pages of cache (Virtuoso's guide: about 2/3 of the memory it may
        use); ``max_rows``: its cap on the rows of one answer."""
        self.exe, self.isql = ensure_installed()
        self.root = root
        self.sql_port, self.http_port = free_port(), free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.password = "dba"  # until the first start sets ours
        (root / "vsp").mkdir(parents=True, exist_ok=True)
        (root / "virtuoso.ini").write_text(
            INI.format(
                root=root,
                sql_port=self.sql_port,
                http_port=self.http_port,
                max_query_seconds=max_query_seconds,
                buffers=buffers,
                dirty_buffers=buffers * 3 // 4,
                max_rows=max_rows,
            )
        )

    @classmethod
    def for_data(cls, root: Path, quads: int, max_query_seconds: int) -> Virtuoso:
        """A server for benchmarks over ``quads`` quads: its cache sized to the data (8 kB
        pages, about 400 bytes of cache per quad; 160 MB at least), and answers of up to a
        million rows."""
        return cls(root, max_query_seconds, buffers=max(20_000, quads // 20), max_rows=1_000_000)

    @property
    def query_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}/sparql"

    @property
    def update_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}/sparql-auth"

    @property
    def store_url(self) -> str:
        """The ``--store`` URL of this server."""
        return f"sparql+{self.query_url}"

    def settings(self) -> dict[str, Any]:
        """The Settings fields that point ClaimGraph at this server."""
        return {
            "store": self.store_url,
            "store_update_url": self.update_url,
            "store_user": "dba",
            "store_password": self.password,
        }

    def store(self, **kwargs: Any) -> RemoteStore:
        options: dict[str, Any] = {
            "update_url": self.update_url,
            "user": "dba",
            "password": self.password,
            "timeout": 30.0,
        }
        return RemoteStore(self.query_url, **(options | kwargs))

    # -- process ----------------------------------------------------------------------------
    def start(self) -> None:
        log = (self.root / "stdout.log").open("ab")
        self.process = subprocess.Popen(
            [self.exe, "+configfile", str(self.root / "virtuoso.ini"), "+foreground"],
            cwd=self.root,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # a Ctrl-C of pytest does not reach it; we stop it
        )
        log.close()
        self._wait_ready()
        if self.password == "dba":
            sql = f"user_set_password('dba', '{PASSWORD}');"
            _run([self.isql, f"127.0.0.1:{self.sql_port}", "dba", "dba", f"exec={sql}"])
            self.password = PASSWORD

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        probe = f"{self.query_url}?query=ASK%7B%7D"
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise VirtuosoUnavailable(
                    f"virtuoso-t exited with {self.process.returncode}:\n{self.log_tail()}"
                )
            try:
                with urllib.request.urlopen(probe, timeout=2) as answer:
                    if answer.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.1)
        raise VirtuosoUnavailable(
            f"Virtuoso did not answer in {START_TIMEOUT:g} s:\n{self.log_tail()}"
        )

    def restart_after_load(self) -> float:
        """Checkpoint, stop and start again, as a server is run after a large load (see
        docs/deployment.md); its seconds. Freshly loaded with 10.3M quads through INSERT DATA,
        Virtuoso took 10-80 ms to plan each query text it had not seen, checkpointed or not,
        and 2 ms once restarted (not seen at 1.03M quads): that, not the store's size, was
        most of a page's or a write's time at 1M statements."""
        t0 = time.perf_counter()
        _run([self.isql, f"127.0.0.1:{self.sql_port}", "dba", self.password, "exec=checkpoint;"])
        self.stop()
        self.start()
        return time.perf_counter() - t0

    def log_tail(self) -> str:
        path = self.root / "stdout.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else "(no log)"

    def kill(self) -> None:
        """Stop it dead (SIGKILL): what a crash or an OOM kill does."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)

    def freeze(self) -> None:
        """Stop it answering without closing its sockets (SIGSTOP): a hung server."""
        assert self.process is not None
        pid = self.process.pid
        os.kill(pid, signal.SIGSTOP)
        # The signal is taken by each thread in its own time: wait until all have stopped.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            states = []
            for task in Path(f"/proc/{pid}/task").iterdir():
                with contextlib.suppress(OSError):  # a thread that just ended
                    states.append((task / "stat").read_text().rsplit(")", 1)[1].split()[0])
            if states and all(state in "tT" for state in states):
                return
            time.sleep(0.005)
        raise VirtuosoUnavailable(f"Virtuoso (pid {pid}) did not stop on SIGSTOP")

    def thaw(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGCONT)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.thaw()
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.kill()

    def reset(self) -> None:
        """Drop every graph a store registered: an empty store again."""
        store = self.store()
        graphs = store.graphs()
        if graphs:
            store.apply(Delta(drop_graphs=graphs))
