"""API tokens: issued once in clear, stored only as a salted scrypt hash, checked in constant time.

A token reads ``hp_<id>_<secret>``: ``id`` (8 hex digits) names the stored record, so a request
costs one hash, not one per stored token; ``secret`` is 32 random bytes (``secrets.token_urlsafe``,
256 bits). The token file holds, per token, its id, a name, a role and
``scrypt(secret, salt, n=2**14, r=8, p=1)`` with a 16-byte random salt (RFC 7914; the
parameters are the interactive-login ones recommended there and in Python's ``hashlib``
documentation). Comparison is :func:`hmac.compare_digest`.

scrypt costs ~50 ms and 16 MiB per check by design, which would cap a 2-core server at a few
dozen requests per second; so a verified token is remembered in memory for
:data:`CACHE_SECONDS` under an HMAC of the token with a per-process random key (never written
anywhere, gone with the process). The token file is re-read when it changes (checked at most
once a second); the cache is dropped then, so a token removed from the file stops working at
once, without a restart.

Roles (each includes the ones before it): ``reader`` reads job status, results and a patient's
phenotype and risk; ``submitter`` also submits studies; ``admin`` also reads the audit log.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from heartprint._atomic import atomic_write
from heartprint.errors import InvalidInputError

__all__ = ["CACHE_SECONDS", "ROLES", "TOKEN_FORMAT", "Principal", "TokenStore", "allows", "hash_secret", "new_token"]

ROLES = ("reader", "submitter", "admin")
TOKEN_FORMAT = "heartprint.service-tokens/1"
#: scrypt cost (RFC 7914 §2: N=2**14, r=8 for interactive use); 16 MiB of memory per check.
SCRYPT = {"n": 2 ** 14, "r": 8, "p": 1}
#: How long a verified token is remembered in memory (seconds).
CACHE_SECONDS = 60.0


def allows(role: str, needed: str) -> bool:
    """Whether ``role`` may do what ``needed`` may (roles are ordered reader < submitter < admin)."""
    return ROLES.index(role) >= ROLES.index(needed)


@dataclass(frozen=True)
class Principal:
    """Who a request comes from: the token's id, name and role."""

    token_id: str
    name: str
    role: str


def hash_secret(secret: str, salt: bytes, n: int = SCRYPT["n"], r: int = SCRYPT["r"], p: int = SCRYPT["p"]) -> bytes:
    return hashlib.scrypt(secret.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=64 << 20, dklen=32)


def new_token(name: str, role: str) -> tuple[str, dict[str, Any]]:
    """A fresh token: ``(token in clear, record to store)``. The clear token is shown once."""
    if role not in ROLES:
        raise InvalidInputError(f"role {role!r}: expected one of {', '.join(ROLES)}")
    token_id, secret = secrets.token_hex(4), secrets.token_urlsafe(32)
    salt = os.urandom(16)
    record = {"id": token_id, "name": name, "role": role, "salt": salt.hex(),
              "hash": hash_secret(secret, salt).hex(), **SCRYPT}
    return f"hp_{token_id}_{secret}", record


class TokenStore:
    """The hashed tokens the server accepts (from a token file, or given directly)."""

    def __init__(self, records: list[dict[str, Any]] | None = None) -> None:
        self._records = self._index(records or [])
        self._cache_key = os.urandom(32)
        self._cache: dict[bytes, tuple[float, Principal]] = {}
        self._lock = threading.Lock()
        self._path: Path | None = None
        self._stamp: tuple[int, int, int] | None = None
        self._checked = 0.0

    @staticmethod
    def _index(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
        out = {}
        for rec in records:
            if rec.get("role") not in ROLES or not isinstance(rec.get("id"), str):
                raise InvalidInputError(f"token record {rec.get('id')!r}: needs an id and a role in {ROLES}")
            out[rec["id"]] = rec
        return out

    @staticmethod
    def _read(p: Path) -> tuple[list[dict[str, Any]], tuple[int, int, int] | None]:
        try:
            st = p.stat()
        except FileNotFoundError:
            return [], None
        try:
            doc = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InvalidInputError(f"token file {p}: unreadable ({exc})") from None
        if not isinstance(doc, dict) or doc.get("format") != TOKEN_FORMAT:
            raise InvalidInputError(f"token file {p}: expected a {TOKEN_FORMAT} document")
        return list(doc.get("tokens", [])), (st.st_ino, st.st_size, st.st_mtime_ns)

    @classmethod
    def load(cls, path: str | os.PathLike) -> TokenStore:
        """Read a ``heartprint.service-tokens/1`` file (missing: no tokens, every request refused);
        the store re-reads it when it changes."""
        p = Path(path)
        records, stamp = cls._read(p)
        store = cls(records)
        store._path, store._stamp, store._checked = p, stamp, time.monotonic()
        return store

    def _reload_if_changed(self, now: float) -> None:
        if self._path is None or now - self._checked < 1.0:
            return
        self._checked = now
        try:
            st = self._path.stat()
            stamp = (st.st_ino, st.st_size, st.st_mtime_ns)
        except FileNotFoundError:
            stamp = None
        if stamp == self._stamp:
            return
        try:
            records, stamp = self._read(self._path)
            index = self._index(records)
        except InvalidInputError:  # half-edited by hand: keep the last good tokens, try again later
            return
        with self._lock:
            self._records, self._stamp = index, stamp
            self._cache.clear()

    @staticmethod
    def add_to_file(path: str | os.PathLike, name: str, role: str) -> str:
        """Add a new token to the file at ``path`` (created if missing, mode 0600); returns it in clear."""
        p = Path(path)
        doc = {"format": TOKEN_FORMAT, "tokens": []}
        if p.exists():
            doc = json.loads(p.read_text(encoding="utf-8"))
        token, record = new_token(name, role)
        doc["tokens"].append(record)
        atomic_write(p, json.dumps(doc, indent=2))
        os.chmod(p, 0o600)
        return token

    def verify(self, token: str | None) -> Principal | None:
        """The principal of ``token``; ``None`` if it is missing, malformed or wrong."""
        if not token or not token.startswith("hp_") or len(token) > 200:
            return None
        key = hmac.new(self._cache_key, token.encode("utf-8", "replace"), hashlib.sha256).digest()
        now = time.monotonic()
        self._reload_if_changed(now)
        with self._lock:
            hit = self._cache.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        _, _, rest = token.partition("_")
        token_id, _, secret = rest.partition("_")
        rec = self._records.get(token_id)
        if rec is None or not secret:
            return None
        try:
            digest = hash_secret(secret, bytes.fromhex(rec["salt"]), rec.get("n", SCRYPT["n"]), rec.get("r", SCRYPT["r"]),
                                 rec.get("p", SCRYPT["p"]))
        except (ValueError, KeyError):
            return None
        if not hmac.compare_digest(digest, bytes.fromhex(rec["hash"])):
            return None
        principal = Principal(rec["id"], str(rec.get("name", "")), rec["role"])
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[key] = (now + CACHE_SECONDS, principal)
        return principal
