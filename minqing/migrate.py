"""Alembic per service: `upgrade(service)` brings that service's own database to head."""

from __future__ import annotations

import importlib.resources

from alembic import command
from alembic.config import Config

from minqing import config as settings


def alembic_config(service: str, url: str | None = None) -> Config:
    cfg = Config()
    location = importlib.resources.files(f"services.{service}") / "migrations"
    cfg.set_main_option("script_location", str(location))
    cfg.set_main_option("sqlalchemy.url", url or settings.db_url(service))
    return cfg


def upgrade(service: str, url: str | None = None) -> None:
    command.upgrade(alembic_config(service, url), "head")


def upgrade_all(urls: dict[str, str] | None = None) -> None:
    for service in settings.SERVICES:
        upgrade(service, (urls or {}).get(service))


def run_env(metadata) -> None:
    """Body of every service's migrations/env.py: the URL comes from the alembic config set above."""
    from alembic import context

    from minqing.db import make_engine

    engine = make_engine(context.config.get_main_option("sqlalchemy.url"))
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()
