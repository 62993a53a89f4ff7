import pytest

from minqing.db import UnitOfWork, make_engine
from services.intake.models import metadata


@pytest.fixture
def uow(tmp_path):
    """Intake's schema on an embedded SQLite file: fast, and the same SQL as the real thing."""
    engine = make_engine(f"sqlite:///{tmp_path / 'intake.db'}")
    metadata.create_all(engine)
    yield UnitOfWork(engine)
    engine.dispose()
