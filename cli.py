"""The `kb` command: index the corpus, search it, read and cite documents, serve the web UI.

Exit codes: 0 success; 1 the index was updated but some files failed (kb index), or nothing
was found (kb show / kb cite / kb lists with an unknown id); 2 nothing was done because of an
error (bad option, no index, index locked, unwritable index).
"""

from __future__ import annotations

import html
import json
import re
import sys
import time
from pathlib import Path
from typing import Any

import click

from cli_backup import backup_cmd, restore_cmd
from cli_insights import insights
from cli_tokens import tokens
from cli_users import users
from kb.citeformats import CITE_FORMAT_IDS
from kb.citestyles import CITE_STYLE_IDS, DEFAULT_STYLE
from kb.doctypes import DOC_TYPES, TYPE_LABELS, TYPES
from kb.errors import KbError, NotFound
from kb.settings import FROM_DEFAULT, Settings

EXIT_CODES_HELP = """
\b
Exit codes:
  0  all indexed (or already up to date)
  1  index updated, but some files failed (see the report)
  2  nothing written: fatal error (no corpus, index locked, unwritable index);
     the previous index keeps serving
"""


# The exit code of each kind of KbError (the most specific class listed wins); the epilogs
# below document them.
EXIT_CODES: dict[type[KbError], int] = {NotFound: 1, KbError: 2}


class Fatal(click.ClickException):
    """`Error: <message>` on stderr, and the exit code (2 unless given)."""

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class KbCommand(click.Command):
    """A `kb` subcommand, with what its failures need besides the error's own message."""

    def __init__(
        self,
        *args: Any,
        not_found_hint: str | None = None,
        writes_index: bool = False,
        names_writer: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.not_found_hint = not_found_hint  # follows a NotFound's message: where to look
        self.writes_index = writes_index  # an OSError is a failure to write the index
        self.names_writer = names_writer  # a failure names the process writing the index now


class KbGroup(click.Group):
    """The `kb` command group: the one place where errors from the library become a message
    and an exit code (EXIT_CODES), whichever subcommand raised them."""

    command_class = KbCommand

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except KbError as exc:
            raise self._failure(ctx, exc) from exc
        except OSError as exc:
            command = self._command(ctx)
            # A closed stdout is not a failure to write the index (which was written).
            if command is None or not command.writes_index or isinstance(exc, BrokenPipeError):
                raise
            raise Fatal(_write_error(ctx.obj, exc)) from exc

    def _command(self, ctx: click.Context) -> KbCommand | None:
        command = self.commands.get(ctx.invoked_subcommand or "")
        return command if isinstance(command, KbCommand) else None

    def _failure(self, ctx: click.Context, exc: KbError) -> Fatal:
        message = str(exc)
        command = self._command(ctx)
        if command is not None and command.not_found_hint and isinstance(exc, NotFound):
            message = f"{message}; {command.not_found_hint}"
        if command is not None and command.names_writer:
            from kb.status import writer_pid

            pid = writer_pid(ctx.obj)
            message += f" (process {pid} is writing the index now)" if pid else ""
        code = next(EXIT_CODES[k] for k in type(exc).__mro__ if k in EXIT_CODES)
        return Fatal(message, code)


def _echo_json(data) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


def _settings(ctx: click.Context) -> Settings:
    return ctx.obj


def _reader_option(command):
    """`--as EMAIL`: answer as that account reads, instead of as the server's shell (which
    reads everything, like the files themselves)."""
    return click.option(
        "--as",
        "as_email",
        metavar="EMAIL",
        default=None,
        help="Show what this member sees (default: everything, as the server's shell).",
    )(command)


def _principal(settings: Settings, email: str | None):
    """The shell's principal, or the principal of the account `email` (a usage error when
    there is no such account, or it is disabled)."""
    from kb.access import Principal
    from kb.accounts import AccountStore

    if email is None:
        return Principal.shell()
    account = AccountStore(settings.accounts_path).get(email)
    if account is None:
        raise click.BadParameter(f"no account {email!r} (see `kb users list`)", param_hint="--as")
    if account.disabled:
        raise click.BadParameter(f"the account {email!r} is disabled", param_hint="--as")
    return account.principal()


@click.group(cls=KbGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--corpus",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="KB_CORPUS",
    help="Corpus folder (env KB_CORPUS, default ./corpus).",
)
@click.option(
    "--index",
    "index_dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="KB_INDEX",
    help="Index folder (env KB_INDEX, default ./.kb/index).",
)
@click.option(
    "--base-url",
    help="The public address kb is served at, for permalinks (env KB_BASE_URL; "
    "`kb serve` defaults to the address it listens on).",
)
@click.pass_context
def main(
    ctx: click.Context, corpus: Path | None, index_dir: Path | None, base_url: str | None
) -> None:
    """kb: search, read and cite the network's knowledge base."""
    ctx.obj = Settings.resolve(corpus, index_dir, base_url)


# ---- index / check / status -----------------------------------------------------------------


def _progress_printer(enabled: bool):
    """A one-line progress bar on stderr (files done/total, rate, ETA, current file), redrawn
    at most ten times a second; None when disabled (not a terminal, --quiet, --json)."""
    if not enabled:
        return None
    state = {"start": time.monotonic(), "drawn": 0.0}

    def show(done: int, total: int, path: str) -> None:
        now = time.monotonic()
        if done < total and now - state["drawn"] < 0.1:
            return
        state["drawn"] = now
        elapsed = now - state["start"]
        rate = done / elapsed if elapsed > 0 else 0.0
        eta = (total - done) / rate if rate > 0 else 0.0
        width = 24
        filled = int(width * done / total) if total else width
        name = path if len(path) <= 40 else "…" + path[-39:]
        line = (f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} "
                f"{rate:5.1f} files/s ETA {eta:4.0f}s {name:<40}")  # fmt: skip
        click.echo(line, nl=done == total, err=True)

    return show


