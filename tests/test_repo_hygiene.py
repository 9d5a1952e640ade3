"""What the repository must never hold: secrets, and paths of somebody's machine.

Scans every file git tracks (`git ls-files`), binary ones included (a PDF's metadata can
carry the path it was made from). A test that needs a scratch directory takes pytest's
`tmp_path`; a script takes `tempfile.gettempdir()`; neither spells out a path under /tmp.
"""

from __future__ import annotations

import datetime
import re
import subprocess
from pathlib import Path

import pytest

from tests.prerequisites import missing, require

ROOT = Path(__file__).resolve().parents[1]
AUDIT_ALLOWLIST = ROOT / ".ci" / "audit-allowlist.txt"

SECRET_PATTERNS = {
    "AWS access key id": re.compile(rb"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    "AWS secret access key": re.compile(
        rb"(?i)aws_?secret_?access_?key\s*[=:]\s*['\"]?[A-Za-z0-9/+=]{40}"
    ),
    "private key": re.compile(rb"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"),
    "GitHub token": re.compile(rb"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})"),
    "Slack token": re.compile(rb"\bxox[abposr]-[A-Za-z0-9-]{10,}"),
    "Google API key": re.compile(rb"\bAIza[0-9A-Za-z_-]{35}\b"),
    "Stripe secret key": re.compile(rb"\b[rs]k_live_[0-9A-Za-z]{16,}"),
    "password in a URL": re.compile(rb"\b[a-z][a-z0-9+.-]*://[^\s/:@'\"<>]+:[^\s/@'\"<>]+@[\w.-]"),
}
# A path under /work, /root, /home or /tmp, but not inside a URL (https://host/home/page)
# or a longer path (/var/tmp).
LOCAL_PATH = re.compile(rb"(?<![\w.:/~-])/(?:work|root|home|tmp)/")
# Files that hold secrets by nature; none of them belongs in git.
SECRET_FILE_NAMES = re.compile(
    r"(?:^|/)(?:\.env(?:\.[\w.-]+)?|\.netrc|\.pypirc|id_(?:rsa|dsa|ecdsa|ed25519)|"
    r"[^/]+\.(?:pem|key|p12|pfx))$"
)


def tracked_files() -> list[str]:
    require("git")
    result = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=False)
    if result.returncode != 0:
        missing(f"needs a git work tree: {result.stderr.decode(errors='replace').strip()}")
    return [name for name in result.stdout.decode().split("\0") if name]


@pytest.fixture(scope="module")
def files() -> dict[str, bytes]:
    out = {}
    for name in tracked_files():
        path = ROOT / name
        if path.is_file():  # a tracked file deleted in the work tree is not there to read
            out[name] = path.read_bytes()
    assert out, "git lists no files"
    return out


def line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def test_no_secrets(files: dict[str, bytes]) -> None:
    found = [
        f"{name}:{line_of(data, m.start())}: {kind}"
        for name, data in files.items()
        for kind, pattern in SECRET_PATTERNS.items()
        for m in pattern.finditer(data)
    ]
    assert not found, "secrets in tracked files:\n" + "\n".join(found)


def test_no_secret_files(files: dict[str, bytes]) -> None:
    found = [name for name in files if SECRET_FILE_NAMES.search(name)]
    assert not found, f"files that hold secrets are tracked: {found}"


def test_no_local_paths(files: dict[str, bytes]) -> None:
    found = [
        f"{name}:{line_of(data, m.start())}: {data[m.start() : m.start() + 40]!r}"
        for name, data in files.items()
        for m in LOCAL_PATH.finditer(data)
    ]
    assert not found, "absolute paths of a local machine in tracked files:\n" + "\n".join(found)


@pytest.mark.parametrize(
    "sample, kind",
    [
        (b"key = AKIA" + b"ABCDEFGHIJKLMNOP", "AWS access key id"),
        (b"-----BEGIN RSA " + b"PRIVATE KEY-----", "private key"),
        (b"-----BEGIN OPENSSH " + b"PRIVATE KEY-----", "private key"),
        (b"token: ghp_" + b"a" * 36, "GitHub token"),
        (b"xoxb-" + b"1234567890-abc", "Slack token"),
        (b"postgres://kb:" + b"s3cret@db.example.org/kb", "password in a URL"),
    ],
)
def test_secret_patterns_catch_samples(sample: bytes, kind: str) -> None:
    assert SECRET_PATTERNS[kind].search(sample)


@pytest.mark.parametrize(
    "sample, caught",
    [
        (b'Path("/' + b'tmp/kb-bench")', True),
        (b"cd /" + b"work/main", True),
        (b"/" + b"home/alice/corpus", True),
        (b"https://example.org/home/page", False),
        (b"/var/tmp/x", False),
        (b"~/tmp/x", False),
        (b"http://127.0.0.1:5000/doc/meetings/x", False),
    ],
)
def test_local_path_pattern(sample: bytes, caught: bool) -> None:
    assert bool(LOCAL_PATH.search(sample)) is caught


ALLOWLIST_ENTRY = re.compile(
    r"(?P<id>(?:PYSEC|GHSA|CVE|OSV)-[\w-]+)\s+(?P<until>\d{4}-\d{2}-\d{2})\s+#\s*\S.*"
)


def test_audit_allowlist_entries_are_explained_and_current() -> None:
    """`make audit` ignores what .ci/audit-allowlist.txt lists: each entry says why, and
    until when; past that date it fails here, so an accepted risk is looked at again."""
    today = datetime.date.today()
    for number, line in enumerate(AUDIT_ALLOWLIST.read_text(encoding="utf-8").splitlines(), 1):
        if not line.split("#", 1)[0].strip():
            continue
        where = f"{AUDIT_ALLOWLIST.name}:{number}"
        m = ALLOWLIST_ENTRY.fullmatch(line.strip())
        assert m, f"{where}: expected '<id>  <YYYY-MM-DD>  # why', not {line!r}"
        until = datetime.date.fromisoformat(m["until"])
        assert until >= today, f"{where}: {m['id']} was accepted until {until}; fix or review it"
