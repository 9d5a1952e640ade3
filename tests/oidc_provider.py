"""A real OpenID Connect provider for the sign-in tests: `oidc-provider-mock` served by
werkzeug on 127.0.0.1, on a free port, in a thread of the test process.

It signs its ID tokens with its own RSA key and publishes the key set, accepts any client id
and secret (so each test's kb is a client it knows), and keeps each user's claims as the test
sets them (`set_user`): claims named like the ID token's own (`aud`, `exp`) replace them,
which is how a test gets a token for another audience, or one that has expired. Every request
kb makes to it is recorded (`requests`), so a test can check what went over the wire (the
PKCE challenge and verifier, the state, the nonce).
"""

from __future__ import annotations

import io
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import parse_qs

import requests


@dataclass
class Provider:
    url: str
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)

    def set_user(self, sub: str, **claims: object) -> None:
        """Give user `sub` these claims (in its ID token and user info)."""
        answer = requests.put(f"{self.url}/users/{sub}", json=claims, timeout=10)
        answer.raise_for_status()

    def approve(self, authorize_url: str, sub: str, action: str = "allow") -> str:
        """What the user does at the provider's sign-in page: choose `sub` (or deny). Returns
        where the provider sends the browser back to (kb's callback with code and state)."""
        form = {"sub": sub} if action == "allow" else {"action": "deny"}
        answer = requests.post(authorize_url, data=form, allow_redirects=False, timeout=10)
        assert answer.status_code in (302, 303), answer.text[:2000]
        return answer.headers["Location"]

    def asked(self, path: str) -> list[dict[str, str]]:
        """The parameters of each request kb made to `path` (query and form), in order."""
        return [params for where, params in self.requests if where == path]


@contextmanager
def running_provider() -> Iterator[Provider]:
    """The provider, serving until the block ends."""
    import oidc_provider_mock
    import werkzeug.serving

    # The provider's Authlib server refuses plain HTTP unless told it is a test; kb's client
    # has no such switch, and needs none.
    previous = os.environ.get("AUTHLIB_INSECURE_TRANSPORT")
    os.environ["AUTHLIB_INSECURE_TRANSPORT"] = "1"
    app = oidc_provider_mock.app(require_nonce=True)
    inner = app.wsgi_app
    provider = Provider(url="")

    def recording(environ, start_response):
        params = {k: v[-1] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
        if environ.get("REQUEST_METHOD") == "POST" and "form" in environ.get("CONTENT_TYPE", ""):
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = environ["wsgi.input"].read(length)
            params.update({k: v[-1] for k, v in parse_qs(body.decode()).items()})
            environ["wsgi.input"] = io.BytesIO(body)
        provider.requests.append((environ.get("PATH_INFO", ""), params))
        return inner(environ, start_response)

    app.wsgi_app = recording
    server = werkzeug.serving.make_server("127.0.0.1", 0, app, threaded=True)
    provider.url = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield provider
    finally:
        server.shutdown()
        thread.join(5)
        server.server_close()
        if previous is None:
            os.environ.pop("AUTHLIB_INSECURE_TRANSPORT", None)
        else:
            os.environ["AUTHLIB_INSECURE_TRANSPORT"] = previous