_LISTED_CHANGES = 20  # files added/updated/removed listed one per line, the rest counted


def _print_report(report, verb: str, quiet: bool = False) -> None:
    from indexer.report import FileStatus

    s = report.summary
    for note in report.notes:
        click.echo(f"note: {note}")
    if not quiet and verb == "index" and not report.rebuilt:
        changed = [f for f in report.files if f.change or f.status is FileStatus.REMOVED]
        for f in changed[:_LISTED_CHANGES]:
            label = f.change if f.status is FileStatus.INDEXED else f.status
            click.echo(f"{label:>8}  {f.path}" + (f"  ({f.doc_id})" if f.doc_id else ""))
        if len(changed) > _LISTED_CHANGES:
            click.echo(f"          … and {len(changed) - _LISTED_CHANGES} more")
    if not quiet:
        for f in report.files:
            for warning in f.warnings if f.change else ():
                click.echo(f" warning  {f.path}: {warning}")
    problems = [f for f in report.files if f.status in (FileStatus.SKIPPED, FileStatus.FAILED)]
    for f in problems:
        click.echo(f"{f.status:>8}  {f.path}: {f.reason}")
    if verb == "check":  # `kb index` counts them; `kb check` says which and why
        for f in report.files:
            if f.status is FileStatus.IGNORED:
                click.echo(f"{f.status:>8}  {f.path}: {f.reason}")
    for p in report.list_problems:
        where = f"{p['file']} item {p['item']} ({p['ref']})" if p["item"] else p["file"]
        click.echo(f"    list  {where}: {p['problem']}")
    if verb == "index" and report.up_to_date:
        click.echo(
            f"Index is up to date ({s['unchanged']} documents, generation {report.generation})."
        )
        return
    if verb == "check":
        parts = ", ".join(f"{s[k]} {k}" for k in ("indexed", "skipped", "failed", "ignored") if s[k] or k == "indexed")  # fmt: skip
        click.echo(f"Checked: {parts} ({report.elapsed_s:.1f}s).")
        return
    order = ("added", "updated", "removed", "unchanged", "skipped", "failed", "ignored")
    parts = ", ".join(f"{s[k]} {k}" for k in order if s[k]) or "nothing to index"
    verb_done = (f"Built a new generation {report.generation}" if report.rebuilt
                 else f"Updated {report.generation}")  # fmt: skip
    workers = f", {report.workers} workers" if report.workers > 1 else ""
    click.echo(f"{verb_done}: {parts} ({report.elapsed_s:.1f}s{workers}).")


