"""``vru serve`` refuses settings it cannot serve with, naming what to set (exit 2), and runs
several worker processes that agree on who is signed in."""

from __future__ import annotations

import contextlib
import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

import pytest

from tests.conftest import RunVru
from tests.serving.app.conftest import AUDIT_KEY, PASSWORD, SESSION_SECRET


def test_serve_needs_a_session_secret(vru: RunVru) -> None:
    result = vru("serve", "--port", "8765")
    assert result.code == 2
    assert "VRU_SESSION_SECRET is not set" in result.stderr


def test_serve_names_a_broken_programmes_file_and_database_url(
    vru: RunVru, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("VRU_SESSION_SECRET", SESSION_SECRET)
    monkeypatch.setenv("VRU_PROGRAMMES_PATH", str(tmp_path / "nope.yaml"))
    result = vru("serve")
    assert result.code == 2 and "nope.yaml does not exist" in result.stderr
    monkeypatch.delenv("VRU_PROGRAMMES_PATH")
    monkeypatch.setenv("VRU_DATABASE_URL", "nosuchdb://somewhere/x")
    result = vru("serve")
    assert result.code == 2 and "VRU_DATABASE_URL" in result.stderr


def test_serve_refuses_a_port_out_of_range(vru: RunVru, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VRU_SESSION_SECRET", SESSION_SECRET)
    result = vru("serve", "--port", "70000")
    assert result.code == 2 and "65535" in result.output


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _request(
    port: int,
    method: str,
    path: str,
    body: str | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], str]:
    """One request on a fresh connection (so uvicorn's processes take turns accepting)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return (
            response.status,
            {k.lower(): v for k, v in response.getheaders()},
            response.read().decode(),
        )
    finally:
        conn.close()


def _cpu_ticks(pids: set[int]) -> int:
    """User + system clock ticks used so far by these processes."""
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total


def test_serve_with_two_workers_shares_sign_outs_between_its_processes(tmp_path: Path) -> None:
    """A real ``vru serve --workers 2``: two worker processes answer, a session ended through
    one is refused on every later connection, and Ctrl-C stops them all."""
    env = {
        **os.environ,
        "VRU_HOME": str(tmp_path / "home"),
        "VRU_SESSION_SECRET": SESSION_SECRET,
        "VRU_AUDIT_KEY": AUDIT_KEY,
    }
    vru_cmd = [sys.executable, "-m", "vru_risk.cli"]
    added = subprocess.run(
        [*vru_cmd, "users", "add", "dana", "--role", "data_scientist", "--password-stdin"],
        input=PASSWORD, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    port = _free_port()
    log = tmp_path / "serve.log"
    with log.open("w") as out:
        server = subprocess.Popen(
            [*vru_cmd, "serve", "--workers", "2", "--port", str(port)],
            env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while True:
            assert server.poll() is None, log.read_text()
            try:
                if _request(port, "GET", "/health")[0] == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        children = {
            int(child)
            for task in Path(f"/proc/{server.pid}/task").iterdir()
            for child in (task / "children").read_text().split()
        }
        # the worker processes (multiprocessing's resource tracker may be a child too)
        workers = {
            pid
            for pid in children
            if b"resource_tracker" not in Path(f"/proc/{pid}/cmdline").read_bytes()
        }
        assert len(workers) == 2, (children, log.read_text())
        # /health answered from one worker; wait until both have finished starting (idle), so
        # that pausing one below never outlasts uvicorn's 5-second liveness check
        quiet_by = time.monotonic() + 90
        while time.monotonic() < quiet_by:
            before = _cpu_ticks(workers)
            time.sleep(0.5)
            if _cpu_ticks(workers) - before <= 2:
                break
        # sign in (the form's CSRF token comes with an anonymous session cookie)
        status, headers, page = _request(port, "GET", "/login")
        anonymous = headers["set-cookie"].split(";")[0]
        match = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert status == 200 and match
        form = urllib.parse.urlencode(
            {"username": "dana", "password": PASSWORD, "csrf_token": match.group(1)}
        )
        posted = {"Cookie": anonymous, "Content-Type": "application/x-www-form-urlencoded"}
        status, headers, _ = _request(port, "POST", "/login", form, posted)
        assert status == 303, log.read_text()[-2000:]
        cookie = {"Cookie": headers["set-cookie"].split(";")[0]}
        assert all(_request(port, "GET", "/models", None, cookie)[0] == 200 for _ in range(6))
        status, _, page = _request(port, "GET", "/models", None, cookie)
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert csrf is not None
        out_form = urllib.parse.urlencode({"csrf_token": csrf.group(1)})
        signed_out = {**cookie, "Content-Type": "application/x-www-form-urlencoded"}
        # sign out through one worker while the other is paused (a paused process accepts no
        # connection), then ask only the other: it must refuse the ended session too
        first, second = sorted(workers)
        os.kill(first, signal.SIGSTOP)
        try:
            assert _request(port, "POST", "/logout", out_form, signed_out)[0] == 303
        finally:
            os.kill(first, signal.SIGCONT)
        os.kill(second, signal.SIGSTOP)
        try:
            answers = [_request(port, "GET", "/models", None, cookie) for _ in range(5)]
        finally:
            os.kill(second, signal.SIGCONT)
        assert all(s == 303 and h["location"].startswith("/login") for s, h, _ in answers)
    finally:
        server.send_signal(signal.SIGINT)
        try:
            code = server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            raise
    assert code == 0, log.read_text()[-2000:]
    assert log.read_text().count("Finished server process") == 2


FAILING_APP = """
from contextlib import asynccontextmanager
from fastapi import FastAPI

def make() -> FastAPI:
    @asynccontextmanager
    async def lifespan(app):
        raise RuntimeError("cannot start")
        yield

    return FastAPI(lifespan=lifespan)
"""


def test_workers_that_cannot_start_make_serve_exit_with_uvicorns_failure_code(
    tmp_path: Path,
) -> None:
    """uvicorn's supervisor stops with 0 when its workers fail to start; `run` says 3."""
    (tmp_path / "failing_app.py").write_text(FAILING_APP)
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); "
        "from vru_risk.serving.server import run; "
        "run(None, 'failing_app:make', host='127.0.0.1', port=int(sys.argv[2]), workers=2)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path), str(_free_port())],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 3, done.stderr[-2000:]
    assert "cannot start" in done.stderr


