"""The service's one error type (its own module so that the app and the routes it registers import it without
an import circle)."""

from __future__ import annotations

from fastapi import HTTPException

__all__ = ["ApiError"]


class ApiError(HTTPException):
    """An HTTP error with a machine-readable code and a sentence for people."""

    def __init__(self, status: int, error: str, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(status, detail, headers)
        self.error = error