@main.command("index", epilog=EXIT_CODES_HELP, writes_index=True)
@click.option("--rebuild", is_flag=True, help="Build a complete new generation and switch to it.")
@click.option("--rollback", is_flag=True, help="Switch back to the previous generation.")
@click.option(
    "--wait",
    type=float,
    default=0.0,
    show_default=True,
    help="Seconds to wait for another running `kb index` to finish.",
)
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=None,
    help="Extraction processes (default: number of cores).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("-q", "--quiet", is_flag=True, help="Print only problems and the summary.")
@click.pass_context
def index_cmd(
    ctx, rebuild: bool, rollback: bool, wait: float, workers: int | None, as_json: bool, quiet: bool
) -> None:
    """Bring the index up to date with the corpus.

    Only new, changed and deleted files are processed (size and mtime first, sha256 to
    confirm); when nothing changed, nothing is written. Many changed files are extracted in
    --workers processes while this one writes. --rebuild builds a complete new generation
    beside the current one and switches to it atomically; --rollback switches back to the
    previous one. Searches answer from the current index throughout; a killed run leaves it
    serving, and a damaged or missing index is rebuilt. On a terminal a progress bar shows;
    -q prints only problems and the summary; --json prints the report.
    """
    from indexer.build import rollback as do_rollback
    from indexer.build import run_index

    settings = _settings(ctx)
    if rollback:
        gen = do_rollback(settings, wait=wait)
        if as_json:
            _echo_json({"rolled_back_to": gen.name})
        else:
            click.echo(f"Rolled back to generation {gen.name}.")
        return
    progress = _progress_printer(not (as_json or quiet) and sys.stderr.isatty())
    report = run_index(settings, rebuild=rebuild, wait=wait, workers=workers, progress=progress)
    if as_json:
        _echo_json(report.to_dict())
    else:
        _print_report(report, "index", quiet)
    ctx.exit(report.exit_code)


def _write_error(settings: Settings, exc: OSError) -> str:
    where = f" ({exc.filename})" if exc.filename else ""
    return (f"could not write the index at {settings.index}: {exc.strerror or exc}{where}; "
            "nothing was written, the previous index keeps serving")  # fmt: skip


ADD_HELP = f"""Add files or web pages (http/https URLs of pages or PDFs) to the corpus and index them.

Each goes into the folder of its type ({", ".join(t.folder + "/" for t in TYPES)}); without --type,
the type is what the file declares or its title suggests, else article. The options given are
written to a sidecar <file>.meta.toml, with the URL as source_url. Prints each document's id
and permalink. An existing different file is never overwritten without --replace.
"""
ADD_EXIT_CODES_HELP = """
\b
Exit codes:
  0  every source added (or already there) and indexed
  1  some sources failed; the others were added (see the report)
  2  nothing written: every source failed, or a fatal error (index locked, unwritable)
"""


