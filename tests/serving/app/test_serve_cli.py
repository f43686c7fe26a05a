"""``vru serve`` refuses settings it cannot serve with, naming what to set (exit 2), and runs
several worker processes that agree on who is signed in."""

from __future__ import annotations

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
