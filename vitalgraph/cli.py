"""The `vitalgraph` command: `serve` runs the server."""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from vitalgraph.client import cli_admin
from vitalgraph.client.cli_files import files_app
from vitalgraph.logs import configure_logging

if TYPE_CHECKING:
    from vitalgraph.config import Settings

EXIT_STATUSES = (
    "Exit statuses: 0 done; 1 failed (the server refused, a transfer failed, the server or a store cannot "
    "be reached); 2 a missing or invalid setting or option (e.g. no credentials: --token or "
    "VITALGRAPH_TOKEN); 130 interrupted by Ctrl-C (a download keeps NAME.part to continue next time)."
)
app = typer.Typer(
    help="VitalGraph: a knowledge-graph server with streaming files.",
    epilog=EXIT_STATUSES,
    no_args_is_help=True,
)
app.add_typer(files_app, name="files")
app.command()(cli_admin.backup)
app.command()(cli_admin.verify)
app.command()(cli_admin.audit)
app.add_typer(cli_admin.quota_app, name="quota")
logger = logging.getLogger("vitalgraph")


@app.callback()
def _root() -> None:
    """Keeps `serve` a subcommand beside the others."""


ConfigOption = Annotated[Path | None, typer.Option("--config", help="TOML or YAML settings file")]


def _settings_or_exit(config: Path | None, **overrides: object) -> Settings:
    # the server's settings (pydantic-settings) load only for the server's commands: `files` starts faster
    from vitalgraph.config import SettingsError, load_settings

    try:
        return load_settings(config, **overrides)
    except SettingsError as exc:
        typer.echo(f"vitalgraph: {exc}", err=True)
        raise typer.Exit(2) from None


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="address to bind")] = None,
    port: Annotated[int | None, typer.Option(help="port to listen on")] = None,
    data_dir: Annotated[Path | None, typer.Option(help="where the embedded stores keep data")] = None,
    config: ConfigOption = None,
    log_level: Annotated[str, typer.Option(help="debug, info, warning")] = "info",
    certfile: Annotated[
        Path | None, typer.Option(help="PEM certificate (chain): serve HTTPS (VITALGRAPH_TLS_CERTFILE)")
    ] = None,
    keyfile: Annotated[
        Path | None, typer.Option(help="PEM private key for --certfile (VITALGRAPH_TLS_KEYFILE)")
    ] = None,
    redirect_port: Annotated[
        int | None,
        typer.Option(
            help="also listen for plain HTTP here and redirect it to HTTPS (VITALGRAPH_TLS_REDIRECT_PORT)"
        ),
    ] = None,
    hsts_max_age: Annotated[
        int | None,
        typer.Option(
            help="send Strict-Transport-Security with this max-age (VITALGRAPH_HSTS_MAX_AGE_SECONDS)"
        ),
    ] = None,
) -> None:
    """Start the HTTP server (uvicorn, uvloop, httptools; limits in docs/security.md).

    HTTPS with --certfile and --keyfile."""
    settings = _settings_or_exit(
        config,
        HOST=host,
        PORT=port,
        DATA_DIR=data_dir,
        TLS_CERTFILE=certfile,
        TLS_KEYFILE=keyfile,
        TLS_REDIRECT_PORT=redirect_port,
        HSTS_MAX_AGE_SECONDS=hsts_max_age,
    )
    configure_logging(log_level, settings.LOG_FORMAT)
    if settings.OTLP_ENDPOINT:
        from vitalgraph import tracing

        try:
            tracing.configure(tracing.otlp_provider(settings.OTLP_ENDPOINT))
        except ImportError:
            typer.echo(
                "vitalgraph: VITALGRAPH_OTLP_ENDPOINT needs the tracing extra: pip install 'vitalgraph[tracing]'",
                err=True,
            )
            raise typer.Exit(2) from None
    from vitalgraph.api.app import create_app
    from vitalgraph.api.server import build_server, redirect_server
    from vitalgraph.errors import StorageUnavailableError
    from vitalgraph.services.container import Services

    async def run() -> None:
        try:
            services = await Services.start(settings)
        except StorageUnavailableError as exc:
            typer.echo(f"vitalgraph: cannot start: {exc}", err=True)
            raise typer.Exit(1) from None
        if services.generated_admin_password:
            typer.echo(
                f"Generated admin password for user '{settings.ADMIN_USERNAME}': "
                f"{services.generated_admin_password}\n(stored hashed in {settings.DATA_DIR / 'auth.json'}; "
                "shown only this once — set VITALGRAPH_ADMIN_PASSWORD to choose your own)",
                err=True,
            )
        asgi_app = create_app(settings, services)
        server = build_server(
            settings,
            asgi_app,
            on_shutdown=asgi_app.state.shutdown.begin_drain,
            after_shutdown=services.stop,
            log_level=log_level,
        )
        redirect = redirect_server(settings, log_level)
        redirect_task = asyncio.create_task(redirect.serve()) if redirect else None
        _freeze_start_up_objects()
        try:
            await server.serve()
        finally:
            if redirect_task is not None:
                redirect.should_exit = True
                await redirect_task
            await services.stop()
            _flush_traces()

    try:
        with asyncio.Runner(loop_factory=_loop_factory()) as runner:
            runner.run(run())
    except KeyboardInterrupt:
        pass


