"""Limits on what a request may ask for (enforced by `webui.security` and `webui.server`)."""

MAX_BODY_BYTES = 64 * 1024  # nothing here takes a body; anything larger is refused outright
MAX_QUERY_STRING = 32 * 1024
MAX_QUERY_PARAMS = 200
MAX_PATH_CHARS = 2048
