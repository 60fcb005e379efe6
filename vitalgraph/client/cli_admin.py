"""`vitalgraph backup|restore|verify|audit`: operations that a running server performs for an admin.

Connection settings come from the options, else VITALGRAPH_CLIENT_* variables or a client config file.
Exit status: 0 done (verify: nothing wrong), 1 the server refused or failed (verify: problems found),
2 bad settings.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

if TYPE_CHECKING:
    from vitalgraph.client import VitalGraphClient

stderr = Console(stderr=True)
LONG_TIMEOUT = 24 * 3600.0  # a backup answers when it is done: no byte flows before that

ServerUrl = Annotated[
    str | None, typer.Option(help="e.g. http://127.0.0.1:8001 (VITALGRAPH_CLIENT_SERVER_URL)")
]
Username = Annotated[str | None, typer.Option(help="an admin (VITALGRAPH_CLIENT_USERNAME)")]
Password = Annotated[str | None, typer.Option(help="better: VITALGRAPH_CLIENT_PASSWORD")]
ApiKey = Annotated[str | None, typer.Option(help="a bearer token (VITALGRAPH_CLIENT_API_KEY)")]


@contextlib.contextmanager
def admin_client(command: str, **connection: str | None) -> Iterator[VitalGraphClient]:
    from vitalgraph.client import ClientConfigError, VitalGraphClient, VitalGraphClientError

    try:
        with VitalGraphClient(timeout=LONG_TIMEOUT, **connection) as client:
            yield client
    except ClientConfigError as exc:
        stderr.print(f"vitalgraph {command}: {exc}")
        raise typer.Exit(2) from None
    except VitalGraphClientError as exc:
        stderr.print(f"vitalgraph {command}: {exc}")
        raise typer.Exit(1) from None


def backup(
    destination: Annotated[
        str, typer.Argument(help="a folder inside the server's BACKUP_ROOT, or s3://bucket/prefix")
    ],
    server_url: ServerUrl = None,
    username: Username = None,
    password: Password = None,
    api_key: ApiKey = None,
) -> None:
    """Back up the server's graphs and blobs while it keeps serving (incremental)."""
    with admin_client(
        "backup", server_url=server_url, username=username, password=password, api_key=api_key
    ) as c:
        report = c.admin.backup(destination)
    typer.echo(
        f"snapshot {report['snapshot_id']}: {report['quads']} quads, {report['blobs']} blobs "
        f"({report['blobs_copied']} copied, {report['bytes_copied']} bytes; "
        f"{report['blobs_already_there']} already there)"
    )
    for kind in ("missing", "corrupt"):
        for key in report[kind]:
            typer.echo(f"{kind}: {key}", err=True)
    if report["missing"] or report["corrupt"]:
        raise typer.Exit(1)


def restore_through_server(
    source: str,
    spaces: list[str] | None,
    snapshot: str | None,
    connection: dict[str, str | None],
) -> None:
    with admin_client("restore", **connection) as client:
        report = client.admin.restore(source, spaces or None, snapshot)
    typer.echo(
        f"restored snapshot {report['snapshot_id']}: spaces {', '.join(report['spaces']) or '(none)'}, "
        f"{report['quads']} quads, {report['blobs_restored']} blobs"
    )


def verify(
    orphan_min_age_seconds: Annotated[
        float, typer.Option(help="younger unreferenced blobs may be uploads still committing")
    ] = 60,
    server_url: ServerUrl = None,
    username: Username = None,
    password: Password = None,
    api_key: ApiKey = None,
) -> None:
    """Check every file against its blob (size, SHA-256) and list orphaned blobs; changes nothing."""
    with admin_client(
        "verify", server_url=server_url, username=username, password=password, api_key=api_key
    ) as c:
        report = c.admin.verify(orphan_min_age_seconds)
    typer.echo(f"{report['nodes']} file nodes, {report['blobs_checked']} blobs read")
    for kind in ("missing", "corrupt", "orphaned"):
        for key in report[kind]:
            typer.echo(f"{kind}: {key}")
    typer.echo("ok" if report["ok"] else "problems found")
    if not report["ok"]:
        raise typer.Exit(1)


