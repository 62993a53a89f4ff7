"""Alembic environment for feedback's own database (see minqing.migrate)."""

from minqing.migrate import run_env
from services.feedback.models import metadata

run_env(metadata)
