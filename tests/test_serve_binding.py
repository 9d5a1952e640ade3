"""`kb serve` listens on loopback unless told otherwise, and warns when it is told otherwise."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import pytest

from cli import main
from kb.settings import Settings
from tests.conftest import ROOT

STARTUP_SECONDS = 30


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def serve(settings: Settings, *args: str) -> tuple[str, str]:
    """Start `kb serve ARGS`, wait until it answers on loopback, stop it; (stdout, stderr)."""
    port = free_port()
    command = [
        sys.executable, "-c", "from cli import main; main()",
        "--corpus", str(settings.corpus), "--index", str(settings.index),
        "serve", "--port", str(port), *args,
    ]  # fmt: skip
    proc = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while not accepts(port):
            if proc.poll() is not None:
                out, err = proc.communicate()
                pytest.fail(f"kb serve exited with {proc.returncode}:\n{out}\n{err}")
            if time.monotonic() > deadline:
                pytest.fail(f"kb serve did not answer on port {port} in {STARTUP_SECONDS} s")
            time.sleep(0.1)
    finally:
        proc.terminate()
        try:
            out, err = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
    return out, err


def test_public_bind_warns(bundled_index: Settings) -> None:
    out, err = serve(bundled_index, "--host", "0.0.0.0")
    warning = err.lower()
    assert "warning" in warning and "0.0.0.0" in warning, err
    assert "reverse proxy" in warning, err
    assert "0.0.0.0" in out, "the banner names the address it listens on"


def test_loopback_bind_is_quiet(bundled_index: Settings) -> None:
    out, err = serve(bundled_index)
    assert "warning" not in err.lower(), err
    assert "127.0.0.1" in out


def test_help_shows_loopback_default(runner) -> None:
    result = runner.invoke(main, ["serve", "--help"])
    assert result.exit_code == 0, result.output
    assert "[default: 127.0.0.1]" in " ".join(result.output.split())
    host = next(p for p in main.commands["serve"].params if p.name == "host")
    assert host.default == "127.0.0.1"


def test_processes_share_the_loopback_port(bundled_index: Settings) -> None:
    out, err = serve(bundled_index, "--processes", "2")
    assert "warning" not in err.lower(), err
    assert "127.0.0.1" in out and "2 processes" in out


def test_a_port_in_use_is_a_clear_error(bundled_index: Settings, runner) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        args = ["--corpus", str(bundled_index.corpus), "--index", str(bundled_index.index)]
        result = runner.invoke(main, [*args, "serve", "--port", str(port), "--processes", "2"])
    assert result.exit_code == 2, result.output
    assert f"cannot listen on 127.0.0.1:{port}" in result.output
