"""Alembic environment for routing's own database (see minqing.migrate)."""

from minqing.migrate import run_env
from services.routing.models import metadata

run_env(metadata)
