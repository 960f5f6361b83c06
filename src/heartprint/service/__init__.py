"""heartprint as a service beside the PACS: an HTTP API, a durable job queue in the registry
database, workers, and Orthanc in and out. Needs the ``service`` extra.

Public API
----------
Settings
    Where the service keeps its state and what it allows (one object for API and workers).
create_app
    The FastAPI application (``from heartprint.service.app import create_app``; imported lazily
    here so that the worker does not load the web stack).
JobQueue, Job
    The queue: submit, claim with a lease, heartbeat, finish, fail (retry up to max attempts).
Worker
    Claims and runs jobs (``python -m heartprint.service.worker --registry URL --data DIR``).
TokenStore
    Hashed API tokens (``TokenStore.add_to_file`` issues one).

See ``docs/service.md``.
"""

from typing import Any

from heartprint.service._settings import Settings

__all__ = ["ROLES", "Job", "JobQueue", "Settings", "TokenStore", "Worker", "create_app"]


def create_app(settings: Settings, **kw: Any) -> Any:
    """The FastAPI app on ``settings`` (:func:`heartprint.service.app.create_app`)."""
    from heartprint.service.app import create_app as _create

    return _create(settings, **kw)


#: Loaded on first use, so that ``heartprint --help`` does not import SQLAlchemy.
_LAZY = {"ROLES": "_auth", "TokenStore": "_auth", "Job": "_jobs", "JobQueue": "_jobs", "Worker": "worker"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"heartprint.service.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'heartprint.service' has no attribute {name!r}")
