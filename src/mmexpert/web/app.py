"""The dashboard's HTTP API and page (FastAPI); :func:`create_app` builds it.

Read-only routes (``GET``) are open; routes that start jobs, upload files or run models
(``POST``, including ``/api/jobs/{id}/cancel``) need the server's token in the
``X-MMExpert-Token`` header. Every path in a
request is relative to the data folder and resolved by
:class:`~mmexpert.web.safety.DataRoot`. The page is plain HTML, JavaScript and CSS from
``static/``; the Content-Security-Policy allows nothing from other origins.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, HTTPException, Query, Request, UploadFile
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field

import mmexpert
from mmexpert.web import recipe_job as _recipe_job  # noqa: F401 (registers "run")
from mmexpert.web import runs as _runs  # noqa: F401 (registers the job kinds)
from mmexpert.web.catalog import (
    CatalogError,
    dataset_summary,
    find_models,
    find_plans,
    find_stores,
    open_store,
    plan_view,
    sample_view,
)
from mmexpert.web.flywheel_view import find_flywheel_runs, flywheel_view
from mmexpert.web.jobs import JOB_KINDS, JobError, JobManager, JobStateError
from mmexpert.web.playground import (
    DEFAULT_MAX_UPLOAD_BYTES,
    UPLOAD_FORMATS,
    ModelCache,
    PlaygroundError,
    describe,
    list_uploads,
    read_upload,
    save_upload,
    upload_path,
    upload_view,
    zero_shot,
)
from mmexpert.web.report_view import data_file, run_report
from mmexpert.web.safety import (
    TOKEN_HEADER,
    DataRoot,
    PathMissingError,
    PathRefusedError,
    check_identifier,
    check_token,
)

STATIC_DIR = Path(__file__).resolve().parent / "static"
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)


class JobRequest(BaseModel):
    """``POST /api/jobs``: a job kind and its parameters."""

    kind: str = "generate"
    params: dict[str, Any] = Field(default_factory=dict)


class SourceRequest(BaseModel):
    """A model input: a stored sample (``store`` + ``sample_id``) or an ``upload`` id."""

    model: str
    store: str | None = None
    sample_id: str | None = None
    upload: str | None = None
    classes: list[str] | None = None
    question: str | None = Field(None, max_length=500)

    def source(self) -> dict[str, Any]:
        """The input part of the request, for :func:`~mmexpert.web.playground.raw_input`."""
        return {"store": self.store, "sample_id": self.sample_id, "upload": self.upload}


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def create_app(
    data_dir: str | Path,
    token: str,
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES,
    allowed_hosts: list[str] | None = None,
) -> FastAPI:
    """Build the dashboard for one data folder.

    Parameters
    ----------
    data_dir
        The data folder: dataset stores, plans, models and run folders below it.
    token
        Secret that POST requests must send in ``X-MMExpert-Token``.
    max_upload_bytes
        Largest accepted upload [bytes].
    allowed_hosts
        Accepted ``Host`` header names (refuses DNS-rebinding pages); None accepts any.

    Returns
    -------
    FastAPI
        The application (serve it with uvicorn).
    """
    if not token:
        raise ValueError("the dashboard needs a non-empty token")
    data = DataRoot(data_dir)
    jobs = JobManager(data)
    models = ModelCache()
    app = FastAPI(title="mmExpert dashboard", version=mmexpert.__version__, docs_url=None)
    app.state.data = data
    app.state.jobs = jobs

    @app.exception_handler(PathRefusedError)
    async def _refused(request: Request, error: PathRefusedError) -> JSONResponse:
        return _error(404 if isinstance(error, PathMissingError) else 403, str(error))

    @app.exception_handler(CatalogError)
    async def _catalog(request: Request, error: CatalogError) -> JSONResponse:
        return _error(404, str(error))

    @app.exception_handler(PlaygroundError)
    async def _playground(request: Request, error: PlaygroundError) -> JSONResponse:
        return _error(400, str(error))

    @app.exception_handler(HTTPException)
    async def _http(request: Request, error: HTTPException) -> JSONResponse:
        return _error(error.status_code, str(error.detail))

    @app.exception_handler(JobError)
    async def _job(request: Request, error: JobError) -> JSONResponse:
        if isinstance(error, JobStateError):
            return _error(409, str(error))
        return _error(404 if str(error).startswith("no job") else 400, str(error))

    @app.middleware("http")
    async def _headers(request: Request, call_next: Callable[[Request], Any]) -> Any:
        host = (request.headers.get("host") or "").rsplit(":", 1)[0].strip("[]")
        if allowed_hosts is not None and host not in allowed_hosts:
            return _error(400, f"host {host!r} is not served here")
        response = await call_next(request)
        response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        return response

    def require_token(
        given: Annotated[str | None, Header(alias=TOKEN_HEADER)] = None,
    ) -> None:
        if not check_token(token, given):
            raise HTTPException(
                status_code=401,
                detail=f"this action needs the token printed at start-up ({TOKEN_HEADER} header)",
            )

    guarded = [Depends(require_token)]

    # ----------------------------------------------------------------- page and info
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-store"})

    @app.get("/api/info")
    def info() -> dict[str, Any]:
        from mmexpert.llm import list_backends
        from mmexpert.models.adapt import ADAPT_METHODS
        from mmexpert.models.registry import list_models
        from mmexpert.plan import ENCODERS
        from mmexpert.radar.presets import list_presets

        return {
            "version": mmexpert.__version__,
            "data_folder": data.root.name,
            "job_kinds": {name: kind.description for name, kind in JOB_KINDS.items()},
            "llm_backends": list_backends(),
            "encoders": sorted(ENCODERS),
            "radar_presets": list_presets(),
            "models": list_models(),
            "adapt_methods": list(ADAPT_METHODS),
            "upload_formats": sorted(UPLOAD_FORMATS),
            "max_upload_bytes": max_upload_bytes,
            "token_header": TOKEN_HEADER,
        }

    @app.post("/api/token", dependencies=guarded)
    def token_check() -> dict[str, bool]:
        return {"ok": True}

    # ----------------------------------------------------------------- datasets
    @app.get("/api/datasets")
    def datasets() -> list[dict[str, Any]]:
        rows = []
        for relative in find_stores(data):
            try:
                with open_store(data.resolve(relative)) as store:
                    store_info = store.info()
                rows.append(
                    {
                        "path": relative,
                        "n_samples": store_info.n_samples,
                        "per_activity": {str(k): v for k, v in store_info.per_activity.items()},
                        "version": store_info.version,
                    }
                )
            except (CatalogError, PathRefusedError) as error:
                rows.append({"path": relative, "error": str(error)})
        return rows

    @app.get("/api/dataset")
    def dataset(path: Annotated[str, Query(max_length=1000)]) -> dict[str, Any]:
        return dataset_summary(data, path)

    @app.get("/api/sample")
    def sample(
        store: Annotated[str, Query(max_length=1000)],
        sample_id: Annotated[str, Query(max_length=128)],
        max_frames: Annotated[int, Query(ge=2, le=2000)] = 300,
        max_bins: Annotated[int, Query(ge=8, le=256)] = 128,
    ) -> dict[str, Any]:
        check_identifier(sample_id, "sample id")
        return sample_view(data, store, sample_id, max_frames, max_bins)

    # ----------------------------------------------------------------- plans, models
    @app.get("/api/plans")
    def plans() -> list[str]:
        return find_plans(data)

    @app.get("/api/plan")
    def plan(path: Annotated[str, Query(max_length=1000)]) -> dict[str, Any]:
        return plan_view(data, path)

    @app.get("/api/models")
    def model_list() -> list[dict[str, Any]]:
        return find_models(data)

    # ----------------------------------------------------------------- runs
    @app.get("/api/jobs")
    def job_list() -> list[dict[str, Any]]:
        return jobs.list()

    @app.get("/api/jobs/{job_id}")
    def job(job_id: str) -> dict[str, Any]:
        check_identifier(job_id, "job id")
        return jobs.get(job_id)

    @app.post("/api/jobs", dependencies=guarded, status_code=201)
    def start_job(request: JobRequest) -> dict[str, Any]:
        return jobs.start(request.kind, request.params)

    @app.post("/api/jobs/{job_id}/resume", dependencies=guarded)
    def resume_job(job_id: str) -> dict[str, Any]:
        check_identifier(job_id, "job id")
        return jobs.resume(job_id)

    @app.post("/api/jobs/{job_id}/cancel", dependencies=guarded)
    def cancel_job(job_id: str) -> dict[str, Any]:
        check_identifier(job_id, "job id")
        return jobs.cancel(job_id)

    @app.get("/api/run-report")
    def report(path: Annotated[str, Query(max_length=1000)]) -> dict[str, Any]:
        return run_report(data, path)

    @app.get("/api/file")
    def file(path: Annotated[str, Query(max_length=1000)]) -> FileResponse:
        resolved, media_type = data_file(data, path)
        return FileResponse(resolved, media_type=media_type)

    @app.get("/api/flywheels")
    def flywheels() -> list[str]:
        return find_flywheel_runs(data)

    @app.get("/api/flywheel")
    def flywheel(path: Annotated[str, Query(max_length=1000)]) -> dict[str, Any]:
        return flywheel_view(data, path)

    # ----------------------------------------------------------------- playground
    @app.get("/api/uploads")
    def uploads() -> list[dict[str, Any]]:
        rows = []
        for upload_id in list_uploads(data):
            try:
                _, summary = read_upload(upload_path(data, upload_id))
                rows.append({"id": upload_id, **summary})
            except (PlaygroundError, PathRefusedError) as error:
                rows.append({"id": upload_id, "error": str(error)})
        return rows

    @app.get("/api/upload")
    def upload_viewer(
        upload_id: Annotated[str, Query(alias="id", max_length=128)],
        max_frames: Annotated[int, Query(ge=2, le=2000)] = 300,
    ) -> dict[str, Any]:
        return upload_view(data, upload_id, max_frames)

    @app.post("/api/uploads", dependencies=guarded, status_code=201)
    async def upload(request: Request, file: UploadFile) -> Any:
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > max_upload_bytes + 65536:
            return _error(413, f"upload larger than the limit of {max_upload_bytes} bytes")
        payload = await file.read(max_upload_bytes + 1)
        if len(payload) > max_upload_bytes:
            return _error(413, f"upload larger than the limit of {max_upload_bytes} bytes")
        return save_upload(data, file.filename or "", payload, max_upload_bytes)

    @app.post("/api/predict", dependencies=guarded)
    def predict(request: SourceRequest) -> dict[str, Any]:
        return zero_shot(data, models, request.model, request.source(), request.classes)

    @app.post("/api/caption", dependencies=guarded)
    def caption(request: SourceRequest) -> dict[str, Any]:
        return describe(data, models, request.model, request.source())

    @app.post("/api/ask", dependencies=guarded)
    def ask(request: SourceRequest) -> dict[str, Any]:
        if not request.question or not request.question.strip():
            raise PlaygroundError("type a question")
        return describe(data, models, request.model, request.source(), request.question)

    return app
