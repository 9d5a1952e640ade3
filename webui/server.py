"""Serving the app with waitress, and stopping it without cutting answers off.

On SIGTERM (or Ctrl+C) the server stops accepting connections, keeps running until every
request it already received has been answered (at most `drain_seconds`), then exits.

One process answers on one core at a time (Python's GIL), however many threads it has;
`serve_processes` forks several, each with its own app (its own index readers, reopened on a
new generation independently) and waitress, all accepting on one listening socket.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Callable

from waitress.adjustments import Adjustments
from waitress.channel import HTTPChannel
from waitress.server import BaseWSGIServer, create_server

from webui.limits import MAX_BODY_BYTES

# Nothing here takes a body, and the app refuses one over MAX_BODY_BYTES with its own 413 page.
# waitress would first read and buffer up to 1 GB (in memory, then temporary files) and wait
# for a body that is announced but never sent; beyond this it answers 413 on the headers alone.
MAX_BUFFERED_BODY = 16 * MAX_BODY_BYTES
RESPAWN_DELAY = 1.0  # seconds before a worker process that died is replaced
MIN_WORKER_LIFE = 10.0  # a worker that dies sooner is failing to start: give up, do not loop

log = logging.getLogger("kb.serve")

# glibc's mallopt: how many heaps (arenas) threads allocate from.
M_ARENA_MAX = -8


def one_heap() -> None:
    """Have every thread of the server allocate from one heap (glibc's malloc).

    A search builds arrays over every passage (a few MB each at 100,000 passages). glibc
    gives each thread a heap of its own, up to eight per core, and a heap keeps what was
    freed in it for that heap's next allocations: with 8 threads, 25 to 40 MB more stays
    resident. Python threads take turns under the GIL, so one heap costs no waiting."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt(M_ARENA_MAX, 1)
    except (OSError, AttributeError):
        pass  # another C library: its own policy stands


def _busy(channels: list[HTTPChannel]) -> bool:
    return any(c.requests or c.total_outbufs_len for c in channels)


def serve(
    app,
    host: str | None = None,
    port: int | None = None,
    threads: int = 8,
    drain_seconds: float = 15.0,
    sockets: list[socket.socket] | None = None,
) -> None:
    """Serve `app` on host:port, or on listening `sockets` already bound, until SIGTERM."""
    one_heap()
    where = {"sockets": sockets} if sockets else {"host": host, "port": port}
    server = create_server(
        app, threads=threads, ident="kb", max_request_body_size=MAX_BUFFERED_BODY, **where
    )
    socket_map = server.map if hasattr(server, "map") else server._map
    use_poll = server.adj.asyncore_use_poll
    stopping = threading.Event()

    def stop(signum, frame) -> None:
        stopping.set()

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        while not stopping.is_set():
            server.asyncore.loop(timeout=0.5, map=socket_map, use_poll=use_poll, count=1)
        # Stop accepting; answer what was already received.
        for dispatcher in list(socket_map.values()):
            if isinstance(dispatcher, BaseWSGIServer):
                dispatcher.accepting = False
                dispatcher.del_channel()
                dispatcher.socket.close()
        deadline = time.monotonic() + drain_seconds
        while time.monotonic() < deadline:
            channels = [c for c in socket_map.values() if isinstance(c, HTTPChannel)]
            if not _busy(channels):
                break
            server.asyncore.loop(timeout=0.05, map=socket_map, use_poll=use_poll, count=1)
    finally:
        server.task_dispatcher.shutdown(cancel_pending=True, timeout=2)
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def listening_sockets(host: str, port: int) -> list[socket.socket]:
    """Bound, listening sockets for host:port, made as waitress makes its own (every address
    the host name resolves to; IPv6 sockets IPv6 only)."""
    adj = Adjustments(host=host, port=port)
    sockets = []
    try:
        for family, socktype, proto, address in adj.listen:
            sock = socket.socket(family, socktype, proto)
            sockets.append(sock)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(address)
            sock.listen(adj.backlog)
            sock.setblocking(False)
    except OSError:
        for sock in sockets:
            sock.close()
        raise
    return sockets


def serve_processes(
    make_app: Callable[[], object],
    sockets: list[socket.socket],
    processes: int,
    threads: int = 8,
    drain_seconds: float = 15.0,
) -> None:
    """`processes` worker processes, each `serve`-ing its own `make_app()` on the shared
    listening `sockets`. SIGTERM (or Ctrl+C) is passed on to every worker, which drains as
    `serve` does; a worker that dies otherwise is replaced, unless it died while starting
    (RuntimeError then, once the others have drained)."""
    stopping = threading.Event()

    def start_worker() -> int:
        pid = os.fork()
        if pid == 0:  # the worker
            code = 1
            try:
                for sig in (signal.SIGTERM, signal.SIGINT):
                    signal.signal(sig, signal.SIG_DFL)
                serve(make_app(), threads=threads, drain_seconds=drain_seconds, sockets=sockets)
                code = 0
            except BaseException:
                log.exception("worker process %s failed", os.getpid())
            finally:
                os._exit(code)
        return pid

    def stop(signum, frame) -> None:
        stopping.set()

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    workers: dict[int, float] = {}  # pid: when it started
    failed = False
    try:
        for _ in range(processes):
            workers[start_worker()] = time.monotonic()
        while workers and not stopping.is_set():
            pid, status = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                stopping.wait(0.2)
                continue
            started = workers.pop(pid, None)
            if started is None or stopping.is_set():
                continue
            if time.monotonic() - started < MIN_WORKER_LIFE:
                log.error("worker process %s failed on start (status %s)", pid, status)
                failed = True
                break
            log.error("worker process %s died (status %s); starting another", pid, status)
            time.sleep(RESPAWN_DELAY)
            workers[start_worker()] = time.monotonic()
    finally:
        for sock in sockets:  # the workers hold their own copies until they have drained
            sock.close()
        for pid in workers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + drain_seconds + 5
        while workers and time.monotonic() < deadline:
            pid, _status = os.waitpid(-1, os.WNOHANG)
            if pid:
                workers.pop(pid, None)
            else:
                time.sleep(0.05)
        for pid in workers:  # still not done: it is stuck
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if failed:
        raise RuntimeError("a worker process failed to start; see the log above")
