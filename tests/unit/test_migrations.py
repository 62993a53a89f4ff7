"""Each service's migrations build exactly the schema its models describe (no drift)."""

import pytest
from alembic import command

from minqing.config import SERVICES
from minqing.migrate import alembic_config, upgrade


@pytest.mark.parametrize("service", SERVICES)
def test_migrations_match_models(service, tmp_path):
    url = f"sqlite:///{tmp_path / (service + '.db')}"
    upgrade(service, url)
    command.check(alembic_config(service, url))  # raises if autogenerate would find differences
