"""``mmexpert serve``: the local web dashboard over a data folder.

The lead's ``cli.py`` registers it::

    from mmexpert.cli_web import serve_command
    app.command("serve")(serve_command)

It also runs on its own: ``python -m mmexpert.cli_web --data DIR``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from mmexpert.cli_common import console, fail, run_standalone

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


def serve_command(
    data: Annotated[
        Path, typer.Option("--data", help="Data folder: stores, plans, models, runs/.")
    ],
    host: Annotated[
        str, typer.Option("--host", help="Address to listen on (default: this machine only).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="TCP port.")] = 8000,
    token: Annotated[
        str | None,
        typer.Option(
            "--token",
            help="Token that job, upload and model actions need (default: $MMEXPERT_TOKEN, "
            "else a random one printed here).",
        ),
    ] = None,
    max_upload_mb: Annotated[
        float, typer.Option("--max-upload-mb", min=0.001, help="Largest upload [MB].")
    ] = 20.0,
) -> None:
    """Serve the web dashboard: datasets, samples, plans, runs and the model playground."""
    try:
        import uvicorn

        from mmexpert.web import TOKEN_ENV, create_app
        from mmexpert.web.safety import PathRefusedError, new_token
    except ImportError as error:
        raise fail(
            f"the dashboard needs the 'web' extra ({error.name} is missing): "
            "pip install fastapi uvicorn python-multipart"
        ) from None
    secret = token or os.environ.get(TOKEN_ENV) or new_token()
    allowed = None if host in ("0.0.0.0", "::") else sorted({host, *LOOPBACK_HOSTS})
    try:
        application = create_app(
            data, secret, max_upload_bytes=int(max_upload_mb * 1e6), allowed_hosts=allowed
        )
    except PathRefusedError as error:
        raise fail(str(error)) from None
    shown_host = f"[{host}]" if ":" in host else host
    if host not in LOOPBACK_HOSTS:
        console.print(
            f"[yellow]listening on {host}: other machines can browse {data}[/]", highlight=False
        )
    console.print(
        f"mmExpert dashboard for {data.resolve()}\n"
        f"  open  http://{shown_host}:{port}/#token={secret}\n"
        f"  token {secret}  (needed to start runs, upload and run models; Ctrl-C stops)",
        highlight=False,
        markup=False,
    )
    uvicorn.run(application, host=host, port=port, log_level="warning")


if __name__ == "__main__":  # pragma: no cover - python -m mmexpert.cli_web
    run_standalone(serve_command)
