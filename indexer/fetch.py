"""Downloading a web page or PDF for `kb add`, with a time and size limit."""

from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import urlsplit

from indexer.add_options import AddError
from kb.formats import download_suffix

DEFAULT_TIMEOUT = 20.0
DEFAULT_MAX_BYTES = 50 * 1024 * 1024


def is_url(source: str) -> bool:
    return urlsplit(source).scheme.lower() in ("http", "https")


def fetch(url: str, dest_dir: Path, *, timeout: float, max_bytes: int) -> Path:
    """Download `url` into `dest_dir` (as `download.<ext>` by content type); AddError on any
    failure, saying what happened: HTTP status, timeout, size, unsupported content."""
    import http.client
    import urllib.error
    import urllib.request

    request = urllib.request.Request(
        url,
        headers={
            "User-Agent": "kb/0.1 (kb add; knowledge base of an IT buyers' network)",
            "Accept": "text/html,application/xhtml+xml,application/pdf;q=0.9,text/*;q=0.8",
        },
    )
    deadline = time.monotonic() + timeout
    limit = _megabytes(max_bytes)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            length = response.headers.get("Content-Length")
            if length and length.isdigit() and int(length) > max_bytes:
                raise AddError(f"{url}: too large ({_megabytes(int(length))}, limit {limit})")
            chunks: list[bytes] = []
            size = 0
            while chunk := response.read(1 << 16):
                size += len(chunk)
                if size > max_bytes:
                    raise AddError(f"{url}: too large (more than {limit}, the limit)")
                if time.monotonic() > deadline:
                    raise AddError(f"{url}: not downloaded within {timeout:g} seconds")
                chunks.append(chunk)
            content_type = response.headers.get_content_type()
    except urllib.error.HTTPError as exc:
        raise AddError(f"{url}: the server answered HTTP {exc.code} {exc.reason}") from None
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, TimeoutError):
            raise AddError(f"{url}: no answer within {timeout:g} seconds") from None
        raise AddError(f"{url}: cannot fetch it: {exc.reason}") from None
    except TimeoutError:
        raise AddError(f"{url}: no answer within {timeout:g} seconds") from None
    except (http.client.HTTPException, OSError, ValueError) as exc:
        raise AddError(f"{url}: cannot fetch it: {exc}") from None
    data = b"".join(chunks)
    if not data:
        raise AddError(f"{url}: the server sent an empty answer")
    suffix = download_suffix(data, content_type)
    if suffix is None:
        raise AddError(f"{url}: kb cannot index {content_type} (web pages, PDF and text only)")
    path = dest_dir / f"download{suffix}"
    path.write_bytes(data)
    return path


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB" if size >= 1024 * 1024 else f"{size} bytes"
