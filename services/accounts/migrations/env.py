"""Alembic environment for accounts' own database (see minqing.migrate)."""

from minqing.migrate import run_env
from services.accounts.models import metadata

run_env(metadata)