@main.command("add", help=ADD_HELP, epilog=ADD_EXIT_CODES_HELP, writes_index=True)
@click.argument("sources", nargs=-1, required=True)
@click.option("--type", "doc_type", help=f"{', '.join(DOC_TYPES)} (folder).")
@click.option("--date", help="The document's date, YYYY-MM-DD.")
@click.option("--title", help="The document's title.")
@click.option("--org", multiple=True, help="An organisation it concerns (repeatable).")
@click.option("--topic", multiple=True, help="A topic from topics.toml (repeatable).")
@click.option("--lang", help="Its language (en, sv, no, ...; detected when absent).")
@click.option("--visibility", metavar="WHO",
              help="Who may read it: public, members or organisation:<id>[,<id>...] "
                   "(default: its folder's default in kb.toml, else members).")  # fmt: skip
@click.option("--name", help="File name in the corpus (one source only).")
@click.option("--replace", is_flag=True, help="Overwrite a different file of the same name.")
@click.option("--timeout", type=click.FloatRange(0.1, 600), default=20.0, show_default=True,
              help="Seconds to wait for a URL.")  # fmt: skip
@click.option("--max-mb", type=click.FloatRange(0, 1024), default=50.0, show_default=True,
              help="Largest download accepted, in MB.")  # fmt: skip
@click.option("--wait", type=float, default=0.0, show_default=True,
              help="Seconds to wait for another writer to finish.")  # fmt: skip
@click.option("--workers", type=click.IntRange(1, 64), default=None)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("-q", "--quiet", is_flag=True, help="Print only the added documents and problems.")
@click.pass_context
def add_cmd(ctx, sources, doc_type, date, title, org, topic, lang, visibility, name, replace,
            timeout, max_mb, wait, workers, as_json, quiet) -> None:  # fmt: skip
    from indexer.add import SourceStatus, add_sources, check_metadata

    settings = _settings(ctx)
    try:
        meta = check_metadata(settings.corpus, doc_type=doc_type, date=date, title=title,
                              organisations=org, topics=topic, language=lang,
                              visibility=visibility)  # fmt: skip
    except KbError as exc:  # a mistake in the options: shown with the command's usage
        raise click.UsageError(str(exc)) from exc
    progress = _progress_printer(not (as_json or quiet) and sys.stderr.isatty())
    report = add_sources(settings, list(sources), meta, replace=replace, name=name,
                         timeout=timeout, max_bytes=int(max_mb * 1024 * 1024), wait=wait,
                         workers=workers, progress=progress)  # fmt: skip
    if as_json:
        _echo_json(report.to_dict())
        ctx.exit(report.exit_code)
    for r in report.sources:
        if r.status is SourceStatus.FAILED:
            click.echo(f"  failed  {r.reason}", err=True)
        else:
            readers = f"  ({r.visibility})" if r.visibility else ""
            click.echo(f"{r.status:>8}  {r.doc_id}  {r.permalink}{readers}")
    if report.index and not quiet:
        click.echo()
        _print_report(report.index, "index", quiet=True)
    ctx.exit(report.exit_code)


@main.command("check")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--workers", type=click.IntRange(1, 64), default=None)
@click.pass_context
def check_cmd(ctx, as_json: bool, workers: int | None) -> None:
    """Extract every file without writing anything, and report what would happen."""
    from indexer.build import check_corpus

    report = check_corpus(_settings(ctx), workers=workers)
    if as_json:
        _echo_json(report.to_dict())
    else:
        _print_report(report, "check")
    ctx.exit(report.exit_code)


