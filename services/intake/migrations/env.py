"""Alembic environment shared in shape by every service: the URL comes from minqing's config."""

from alembic import context

from minqing.db import make_engine
from services.intake.models import metadata

url = context.config.get_main_option("sqlalchemy.url")


def run() -> None:
    engine = make_engine(url)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run()
