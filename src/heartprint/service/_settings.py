"""The service's settings: one frozen object passed to :func:`heartprint.service.create_app`
and to the worker, so tests and deployments configure both the same way."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

__all__ = ["Settings"]


@dataclass(frozen=True)
class Settings:
    """Where the service keeps its state and what it allows.

    ``data_dir`` holds ``jobs/<job id>/input.zip`` (uploads, kept as sent: never unpacked, the
    DICOM reader takes members from the archive within its size and ratio caps) and
    ``results/<job id>/<study folder>/`` (the writer's folders).
    """

    #: registry database (SQLite path or URL; PostgreSQL by ``postgresql://``); the job queue and
    #: audit log live in it beside the registry's tables
    registry: str
    data_dir: Path
    #: hashed tokens (``heartprint.service-tokens/1``; :class:`heartprint.service._auth.TokenStore`)
    token_file: Path | None = None
    host: str = "127.0.0.1"
    port: int = 8080
    #: largest accepted upload, bytes (checked while the body streams in: 413 past it)
    max_upload_bytes: int = 512 << 20
    #: zip members an upload may hold
    max_upload_members: int = 100_000
    #: requests per token per :attr:`rate_window_s` (429 past it)
    rate_limit: int = 600
    rate_window_s: float = 60.0
    #: the viewer's DICOMweb reads per token per :attr:`rate_window_s`, counted apart from the API's: OHIF asks
    #: for every frame of a series (a cine of 25 phases x 14 slices is 350 reads, thumbnails and metadata more)
    viewer_rate_limit: int = 6000
    #: a worker's lease on a job (seconds); renewed every third of it while the job runs
    lease_s: float = 60.0
    max_attempts: int = 3
    #: write report.html/.pdf per study (the slowest output)
    report: bool = True
    #: test-time augmentation in the segmentation (as ``analyze --no-tta`` when False)
    tta: bool = True
    #: a saved :mod:`heartprint.risk` model; ``None``: the risk endpoint answers 501
    risk_model: Path | None = None
    #: an Orthanc server (REST root URL) that ``POST /archive-studies`` queues studies from
    orthanc_url: str | None = None
    #: called as ``hook(job, input_path)`` before each analysis; tests use it to slow or stop a
    #: worker mid-study (the worker command reads it from ``HEARTPRINT_SERVICE_TEST_HOOK=module:function``)
    analysis_hook: Callable[..., Any] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "data_dir", Path(self.data_dir))
        if self.token_file is not None:
            object.__setattr__(self, "token_file", Path(self.token_file))
        if (self.max_upload_bytes < 1 or self.rate_limit < 1 or self.viewer_rate_limit < 1 or self.lease_s <= 0
                or self.max_attempts < 1):
            from heartprint.errors import InvalidInputError

            raise InvalidInputError("service settings: max_upload_bytes, rate_limit, viewer_rate_limit, lease_s and "
                                    "max_attempts must be positive")

    @property
    def jobs_dir(self) -> Path:
        return self.data_dir / "jobs"

    @property
    def results_dir(self) -> Path:
        return self.data_dir / "results"