@main.command("status", names_writer=True)
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
@click.pass_context
def status_cmd(ctx, as_json: bool) -> None:
    """Show the current index generation, when it was built, documents and passages by type
    and language, the last run, and the files that failed."""
    from kb.status import index_status

    status = index_status(_settings(ctx))
    if as_json:
        _echo_json(status)
        return
    previous = status["previous_generation"]
    click.echo(f"Index:       {status['index']}")
    click.echo(f"Generation:  {status['generation']} (built {status['created_at']}, "
               f"updated {status['updated_at']})"
               + (f"; previous {previous} kept for --rollback" if previous else ""))  # fmt: skip
    if status["writer_pid"]:
        click.echo(f"Writing:     process {status['writer_pid']} is updating the index now")
    click.echo(f"Documents:   {status['documents']}   passages: {status['passages']}")
    for label, docs, passages in (
        ("type", status["by_type"], status["passages_by_type"]),
        ("language", status["by_language"], status["passages_by_language"]),
    ):
        click.echo(f"  by {label}:")
        for key, n in docs.items():
            click.echo(f"    {key:<10} {n:>6} documents {passages.get(key, 0):>8} passages")
    last = status["last_run"]
    if last:
        s = last.get("summary", {})
        parts = ", ".join(f"{s[k]} {k}" for k in
                          ("added", "updated", "removed", "unchanged", "skipped", "failed")
                          if s.get(k))  # fmt: skip
        how = "rebuild" if last.get("rebuilt") else "update"
        click.echo(f"Last {how}: {last.get('finished_at')}, {last.get('elapsed_s', 0):.1f}s"
                   + (f": {parts}" if parts else ""))  # fmt: skip
    click.echo(f"Failed:      {len(status['failed'])}")
    for f in status["failed"]:
        click.echo(f"  {f['path']}: {f['reason']}")
    if status["skipped"]:
        click.echo(f"Skipped:     {len(status['skipped'])}")
        for f in status["skipped"]:
            click.echo(f"  {f['path']}: {f['reason']}")


# ---- search / show ----------------------------------------------------------------------------


def _terminal_snippet(snippet_html: str, color: bool) -> str:
    def mark(m: re.Match) -> str:
        inner = m.group(1)
        return click.style(inner, bold=True, fg="yellow") if color else f"[{inner}]"

    return html.unescape(re.sub(r"<mark>(.*?)</mark>", mark, snippet_html))


@main.command("search")
@click.argument("query", nargs=-1)
@click.option(
    "--type",
    "type_",
    multiple=True,
    help=f"Only this type ({', '.join(DOC_TYPES)}).",
)
@click.option("--year", multiple=True, help="Only this year or range (2024, 2023..2024).")
@click.option("--org", multiple=True, help="Only documents mentioning this organisation.")
@click.option("--topic", multiple=True, help="Only this topic.")
@click.option("--lang", multiple=True, help="Only this language (en, sv, no, ...).")
@click.option(
    "--sort", type=click.Choice(["relevance", "newest"]), default="relevance", show_default=True
)
@click.option("--page", type=click.IntRange(1, 1000), default=1, show_default=True)
@click.option(
    "--limit",
    type=click.IntRange(1, 100),
    default=10,
    show_default=True,
    help="Documents per page.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result (with facets) as JSON.")
