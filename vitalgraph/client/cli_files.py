"""`vitalgraph files upload|download|list|delete|versions|restore`: the sync client on the command line.

Connection settings come from the options, else VITALGRAPH_CLIENT_* variables or a client config file.
"""

from __future__ import annotations

import contextlib
import mimetypes
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table

if TYPE_CHECKING:
    from vitalgraph.client import VitalGraphClient

files_app = typer.Typer(
    help="Upload, download, list and delete files on a VitalGraph server.", no_args_is_help=True
)
stderr = Console(stderr=True)

GraphOption = Annotated[
    str | None, typer.Option("--graph-id", help="graph in the space (default graph if unset)")
]


# Exit statuses of `vitalgraph files ...` (also listed in `vitalgraph --help`).
EXIT_FAILED = 1  # the server refused, the transfer failed, or it cannot be reached
EXIT_USAGE = 2  # a missing or invalid setting: no credentials, a bad option value
EXIT_INTERRUPTED = 130  # Ctrl-C (SIGINT); a download keeps its .part to continue next time

CREDENTIALS_HINT = (
    "pass --token (or set VITALGRAPH_TOKEN), or --username and --password "
    "(or set VITALGRAPH_CLIENT_USERNAME and VITALGRAPH_CLIENT_PASSWORD)"
)
SERVER_HINT = "check --server-url (or VITALGRAPH_CLIENT_SERVER_URL) and that the server runs"


@files_app.callback()
def connection(
    ctx: typer.Context,
    server_url: Annotated[
        str | None,
        typer.Option(help="e.g. http://127.0.0.1:8001 (default; or VITALGRAPH_CLIENT_SERVER_URL)"),
    ] = None,
    username: Annotated[str | None, typer.Option(help="or VITALGRAPH_CLIENT_USERNAME")] = None,
    password: Annotated[
        str | None, typer.Option(help="better: VITALGRAPH_CLIENT_PASSWORD (not in shell history)")
    ] = None,
    token: Annotated[
        str | None,
        typer.Option(
            "--token", "--api-key", envvar="VITALGRAPH_TOKEN", help="an API token (or an access token)"
        ),
    ] = None,
    config: Annotated[
        Path | None, typer.Option("--config", help="client settings file (TOML or YAML)")
    ] = None,
) -> None:
    """Options before the subcommand say which server and credentials to use."""
    ctx.obj = {
        "server_url": server_url,
        "username": username,
        "password": password,
        "api_key": token,
        "config_file": config,
    }


def _fail(message: str, status: int) -> typer.Exit:
    stderr.print(f"vitalgraph files: {message}", markup=False, highlight=False)
    return typer.Exit(status)


@contextlib.contextmanager
def _client(ctx: typer.Context) -> Iterator[VitalGraphClient]:
    """A logged-in client; a client error ends the command with a message naming what to change."""
    from vitalgraph.client import (
        AuthenticationError,
        ClientConfig,
        ClientConfigError,
        NetworkError,
        VitalGraphClient,
        VitalGraphClientError,
    )

    try:
        settings = {k: v for k, v in ctx.obj.items() if k != "config_file"}
        config = ClientConfig.load(ctx.obj["config_file"], **settings)
        if not config.credentials_given():
            raise _fail(f"no credentials: {CREDENTIALS_HINT}", EXIT_USAGE)
        with VitalGraphClient(config=config) as client:
            yield client
    except ClientConfigError as exc:
        raise _fail(str(exc), EXIT_USAGE) from None
    except AuthenticationError as exc:
        raise _fail(f"{exc} ({CREDENTIALS_HINT})", EXIT_FAILED) from None
    except NetworkError as exc:
        raise _fail(f"{exc} ({SERVER_HINT})", EXIT_FAILED) from None
    except VitalGraphClientError as exc:
        raise _fail(str(exc), EXIT_FAILED) from None


@contextlib.contextmanager
def _progress_bar(description: str) -> Iterator[Callable[[int, int | None], None]]:
    """A rich progress bar with size, rate and time left; yields the client's progress callback."""
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=stderr, transient=False) as progress:
        task = progress.add_task(description, total=None)
        yield lambda done, total: progress.update(task, completed=done, total=total)


@files_app.command()
def upload(
    ctx: typer.Context,
    space_id: str,
    file_uri: str,
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    graph_id: GraphOption = None,
    content_type: Annotated[str | None, typer.Option(help="default: guessed from the file name")] = None,
    filename: Annotated[str | None, typer.Option(help="name to store (default: the file's)")] = None,
    create: Annotated[bool, typer.Option("--create", help="create the file node first if missing")] = False,
    sha256: Annotated[
        str | None,
        typer.Option(
            help="the file's SHA-256 (hex), if known: the server checks the bytes against it, and when the "
            "space already holds this content no byte is sent"
        ),
    ] = None,
) -> None:
    """Stream a local file into a file node's content."""
    from vitalgraph.client import NotFoundError
    from vitalgraph.model import FileNode

    with _client(ctx) as client:
        if create:
            try:
                client.files.get_file(space_id, file_uri, graph_id)
            except NotFoundError:
                client.files.create_file(space_id, [FileNode(file_uri, name=filename or path.name)], graph_id)
        if sha256:
            try:
                reused = client.files.reuse_content(
                    space_id,
                    graph_id,
                    file_uri,
                    sha256,
                    path.stat().st_size,
                    filename=filename or path.name,
                    content_type=content_type or mimetypes.guess_type(path.name)[0],
                )
            except NotFoundError:
                pass  # the space does not hold it (or the node is missing: the upload says which)
            else:
                typer.echo(
                    f"reused {reused.size} bytes the space holds for {reused.uri} (sha256 {reused.sha256})"
                )
                return
        with _progress_bar(f"upload {path.name}") as progress:
            result = client.files.upload_file_stream(
                space_id,
                graph_id,
                file_uri,
                path,
                filename=filename,
                content_type=content_type,
                progress=progress,
                sha256=sha256,
            )
    typer.echo(f"uploaded {result.size} bytes to {result.uri} (sha256 {result.sha256})")


