"""API keys: made here, shown once, stored only as a SHA-256 hash.

A key is ``prs_`` followed by 32 random bytes (base64url). With that much entropy a plain
SHA-256 is the right hash (as for GitHub tokens): a slow password hash would add nothing but a
delay on every request.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from api.db import ApiKey, utcnow

PREFIX = "prs_"


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class NewKey:
    id: int
    name: str
    key: str


def create_key(engine: Engine, name: str) -> NewKey:
    name = name.strip()
    if not name or len(name) > 100:
        raise ValueError(f"key name must be 1-100 characters, got {len(name)}")
    key = PREFIX + secrets.token_urlsafe(32)
    row = ApiKey(name=name, prefix=key[: len(PREFIX) + 6], key_hash=hash_key(key))
    with Session(engine) as s:
        s.add(row)
        s.commit()
        s.refresh(row)
        assert row.id is not None
        return NewKey(id=row.id, name=row.name, key=key)


def list_keys(engine: Engine) -> list[ApiKey]:
    with Session(engine) as s:
        return list(s.exec(select(ApiKey).order_by(ApiKey.id)))  # type: ignore[arg-type]


def revoke_key(engine: Engine, ident: str) -> ApiKey:
    """Revoke by numeric id or by the key's shown prefix; raises LookupError if none matches."""
    with Session(engine) as s:
        rows = list(s.exec(select(ApiKey)))
        match = [r for r in rows if str(r.id) == ident or r.prefix == ident]
        if len(match) != 1:
            raise LookupError(f"no single key matches {ident!r} (give its id or prefix)")
        row = match[0]
        if row.revoked_at is None:
            row.revoked_at = utcnow()
            s.add(row)
            s.commit()
            s.refresh(row)
        return row


def owner_of(engine: Engine, key: str) -> int | None:
    """The key's id if it is valid and not revoked."""
    if not key.startswith(PREFIX):
        return None
    with Session(engine) as s:
        row = s.exec(select(ApiKey).where(ApiKey.key_hash == hash_key(key))).first()
        if row is None or row.revoked_at is not None:
            return None
        owner: int | None = row.id
        return owner
