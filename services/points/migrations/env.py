"""Alembic environment for points's own database (see minqing.migrate)."""

from minqing.migrate import run_env
from services.points.models import metadata

run_env(metadata)
