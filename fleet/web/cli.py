"""`hameau-fleet web --http ADDR`: the dashboard and REST API alone, on the fleet store (no broker needed)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from typing import Any

from fleet.cli_common import subcommand
from fleet.errors import FleetConfigError
from fleet.settings import load_settings

HTTP_HELP = "serve the dashboard and REST API on HOST:PORT (plain HTTP only on loopback; TLS from [web])"


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add `web` to the command line."""
    parser = subcommand(commands, "web", "serve the dashboard and REST API on the fleet store", run,
                        json_output=False, settings=True)
    parser.add_argument("--http", required=True, metavar="ADDR", help=HTTP_HELP)
    parser.add_argument("--log-level", default="info", choices=("debug", "info", "warning", "error"))


def run(args: argparse.Namespace) -> int:
    """Serve until SIGTERM/SIGINT (uvicorn's own handlers); 2 with one line on a bad argument."""
    logging.basicConfig(
        level=args.log_level.upper(), stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    create_app, make_server = web_parts()

    settings = load_settings(args.settings)
    app = create_app(args.db, settings)
    server = make_server(app, args.http, settings.web)
    log = logging.getLogger("hameau.fleet.web")
    log.info("dashboard on %s", args.http)
    # uvicorn stops gracefully on SIGTERM/SIGINT, then raises the signal again for the handler it found:
    # this one, so that a requested stop exits 0 rather than dying by the signal.
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda number, _frame: log.info("signal %d: stopped", number))
    try:
        asyncio.run(server.serve())
    except SystemExit:
        raise FleetConfigError(f"--http {args.http}: cannot listen there (address in use?)") from None
    finally:
        app.state.web.pool.close()
    return 0


def web_parts() -> tuple[Any, Any]:
    """create_app and make_server, loaded only by the commands that serve (FastAPI and uvicorn are heavy)."""
    try:
        from fleet.web.app import create_app
        from fleet.web.server import make_server
    except ImportError as exc:
        raise FleetConfigError(
            f"the dashboard needs the fleet's packages ({exc.name} is missing): .venv/bin/pip install -e '.[fleet]'"
        ) from None
    return create_app, make_server