@click.option(
    "--as-typed",
    is_flag=True,
    help="Search the words as typed, never a spelling correction's results instead.",
)
@_reader_option
@click.pass_context
def search_cmd(
    ctx, query, type_, year, org, topic, lang, sort, page, limit, as_json, as_typed, as_email
) -> None:
    """Search the index. Query syntax: words, "phrases", AND/OR/NOT, -word, prefix*,
    type: year: org: topic: lang: title:."""
    from kb.search import SearchRequest, open_searcher
    from kb.serialize import search_result_dict

    settings = _settings(ctx)
    filters = {k: tuple(v) for k, v in
               {"type": type_, "year": year, "org": org, "topic": topic, "lang": lang}.items() if v}  # fmt: skip
    request = SearchRequest(
        q=" ".join(query),
        filters=filters,
        sort=sort,
        page=page,
        page_size=limit,
        autocorrect=not as_typed,
    )
    result = open_searcher(settings, _principal(settings, as_email)).search(request)
    if as_json:
        _echo_json(search_result_dict(result, settings.base_url))
        return
    color = sys.stdout.isatty()
    for message in result.messages:
        click.echo(f"note: {message}")
    if result.messages:
        click.echo(f"Read as: {result.read_as}")
    click.echo(f"{result.total} documents ({result.total_passages} passages), page {result.page} of "
               f"{result.pages}, {result.elapsed_ms:.0f} ms")  # fmt: skip
    if result.corrected:
        click.echo(f"Showing results for: {result.corrected}")
        click.echo(f"Search instead for: {result.query}  (add --as-typed)")
    elif result.suggestion:
        click.echo(f"Did you mean: {result.suggestion}")
    for i, hit in enumerate(result.hits, start=(result.page - 1) * result.page_size + 1):
        meta = hit.doc.meta
        click.echo()
        title = click.style(meta.title, bold=True) if color else meta.title
        click.echo(f"{i}. {title}")
        click.echo(f"   {TYPE_LABELS.get(meta.type, meta.type)} · {meta.date or 'undated'} · {meta.language}"
                   f" · score {hit.score:.2f}")  # fmt: skip
        best = hit.best
        if best:
            where = f"{hit.doc.doc_id}#{best.anchor}" + (
                f"  (page {best.page})" if best.page else ""
            )
            click.echo(f"   {where}")
            if best.heading_path:
                click.echo(f"   § {' › '.join(best.heading_path)}")
            click.echo(f"   {_terminal_snippet(best.snippet, color)}")
        if hit.more_passages:
            click.echo(
                f"   + {hit.more_passages} more matching passage{'s' if hit.more_passages > 1 else ''}"
            )


def _resolve_ref(view, ref: str) -> tuple[str, str | None]:
    """(doc id, anchor or None) of REF: a document id exactly as written first, since an id
    is the file's path and may hold `#`, spaces or anything else a name may; otherwise
    DOC_ID#ANCHOR or a pasted permalink. Only documents the reader may see are tried as
    they are, so a hidden one answers exactly like a missing one. (An id that starts with a
    dash follows `--`: `kb show -- -notes`.)"""
    from kb.cite import parse_ref

    if view.can_see(ref):
        return ref, None
    if "://" not in ref:
        # Anchors never hold a `#`, so in `a#b#top` the id is `a#b`.
        doc_id, _, anchor = ref.rpartition("#")
        if doc_id and view.can_see(doc_id):
            return doc_id, anchor or None
    return parse_ref(ref)


@main.command("show")
@click.argument("doc_id")
@click.option("--json", "as_json", is_flag=True)
@_reader_option
@click.pass_context
def show_cmd(ctx, doc_id: str, as_json: bool, as_email: str | None) -> None:
    """Print a document with its metadata and passages (DOC_ID as shown by `kb search`)."""
    from kb.documents import load_document
    from kb.library import Library
    from kb.serialize import document_dict
    from kb.view import view_of

    settings = _settings(ctx)
    principal = _principal(settings, as_email)
    view = view_of(Library(settings).snapshot(), principal)
    document = load_document(view, _resolve_ref(view, doc_id)[0])
    data = document_dict(document, settings.base_url)
    if as_json:
        _echo_json(data)
        return
    click.echo(click.style(data["title"], bold=True))
    for key in ("doc_id", "type_label", "date", "language_name", "organisations", "topics", "author",
                "description", "source_url", "path", "page_count", "permalink"):  # fmt: skip
        value = data.get(key)
        if value:
            value = ", ".join(value) if isinstance(value, list) else value
            click.echo(f"{key.replace('_label', '').replace('_name', ''):>13}: {value}")
    for p in data["passages"]:
        click.echo()
        label = " › ".join(p["heading_path"]) or ""
        page = f"page {p['page']}" if p["page"] else ""
        click.echo(click.style(f"#{p['anchor']}  {label}  {page}".rstrip(), fg="cyan"))
        click.echo(p["text"])


# ---- cite / lists ------------------------------------------------------------------------------

NOT_FOUND_EXIT_CODES_HELP = """
\b
Exit codes:
  0  success
  1  no such document, passage or reading list
  2  nothing done: no index yet (run `kb index`) or another error
"""


