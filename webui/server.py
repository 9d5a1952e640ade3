"""Serving the app with waitress, and stopping it without cutting answers off.

On SIGTERM (or Ctrl+C) the server stops accepting connections, keeps running until every
request it already received has been answered (at most `drain_seconds`), then exits.
"""

from __future__ import annotations

import signal
import threading
import time

from waitress.channel import HTTPChannel
from waitress.server import BaseWSGIServer, create_server

from webui.security import MAX_BODY_BYTES

# Nothing here takes a body, and the app refuses one over MAX_BODY_BYTES with its own 413 page.
# waitress would first read and buffer up to 1 GB (in memory, then temporary files) and wait
# for a body that is announced but never sent; beyond this it answers 413 on the headers alone.
MAX_BUFFERED_BODY = 16 * MAX_BODY_BYTES


def _busy(channels: list[HTTPChannel]) -> bool:
    return any(c.requests or c.total_outbufs_len for c in channels)


def serve(app, host: str, port: int, threads: int = 8, drain_seconds: float = 15.0) -> None:
    server = create_server(
        app, host=host, port=port, threads=threads, ident="kb",
        max_request_body_size=MAX_BUFFERED_BODY,
    )  # fmt: skip
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
