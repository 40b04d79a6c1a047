"""`hameau-fleet serve` from its arguments: check them, open the store, serve until SIGTERM/SIGINT."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from types import FrameType
from typing import TYPE_CHECKING

from fleet.app import jobs, open_fleet, routes
from fleet.cli_common import subcommand
from fleet.serve.config import build_config
from fleet.serve.service import IngestService
from fleet.settings import FleetSettings, load_settings
from fleet.store import open_store

if TYPE_CHECKING:
    from fleet.web.server import WebThread


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add `serve` to the command line (a FleetError from its start or its run: one line, exit 2)."""
    parser = subcommand(commands, "serve", "ingest every box's batches and status from the broker, store them,"
                        " acknowledge", serve, json_output=False, settings=True)
    parser.add_argument("--broker", required=True, help="the broker, mqtts://HOST:PORT (TLS only)")
    parser.add_argument("--ca", required=True, help="CA certificate file that signed the broker's certificate")
    parser.add_argument("--username", default="fleet.hameau", help="MQTT user name (default: fleet.hameau)")
    parser.add_argument("--password-file", required=True, help="file holding the MQTT password (mode 600)")
    parser.add_argument("--client-id", default=None,
                        help="stable MQTT client id: the broker keeps this process's session across restarts")
    parser.add_argument("--http", default=None, metavar="ADDR",
                        help="also serve the dashboard and REST API on HOST:PORT (see hameau-fleet web)")
    parser.add_argument("--log-level", default="info", choices=("debug", "info", "warning", "error"))


def serve(args: argparse.Namespace) -> int:
    """Run the ingest core; 0 on SIGTERM/SIGINT, 2 with one line on a bad argument or refused login."""
    logging.basicConfig(
        level=args.log_level.upper(), stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    config = build_config(
        broker=args.broker, ca=args.ca, username=args.username, password_file=args.password_file,
        db=args.db, client_id=args.client_id,
    )
    settings = load_settings(args.settings)
    store = open_fleet(config.db_url, settings)
    job_store = None
    try:
        periodic = jobs(settings)
        if periodic:
            job_store = open_store(config.db_url)
        service = IngestService(
            config, store, jobs=periodic, job_db=None if job_store is None else job_store.db,
            routes=routes(settings),
        )

        def _stop(signum: int, _frame: FrameType | None) -> None:
            logging.getLogger("hameau.fleet.serve").info("signal %d: stopping", signum)
            service.stop()

        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
        web = _start_web(args.http, config.db_url, settings)
        try:
            return service.run()
        finally:
            if web is not None:
                web.stop()
                web.server.config.app.state.web.pool.close()
    finally:
        store.close()
        if job_store is not None:
            job_store.close()


def _start_web(addr: str | None, url: str | None, settings: FleetSettings) -> WebThread | None:
    if addr is None:
        return None
    from fleet.web.cli import web_parts

    create_app, make_server = web_parts()
    # importable now that web_parts found uvicorn
    from fleet.web.server import WebThread

    thread = WebThread(make_server(create_app(url, settings), addr, settings.web))
    thread.start()
    logging.getLogger("hameau.fleet.serve").info("dashboard on %s", addr)
    return thread