def _gone(pid: int) -> bool:
    """Whether a process has exited (a zombie waiting for its new parent counts as gone)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (FileNotFoundError, ProcessLookupError):
        return True


def _mode(path: Path) -> str:
    return oct(path.stat().st_mode & 0o777)


def test_workers_exit_when_their_supervisor_is_killed_and_the_port_is_free_again(
    tmp_path: Path,
) -> None:
    """Finding 11: `kill -9` of the supervisor of `vru serve --workers 2` left both workers
    serving as orphans, and a restart failed with "address already in use". Finding 17: what
    the server writes under VRU_HOME (the database and its WAL) is private to its account."""
    home = tmp_path / "home"
    env = {
        **os.environ,
        "VRU_HOME": str(home),
        "VRU_SESSION_SECRET": SESSION_SECRET,
        "VRU_AUDIT_KEY": AUDIT_KEY,
    }
    port = _free_port()
    log = tmp_path / "serve.log"
    with log.open("w") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "vru_risk.cli", "serve", "--workers", "2", "--port", str(port)],
            env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    workers: set[int] = set()
    try:
        deadline = time.monotonic() + 120
        while True:
            assert server.poll() is None, log.read_text()
            try:
                if _request(port, "GET", "/health")[0] == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        while len(workers) < 2 and time.monotonic() < deadline:
            children = {
                int(child)
                for task in Path(f"/proc/{server.pid}/task").iterdir()
                for child in (task / "children").read_text().split()
            }
            workers = {
                pid
                for pid in children
                if b"resource_tracker" not in Path(f"/proc/{pid}/cmdline").read_bytes()
            }
            time.sleep(0.2)
        assert len(workers) == 2, log.read_text()
        # the home and the database the server writes, with its WAL (checked after the kill)
        written = (home, home / "app.db", home / "app.db-wal", home / "app.db-shm")
        modes = {path.name: _mode(path) for path in written}
        os.kill(server.pid, signal.SIGKILL)
        server.wait(timeout=30)
        by = time.monotonic() + 15
        while not all(_gone(pid) for pid in workers) and time.monotonic() < by:
            time.sleep(0.1)
        assert all(_gone(pid) for pid in workers), log.read_text()[-3000:]
        with socket.socket() as again:  # a restart can listen on the port at once
            again.bind(("127.0.0.1", port))
        assert modes == {
            "home": "0o700",
            "app.db": "0o600",
            "app.db-wal": "0o600",
            "app.db-shm": "0o600",
        }
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGKILL)  # the workers share the supervisor's group
    assert "is gone: this worker" in log.read_text() or "Finished server process" in log.read_text()


def test_serve_warns_when_cookies_are_not_secure_beyond_loopback(
    vru: RunVru, monkeypatch: pytest.MonkeyPatch
) -> None:
    """TLS: on an address other than loopback without VRU_SECURE_COOKIES, `vru serve` says to
    put a TLS-terminating proxy in front; it passes the proxy addresses it trusts to uvicorn."""
    calls: list[dict[str, object]] = []
    monkeypatch.setattr("vru_risk.cli.serve.run", lambda *_args, **kwargs: calls.append(kwargs))
    monkeypatch.setenv("VRU_SESSION_SECRET", SESSION_SECRET)
    monkeypatch.setenv("VRU_FORWARDED_ALLOW_IPS", "10.0.0.5")
    exposed = vru("serve", "--host", "0.0.0.0")
    assert exposed.code == 0, exposed.output
    said = " ".join(exposed.stdout.split())
    assert "warning:" in said and "not Secure" in said and "VRU_SECURE_COOKIES=true" in said
    assert calls[-1]["forwarded_allow_ips"] == "10.0.0.5" and calls[-1]["host"] == "0.0.0.0"
    for host in ("127.0.0.1", "localhost", "::1"):
        assert "not Secure" not in vru("serve", "--host", host).stdout
    monkeypatch.setenv("VRU_SECURE_COOKIES", "true")
    assert "not Secure" not in vru("serve", "--host", "0.0.0.0").stdout
    assert len(calls) == 5


WATCHED = """
import time
from vru_risk.serving.server import exit_with_parent
exit_with_parent(interval=0.1, grace=2, kernel=False)
print("watching", flush=True)
time.sleep(120)
"""
PARENT = """
import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", sys.argv[1]])
print(child.pid, flush=True)
time.sleep(120)
"""


def test_without_the_kernels_help_a_worker_still_notices_its_parent_is_gone() -> None:
    """The watchdog alone (as on a system without prctl): the parent killed, the child ends."""
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, WATCHED], stdout=subprocess.PIPE, text=True,
        start_new_session=True,
    )  # fmt: skip
    try:
        assert parent.stdout is not None
        child = int(parent.stdout.readline())
        assert parent.stdout.readline().strip() == "watching"
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(timeout=30)
        by = time.monotonic() + 10
        while not _gone(child) and time.monotonic() < by:
            time.sleep(0.05)
        assert _gone(child)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(parent.pid, signal.SIGKILL)
        if parent.stdout is not None:
            parent.stdout.close()