@main.command("cite", epilog=NOT_FOUND_EXIT_CODES_HELP)
@click.argument("ref")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(CITE_FORMAT_IDS),
    default="text",
    show_default=True,
    help="Citation format.",
)
@click.option(
    "--style",
    type=click.Choice(CITE_STYLE_IDS),
    default=DEFAULT_STYLE,
    show_default=True,
    help="Citation style of the text and Markdown formats (APA 7, Harvard Cite Them Right, "
    "Chicago author-date, IEEE, Vancouver).",
)
@click.option("--all", "all_formats", is_flag=True, help="Print the citation in every format.")
@click.option(
    "--accessed",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Access date YYYY-MM-DD (default: today).",
)
@_reader_option
@click.pass_context
def cite_cmd(
    ctx, ref: str, fmt: str, style: str, all_formats: bool, accessed, as_email: str | None
) -> None:
    """Cite a document or passage: REF is DOC_ID or DOC_ID#ANCHOR (as shown by `kb search`).

    The text and Markdown formats give the reference-list entry as the style writes it, then
    the in-text citation with the page, slide or section cited."""
    from kb.cite import cite
    from kb.citeformats import render
    from kb.library import Library
    from kb.view import view_of

    settings = _settings(ctx)
    principal = _principal(settings, as_email)
    view = view_of(Library(settings).snapshot(), principal)
    doc_id, anchor = _resolve_ref(view, ref)
    citation = cite(
        view,
        doc_id,
        anchor,
        settings.base_url,
        accessed.date() if accessed else None,
    )
    if settings.base_url_from == FROM_DEFAULT:
        # Run apart from the server, kb cannot know the address members reach it at.
        click.echo(
            f"note: the permalink uses {settings.base_url}, the default address, which is only "
            "right for `kb serve` on this machine's port 5000. Set KB_BASE_URL or --base-url "
            "to the address kb is served at.",
            err=True,
        )
    if not all_formats:
        click.echo(render(citation, fmt, style))
        return
    for i, name in enumerate(CITE_FORMAT_IDS):
        if i:
            click.echo()
        click.echo(f"== {name} ==")
        click.echo(render(citation, name, style))


@main.command(
    "lists",
    epilog=NOT_FOUND_EXIT_CODES_HELP,
    not_found_hint="see `kb lists` for the lists there are",
)
@click.argument("slug", required=False)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "markdown", "json"]),
    default="text",
    show_default=True,
)
@click.option("--json", "as_json", is_flag=True, help="Same as --format json.")
@_reader_option
@click.pass_context
def lists_cmd(ctx, slug: str | None, fmt: str, as_json: bool, as_email: str | None) -> None:
    """List the reading lists, or print the list SLUG with its items (missing ones marked)."""
    from kb import listformats as show
    from kb import readinglists as rl
    from kb.library import Library
    from kb.view import view_of

    settings = _settings(ctx)
    principal = _principal(settings, as_email)
    fmt = "json" if as_json else fmt
    if slug is None:
        if as_email is None:  # the shell lists the files as they are, with or without an index
            lists, problems = rl.load_reading_lists(settings.corpus)
        else:
            view = view_of(Library(settings).snapshot(), principal)
            lists, problems = rl.readable_lists(settings.corpus, view)
        if fmt == "json":
            _echo_json(show.reading_lists_dict(lists, problems))
            return
        for p in problems:
            click.echo(f"warning: {p}", err=True)
        if not lists:
            click.echo(f"No reading lists in {settings.corpus / rl.LISTS_DIR}.")
        width = max((len(r.slug) for r in lists), default=0)
        for r in lists:
            about = show.list_facts(r)
            if fmt == "markdown":
                click.echo(f"- **{r.slug}**: {show.esc(r.title)} ({show.esc(about)})")
            else:
                click.echo(f"{r.slug:<{width}}  {r.title}\n{'':<{width}}  {about}")
        return
    found = rl.open_reading_list(settings.corpus, slug, Library(settings), principal)
    if fmt == "json":
        _echo_json(show.list_dict(found.reading_list, found.items, settings.base_url))
    elif fmt == "markdown":
        click.echo(show.render_markdown(found.reading_list, found.items, settings.base_url))
    else:
        click.echo(show.render_text(found.reading_list, found.items))


