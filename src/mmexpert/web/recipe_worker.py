"""The child process of the ``run`` job (:mod:`mmexpert.web.recipe_job`).

``python -m mmexpert.web.recipe_worker REQUEST.json`` runs
:func:`~mmexpert.flywheel.recipe.run_recipe` with the options of the request file and writes
one JSON object per line on stdout: ``{"log": LINE}`` per recipe log line, then
``{"report": PATH}`` (exit status 0) or ``{"error": MESSAGE}`` for a :class:`RecipeError`
(exit status 2). Anything else that libraries print goes to stderr.

The server holds the write end of this process's stdin. When the server dies, stdin reaches
end of file and the watchdog terminates this process group (the simulation workers
included), so no orphan keeps writing into a run folder that a later resume writes too.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any, TextIO

PARENT_GONE_STATUS = 3


def _watch_parent(stream: TextIO, finished: threading.Event) -> None:
    """Stop this process group when the server's end of ``stream`` closes before the run
    has finished."""

    def watch() -> None:
        try:
            while stream.read(4096):
                pass
        except (OSError, ValueError):
            pass
        if finished.is_set():
            return
        if os.name == "posix" and os.getpgid(0) == os.getpid():  # we lead our own group
            os.killpg(0, signal.SIGTERM)
        os._exit(PARENT_GONE_STATUS)

    threading.Thread(target=watch, name="parent-watchdog", daemon=True).start()


def main(argv: list[str] | None = None) -> int:
    """Run the recipe of a request file, JSON events on stdout.

    Parameters
    ----------
    argv
        ``[REQUEST.json]`` (default ``sys.argv[1:]``); the file holds ``{"options": {...}}``
        with the :class:`~mmexpert.flywheel.recipe.RunOptions` fields (paths as strings).

    Returns
    -------
    int
        0 done, 2 the recipe refused its settings or a stage failed (message sent).
    """
    arguments = sys.argv[1:] if argv is None else argv
    # The protocol keeps the real stdout; stray prints of libraries go to stderr instead.
    protocol = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    os.dup2(2, 1)
    finished = threading.Event()
    _watch_parent(sys.stdin, finished)

    def send(event: dict[str, Any]) -> None:
        protocol.write(json.dumps(event) + "\n")
        protocol.flush()

    from mmexpert.flywheel.recipe import RecipeError, RunOptions, run_recipe

    request = json.loads(Path(arguments[0]).read_text(encoding="utf-8"))
    fields = dict(request["options"])
    fields["out"] = Path(fields["out"])
    if fields.get("real"):
        fields["real"] = (fields["real"][0], Path(fields["real"][1]))
    try:
        report = run_recipe(RunOptions(**fields), log=lambda line: send({"log": line}))
    except RecipeError as error:
        finished.set()
        send({"error": str(error)})
        return 2
    finished.set()
    send({"report": str(report)})
    protocol.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