def _freeze_start_up_objects() -> None:
    """Leave the objects start-up made (modules, the app, ~120 000 of them) out of the cyclic garbage
    collector's passes. Each full pass over them stopped the event loop, and every request in flight,
    for 35-100 ms, twice in a 30 s hostile campaign; after the freeze a full pass took ~2 ms."""
    import gc

    gc.collect()
    gc.freeze()


@app.command()
def gc(
    data_dir: Annotated[Path | None, typer.Option(help="where the embedded stores keep data")] = None,
    config: ConfigOption = None,
    stale_upload_seconds: Annotated[
        int | None, typer.Option(help="unfinished uploads older than this go")
    ] = None,
    orphan_min_age_seconds: Annotated[
        int | None, typer.Option(help="unreferenced blobs older than this go")
    ] = None,
) -> None:
    """Remove unfinished uploads and blobs that no file node references.

    With the embedded graph store, stop the server first (its database is locked while it runs);
    a running server also collects garbage by itself every GC_INTERVAL_SECONDS.
    """
    settings = _settings_or_exit(
        config,
        DATA_DIR=data_dir,
        STALE_UPLOAD_SECONDS=stale_upload_seconds,
        ORPHAN_MIN_AGE_SECONDS=orphan_min_age_seconds,
    )
    from vitalgraph.errors import StorageUnavailableError
    from vitalgraph.services.container import Services

    async def run() -> None:
        try:
            services = await Services.start(settings, collect_garbage=False)
        except (StorageUnavailableError, OSError) as exc:
            typer.echo(f"vitalgraph gc: cannot open the stores: {exc}", err=True)
            raise typer.Exit(1) from None
        try:
            report = await services.collect_garbage()
        finally:
            await services.stop()
        typer.echo(
            f"removed {report.unfinished_uploads_removed} unfinished uploads and "
            f"{report.orphan_blobs_removed} orphan blobs; kept {report.young_orphans_kept} orphans younger than "
            f"{settings.ORPHAN_MIN_AGE_SECONDS}s; removed {report.expired_resumable_uploads_removed} expired "
            "resumable uploads"
        )

    asyncio.run(run())


