"""Alembic environment: runs migrations against the database address given in the config."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

from api import db  # noqa: F401  (registers the tables)
from api.db import make_engine

url = context.config.get_main_option("sqlalchemy.url")
assert url is not None

if context.is_offline_mode():
    context.configure(url=url, target_metadata=SQLModel.metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    engine = make_engine(url)
    with engine.connect() as connection:
        context.configure(
            connection=connection, target_metadata=SQLModel.metadata, render_as_batch=True
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()