@files_app.command()
def download(
    ctx: typer.Context,
    space_id: str,
    file_uri: str,
    destination: Annotated[
        Path, typer.Argument(dir_okay=False, help="written as DESTINATION.part until verified")
    ],
    graph_id: GraphOption = None,
    resume: Annotated[
        bool,
        typer.Option(
            "--resume/--no-resume",
            help="continue an interrupted download from DESTINATION.part (its ETag is kept beside it)",
        ),
    ] = True,
    version: Annotated[
        int | None,
        typer.Option(min=0, help="a kept previous content, by its number (see `vitalgraph files versions`)"),
    ] = None,
) -> None:
    """Stream a file node's content to a local file, resuming after drops and verifying its SHA-256.

    Interrupted (Ctrl-C, a lost connection), it leaves DESTINATION.part and DESTINATION.part.etag; run
    the same command again to continue with If-Range. If the file changed on the server meanwhile, it
    starts over and says so. --no-resume always starts from the first byte.
    """
    with _client(ctx) as client:
        try:
            with _progress_bar(f"download {destination.name}") as progress:
                result = client.files.download_file_stream(
                    space_id,
                    graph_id,
                    file_uri,
                    destination,
                    progress=progress,
                    resume=resume,
                    version=version,
                )
        except KeyboardInterrupt:
            part = destination.with_name(destination.name + ".part")
            kept = part.stat().st_size if resume and part.exists() else 0
            hint = (
                f"kept {kept} bytes in {part}; run the same command again to continue"
                if resume
                else "nothing kept"
            )
            raise _fail(f"interrupted: {hint}", EXIT_INTERRUPTED) from None
    if result.started_over:
        typer.echo(
            f"the file changed on the server since the interrupted download: started over ({destination}.part)"
        )
    elif result.continued_from:
        typer.echo(
            f"continued the interrupted download from byte {result.continued_from} of {result.size} (If-Range)"
        )
    resumed = f", resumed {result.resumed}x" if result.resumed else ""
    typer.echo(f"downloaded {result.size} bytes to {destination} (sha256 verified{resumed})")


@files_app.command("list")
def list_files(
    ctx: typer.Context,
    space_id: str,
    graph_id: GraphOption = None,
    file_filter: Annotated[
        str | None, typer.Option("--filter", help="only nodes whose text contains this")
    ] = None,
    page_size: Annotated[int, typer.Option(min=1, max=1000)] = 100,
    offset: Annotated[int, typer.Option(min=0)] = 0,
) -> None:
    """List the file nodes of a space as a table."""
    with _client(ctx) as client:
        page = client.files.list_files(
            space_id, graph_id, page_size=page_size, offset=offset, file_filter=file_filter
        )
    table = Table("URI", "name", "bytes", "type", "sha256", title=f"{page.total_count} file(s) in {space_id}")
    for node in page.files:
        size = "" if node.fileLength is None else str(node.fileLength)
        table.add_row(
            node.URI, node.fileName or node.name or "", size, node.fileType or "", (node.sha256 or "")[:16]
        )
    Console(width=200).print(table)


@files_app.command()
def delete(
    ctx: typer.Context,
    space_id: str,
    file_uris: Annotated[list[str], typer.Argument(help="one or more file node URIs")],
    graph_id: GraphOption = None,
) -> None:
    """Delete file nodes and their content (all or none: an unknown URI deletes nothing)."""
    with _client(ctx) as client:
        result = client.files.delete_files_batch(space_id, graph_id, file_uris)
    typer.echo(f"deleted {result.deleted_count} file(s)")


@files_app.command()
def versions(ctx: typer.Context, space_id: str, file_uri: str, graph_id: GraphOption = None) -> None:
    """List the previous contents a file keeps (the server's FILE_VERSIONS_KEPT), newest first."""
    with _client(ctx) as client:
        kept = client.files.list_file_versions(space_id, file_uri, graph_id)
    table = Table(
        "version", "bytes", "sha256", "uploaded", "by", "name", title=f"{len(kept.versions)} version(s)"
    )
    for v in kept.versions:
        uploaded = v.modified.isoformat(timespec="seconds") if v.modified else ""
        table.add_row(str(v.version), str(v.size), v.sha256, uploaded, v.uploader or "", v.filename or "")
    Console(width=200).print(table)


@files_app.command()
def restore(
    ctx: typer.Context,
    space_id: str,
    file_uri: str,
    version: Annotated[
        int, typer.Argument(min=0, help="the version's number, from `vitalgraph files versions`")
    ],
    graph_id: GraphOption = None,
    if_match: Annotated[
        int | None, typer.Option(help="only if the node is still at this version (its ETag), else refused")
    ] = None,
) -> None:
    """Make a kept version the file's content again; the content it replaces is kept as a version."""
    with _client(ctx) as client:
        result = client.files.restore_file_version(space_id, file_uri, version, graph_id, if_match=if_match)
    typer.echo(
        f"restored version {version} of {result.uri}: {result.size} bytes (sha256 {result.sha256}), "
        f"node version {result.version}"
    )