@app.command()
def restore(
    source: Annotated[str, typer.Argument(help="the backup: a folder, or s3://bucket/prefix")],
    space: Annotated[
        list[str] | None, typer.Option("--space", help="restore only this space (repeat for more)")
    ] = None,
    snapshot: Annotated[str | None, typer.Option(help="a snapshot id; default: the newest")] = None,
    offline: Annotated[
        bool,
        typer.Option(
            help="open the stores directly instead of asking a running server (stop the server first "
            "when it uses the embedded graph store); for rebuilding an empty data folder"
        ),
    ] = False,
    data_dir: Annotated[Path | None, typer.Option(help="with --offline: the data folder to fill")] = None,
    config: ConfigOption = None,
    server_url: cli_admin.ServerUrl = None,
    username: cli_admin.Username = None,
    password: cli_admin.Password = None,
    api_key: cli_admin.ApiKey = None,
) -> None:
    """Restore a backup: everything into an empty server, or the given spaces into a running one."""
    if not offline:
        connection = {
            "server_url": server_url,
            "username": username,
            "password": password,
            "api_key": api_key,
        }
        cli_admin.restore_through_server(source, space, snapshot, connection)
        return
    settings = _settings_or_exit(config, DATA_DIR=data_dir)
    from vitalgraph.errors import VitalGraphError
    from vitalgraph.services import backup as backups
    from vitalgraph.services.backup_targets import open_target
    from vitalgraph.services.container import Services

    async def run() -> backups.RestoreReport:
        services = await Services.start(settings, collect_garbage=False)
        origin = open_target(source, settings)
        try:
            await origin.open()
            return await backups.restore(
                services.graph,
                services.blobs,
                origin,
                spaces=space or None,
                snapshot_id=snapshot,
                data_dir=settings.DATA_DIR,
            )
        finally:
            await origin.close()
            await services.stop()

    try:
        report = asyncio.run(run())
    except (VitalGraphError, OSError) as exc:
        typer.echo(f"vitalgraph restore: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(
        f"restored snapshot {report.snapshot_id}: spaces {', '.join(report.spaces) or '(none)'}, "
        f"{report.quads} quads, {report.blobs_restored} blobs"
    )


@app.command()
def upgrade(
    check: Annotated[bool, typer.Option("--check", help="only say what the migration would do")] = False,
    data_dir: Annotated[Path | None, typer.Option(help="where the embedded stores keep data")] = None,
    config: ConfigOption = None,
) -> None:
    """Bring the stores to this version's format (the server also does this at start).

    Exit status: 0 done or nothing to do (with --check: nothing to do), 1 the store is newer than this
    version or cannot be opened, 3 with --check: a migration is pending. With the embedded graph store,
    stop the server first (its database is locked while it runs).
    """
    settings = _settings_or_exit(config, DATA_DIR=data_dir)
    from vitalgraph.blobs import create_blob_store
    from vitalgraph.errors import VitalGraphError
    from vitalgraph.graph import create_graph_store
    from vitalgraph.services import migrations

    async def run() -> tuple[migrations.UpgradePlan, list[str]]:
        graph, blobs = create_graph_store(settings), create_blob_store(settings)
        await graph.open()
        try:
            await blobs.open()
            try:
                pending = await migrations.plan(graph, blobs)
                if check or pending.too_new or not pending.steps:
                    return pending, []
                return pending, await migrations.migrate(graph, blobs, settings.DATA_DIR)
            finally:
                await blobs.close()
        finally:
            await graph.close()

    try:
        pending, applied = asyncio.run(run())
    except (VitalGraphError, OSError) as exc:
        typer.echo(f"vitalgraph upgrade: {exc}", err=True)
        raise typer.Exit(1) from None
    if pending.too_new:
        typer.echo(f"vitalgraph upgrade: {pending.describe()[0]}", err=True)
        raise typer.Exit(1)
    if check:
        verb = "would run" if pending.steps else ""
        for line in pending.describe():
            typer.echo(f"{verb} {line}".strip())
        raise typer.Exit(3 if pending.steps else 0)
    for line in applied or pending.describe():
        typer.echo(f"migrated: {line}" if applied else line)


def _flush_traces() -> None:
    """Send the spans still batched before the process ends."""
    from vitalgraph import tracing

    provider = tracing.provider()
    if provider is not None and hasattr(provider, "shutdown"):
        provider.shutdown()


def _loop_factory():  # type: ignore[no-untyped-def]
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is in uvicorn[standard]
        return None
    return uvloop.new_event_loop


def main() -> None:
    app()


if __name__ == "__main__":
    sys.exit(main())
