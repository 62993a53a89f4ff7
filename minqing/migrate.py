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
