"""The local web dashboard (``mmexpert serve``): browse, inspect, launch and watch.

==================  ===============================================================
module              contents
==================  ===============================================================
app                 create_app: the FastAPI routes (read-only GETs open, POSTs need
                    the start-up token) and the static page
safety              DataRoot (request paths stay inside the data folder), tokens
catalog             stores, samples (maps, points, re-synthesized skeleton), plans,
                    models found under the data folder
jobs                JobManager, JobKind, JOB_KINDS: background jobs persisted in
                    ``runs/<id>/job.json`` (survive refreshes and restarts); cancel
                    (``cancelled``, resumable) and resume
runs                the ``generate`` (scenario -> plan -> dataset) and ``flywheel``
                    job kinds
recipe_job          the ``run`` job kind: the whole recipe (plan, generate, train,
                    evaluate, report.md) in a child process group that cancel stops
recipe_worker       the child process of a ``run`` job (JSON lines on stdout)
report_view         a run folder's report.md, results.json and figures; plain files
                    (PNG, Markdown, JSON, text) served from the data folder
flywheel_view       read-only flywheel run folders (accuracy per round, confusion)
playground          uploads of real recordings, zero-shot scores, captions, answers
static/             index.html, app.js, style.css: plain canvas drawing, no CDN
==================  ===============================================================

The page and the API only wire library calls together; nothing here simulates or trains.
"""

from mmexpert.web.app import create_app
from mmexpert.web.jobs import JOB_KINDS, JobKind, JobManager
from mmexpert.web.safety import TOKEN_ENV, TOKEN_HEADER, DataRoot, PathRefusedError

__all__ = [
    "JOB_KINDS",
    "TOKEN_ENV",
    "TOKEN_HEADER",
    "DataRoot",
    "JobKind",
    "JobManager",
    "PathRefusedError",
    "create_app",
]