# ---- serve -------------------------------------------------------------------------------------


@main.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", type=click.IntRange(0, 65535), default=5000, show_default=True,
              help="Port to bind (0: any free port).")  # fmt: skip
@click.option("--threads", type=click.IntRange(1, 64), default=8, show_default=True,
              help="Threads per process.")  # fmt: skip
@click.option("--processes", type=click.IntRange(1, 32), default=1, show_default=True,
              help="Worker processes sharing the port; one uses one core at most.")  # fmt: skip
@click.option("--base-url", "serve_base_url", metavar="URL",
              help="The public address members use (https://kb.example.org); permalinks, "
              "feeds and OpenSearch use it. Default: the address kb listens on.")  # fmt: skip
@click.option("--proxies", type=click.IntRange(0, 10), default=None,
              help="Reverse proxies in front of kb whose X-Forwarded-For/-Proto are trusted "
              "(env KB_TRUSTED_PROXIES; default 0: none).")  # fmt: skip
@click.option("--insecure", is_flag=True,
              help="Serve sign-in on a public address without an https:// base URL.")  # fmt: skip
@click.pass_context
def serve_cmd(
    ctx, host: str, port: int, threads: int, processes: int,
    serve_base_url: str | None, proxies: int | None, insecure: bool,
) -> None:  # fmt: skip
    """Serve the web UI and JSON API with waitress; SIGTERM lets answers in flight finish.

    Exit codes: 0 stopped by SIGTERM or Ctrl+C; 2 the address cannot be bound, a worker
    process failed to start, or sign-in would travel unencrypted on a public address."""
    import os

    from webui import create_app
    from webui.server import listening_sockets, serve, serve_processes
    from webui.serving import public_settings

    settings = _settings(ctx)
    if processes > 1 and not hasattr(os, "fork"):
        raise click.BadParameter("needs a system with fork(); use 1", param_hint="--processes")
    shown = f"[{host}]" if ":" in host else host
    try:
        sockets = listening_sockets(host, port)
    except OSError as exc:
        raise Fatal(f"cannot listen on {shown}:{port}: {exc.strerror or exc}") from exc
    port = sockets[0].getsockname()[1]
    try:
        settings, warnings = public_settings(
            settings, host, port, base_url=serve_base_url, proxies=proxies, insecure=insecure
        )
    except KbError:
        for sock in sockets:
            sock.close()
        raise
    for warning in warnings:
        click.echo(f"warning: {warning}", err=True)
    where = f"http://{shown}:{port}/" + (f" with {processes} processes" if processes > 1 else "")
    click.echo(f"kb is serving {settings.corpus} at {where}  (Ctrl+C to stop)")
    click.echo(f"Permalinks use {settings.base_url}/ (from {settings.base_url_from}).")
    if processes == 1:
        serve(create_app(settings), threads=threads, sockets=sockets)
        return
    # Libraries loaded before forking are shared by the workers (copy-on-write) instead of
    # each loading its own copy; frozen, the collector does not touch (and copy) them.
    import gc

    import flask  # noqa: F401

    import kb.search  # noqa: F401

    gc.freeze()
    try:
        serve_processes(lambda: create_app(settings), sockets, processes, threads=threads)
    except RuntimeError as exc:
        raise Fatal(str(exc)) from exc


# ---- users -------------------------------------------------------------------------------------

main.add_command(users)
main.add_command(insights)
main.add_command(tokens)
main.add_command(backup_cmd)
main.add_command(restore_cmd)


if __name__ == "__main__":
    main()
