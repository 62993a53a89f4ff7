"""Alembic environment for intake's own database (see minqing.migrate)."""

from minqing.migrate import run_env
from services.intake.models import metadata

run_env(metadata)
