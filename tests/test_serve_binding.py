"""`kb serve` listens on loopback unless told otherwise, and warns when it is told otherwise."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

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


def serve(settings: Settings, *args: str, during=None, env=None) -> tuple[str, str]:
    """Start `kb serve ARGS`, wait until it answers on loopback, call `during(port)`, stop
    it; (stdout, stderr)."""
    port = free_port()
    command = [
        sys.executable, "-c", "from cli import main; main()",
        "--corpus", str(settings.corpus), "--index", str(settings.index),
        "serve", "--port", str(port), *args,
    ]  # fmt: skip
    proc = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
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
        if during is not None:
            during(port)
    finally:
        proc.terminate()
        try:
            out, err = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
    return out, err


def test_public_bind_warns(bundled_index: Settings) -> None:
    out, err = serve(bundled_index, "--host", "0.0.0.0", "--insecure")
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


def test_public_bind_without_https_refuses_sign_in(bundled_index: Settings, runner) -> None:
    args = ["--corpus", str(bundled_index.corpus), "--index", str(bundled_index.index)]
    result = runner.invoke(main, [*args, "serve", "--host", "0.0.0.0", "--port", "0"])
    assert result.exit_code == 2, result.output
    assert "refusing to serve sign-in on the public address 0.0.0.0 without HTTPS" in (
        result.output
    )
    assert "--insecure" in result.output and "--base-url https://" in result.output


def test_public_bind_behind_https_needs_no_flag(bundled_index: Settings) -> None:
    out, err = serve(
        bundled_index, "--host", "0.0.0.0", "--base-url", "https://kb.example.org", "--proxies", "1"
    )
    assert "Permalinks use https://kb.example.org/ (from --base-url)" in out
    assert "loopback" not in err


def test_a_loopback_base_url_on_a_public_bind_warns(bundled_index: Settings) -> None:
    env = {**os.environ, "KB_BASE_URL": "http://127.0.0.1:5000"}
    _out, err = serve(bundled_index, "--host", "0.0.0.0", "--insecure", env=env)
    assert "permalinks use http://127.0.0.1:5000, a loopback address" in err


def test_permalinks_use_the_port_kb_serve_bound(bundled_index: Settings) -> None:
    """With no base URL, every link kb hands out names the port it listens on."""
    seen: dict[str, object] = {}

    def fetch(port: int) -> None:
        base = f"http://127.0.0.1:{port}"
        with urllib.request.urlopen(f"{base}/api/search?q=repair") as response:
            seen["hit"] = json.load(response)["results"][0]["permalink"]
        request = urllib.request.Request(f"{base}/opensearch.xml", headers={"Host": "evil.example"})
        with urllib.request.urlopen(request) as response:
            seen["opensearch"] = response.read().decode()
        seen["port"] = port

    env = {k: v for k, v in os.environ.items() if k != "KB_BASE_URL"}
    out, _err = serve(bundled_index, during=fetch, env=env)
    base = f"http://127.0.0.1:{seen['port']}"
    assert f"Permalinks use {base}/ (from the address `kb serve` listens on)" in out
    assert str(seen["hit"]).startswith(f"{base}/doc/"), seen["hit"]
    assert f'template="{base}/search?q={{searchTerms}}"' in str(seen["opensearch"])
    assert "evil.example" not in str(seen["opensearch"])


def test_a_bad_base_url_is_a_clear_error(bundled_index: Settings, runner) -> None:
    args = ["--corpus", str(bundled_index.corpus), "--index", str(bundled_index.index)]
    result = runner.invoke(main, [*args, "serve", "--port", "0", "--base-url", "kb.example.org"])
    assert result.exit_code == 2, result.output
    assert "must be an http:// or https:// address with a host" in result.output


def test_kb_cite_says_where_its_base_url_comes_from(bundled_index: Settings) -> None:
    env = {k: v for k, v in os.environ.items() if k != "KB_BASE_URL"}
    command = [
        sys.executable, "-c", "from cli import main; main()",
        "--corpus", str(bundled_index.corpus), "--index", str(bundled_index.index),
        "cite", "guides/strategy-for-sustainable-it",
    ]  # fmt: skip
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    assert "http://127.0.0.1:5000/doc/guides/strategy-for-sustainable-it" in done.stdout
    assert "note" not in done.stdout, "the citation on stdout stays clean for pasting"
    assert "the default address" in done.stderr and "KB_BASE_URL" in done.stderr
    env["KB_BASE_URL"] = "https://kb.example.org"
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, env=env)
    assert "https://kb.example.org/doc/guides/strategy-for-sustainable-it" in done.stdout
    assert done.stderr == ""