def audit(
    user: Annotated[str | None, typer.Option(help="entries by this username")] = None,
    space: Annotated[str | None, typer.Option("--space", help="entries about this space")] = None,
    action: Annotated[str | None, typer.Option(help="an action or prefix, e.g. file. or auth.login")] = None,
    since: Annotated[datetime | None, typer.Option(help="ISO 8601")] = None,
    until: Annotated[datetime | None, typer.Option(help="ISO 8601")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 1000,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="write JSON lines here")] = None,
    server_url: ServerUrl = None,
    username: Username = None,
    password: Password = None,
    api_key: ApiKey = None,
) -> None:
    """Print the audit trail as JSON lines (oldest first), filtered by user, space, action and time."""
    with admin_client(
        "audit", server_url=server_url, username=username, password=password, api_key=api_key
    ) as c:
        entries = c.audit.list_entries(
            user=user, space_id=space, action=action, since=since, until=until, limit=limit
        ).entries
    lines = [json.dumps(entry.model_dump(mode="json"), separators=(",", ":")) for entry in entries]
    if output is None:
        for line in lines:
            typer.echo(line)
    else:
        output.write_text("".join(line + "\n" for line in lines))
        typer.echo(f"{len(lines)} entries written to {output}", err=True)


quota_app = typer.Typer(help="Show and set quotas of spaces and organizations.", no_args_is_help=True)
SIZE_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}


def parse_size(text: str | None) -> int | None:
    """ "10G", "512M", "1000" -> bytes; "none" -> no limit."""
    if text is None or text.lower() == "none":
        return None
    number, unit = text.rstrip("KMGTkmgtBb"), text[len(text.rstrip("KMGTkmgtBb")) :].upper().rstrip("B")
    if not number.isdigit() or unit not in SIZE_UNITS:
        raise typer.BadParameter(f"{text!r}: a whole number of bytes, optionally with K, M, G or T")
    return int(number) * SIZE_UNITS[unit]


@quota_app.command("show")
def quota_show(
    space: Annotated[str | None, typer.Option("--space")] = None,
    organization: Annotated[str | None, typer.Option("--organization")] = None,
    server_url: ServerUrl = None,
    username: Username = None,
    password: Password = None,
    api_key: ApiKey = None,
) -> None:
    """Usage and quotas of a space (or of an organization over its spaces), as JSON."""
    if bool(space) == bool(organization):
        raise typer.BadParameter("give exactly one of --space and --organization")
    with admin_client(
        "quota", server_url=server_url, username=username, password=password, api_key=api_key
    ) as c:
        shown = c.quotas.space_usage(space) if space else c.quotas.organization_usage(organization)
    typer.echo(json.dumps(shown, indent=2))


@quota_app.command("set")
def quota_set(
    space: Annotated[str | None, typer.Option("--space")] = None,
    organization: Annotated[str | None, typer.Option("--organization")] = None,
    max_bytes: Annotated[str | None, typer.Option(help="e.g. 10G, 512M, 1000; none = no limit")] = None,
    max_files: Annotated[int | None, typer.Option(min=0, help="number of file nodes")] = None,
    join: Annotated[
        str | None, typer.Option("--join", help="with --space: put the space in this organization")
    ] = None,
    server_url: ServerUrl = None,
    username: Username = None,
    password: Password = None,
    api_key: ApiKey = None,
) -> None:
    """Set a space's or an organization's quota (admins); both limits left out removes it."""
    if bool(space) == bool(organization):
        raise typer.BadParameter("give exactly one of --space and --organization")
    limit = parse_size(max_bytes)
    with admin_client(
        "quota", server_url=server_url, username=username, password=password, api_key=api_key
    ) as c:
        if space and join:
            c.quotas.set_space_organization(space, join)
        shown = (
            c.quotas.set_space_quota(space, limit, max_files)
            if space
            else c.quotas.set_organization_quota(organization, limit, max_files)
        )
    typer.echo(json.dumps(shown, indent=2))
