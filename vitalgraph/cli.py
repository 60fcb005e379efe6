"""The `vitalgraph` command: `serve` runs the server."""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path
from typing import Annotated

import typer
import uvicorn

from vitalgraph.client.cli_files import files_app
from vitalgraph.config import Settings, SettingsError, load_settings
from vitalgraph.logs import configure_logging

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
logger = logging.getLogger("vitalgraph")


@app.callback()
def _root() -> None:
    """Keeps `serve` a subcommand beside the others."""


ConfigOption = Annotated[Path | None, typer.Option("--config", help="TOML or YAML settings file")]


def _settings_or_exit(config: Path | None, **overrides: object) -> Settings:
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
) -> None:
    """Start the HTTP server (uvicorn with uvloop and httptools)."""
    settings = _settings_or_exit(config, HOST=host, PORT=port, DATA_DIR=data_dir)
    configure_logging(log_level, settings.LOG_FORMAT)
    from vitalgraph.api.app import create_app
    from vitalgraph.api.shutdown import GracefulServer
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
        config = uvicorn.Config(
            asgi_app,
            host=settings.HOST,
            port=settings.PORT,
            http="httptools",
            log_level=log_level,
            log_config=None,  # our handler (text or JSON, with request ids) formats uvicorn's lines too
            timeout_graceful_shutdown=settings.SHUTDOWN_GRACE_SECONDS,
        )
        server = GracefulServer(
            config, on_shutdown=asgi_app.state.shutdown.begin_drain, after_shutdown=services.stop
        )
        try:
            await server.serve()
        finally:
            await services.stop()

    try:
        with asyncio.Runner(loop_factory=_loop_factory()) as runner:
            runner.run(run())
    except KeyboardInterrupt:
        pass


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
