"""A bureau's own broker login (deploy/rabbitmq/bureau-user.sh) on the real RabbitMQ: it binds its own
transfers, and cannot bind `#` or another bureau's transfers on minqing.public (topic authorisation)."""

import subprocess
import uuid
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

import pytest
from kombu import Connection, Exchange, Queue

SCRIPT = Path(__file__).resolve().parents[2] / "deploy" / "rabbitmq" / "bureau-user.sh"


@pytest.fixture
def bureau_login(amqp_uri):
    vhost = unquote(urlsplit(amqp_uri).path[1:])
    code, password = f"edu{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    with Connection(amqp_uri) as conn:  # the platform declares the exchange
        Exchange("minqing.public", type="topic", durable=True)(conn.default_channel).declare()
    subprocess.run(["sh", str(SCRIPT), code, password, vhost], check=True, capture_output=True, timeout=60)
    yield code, f"amqp://bureau-{code}:{password}@127.0.0.1:5672/{quote(vhost, safe='')}"
    subprocess.run(["rabbitmqctl", "-q", "delete_user", f"bureau-{code}"], capture_output=True, timeout=60)


def bind(url: str, queue: str, key: str) -> None:
    with Connection(url) as conn:
        exchange = Exchange("minqing.public", type="topic", durable=True, passive=True)
        Queue(queue, exchange=exchange, routing_key=key, durable=True)(conn.default_channel).declare()


def test_a_bureau_binds_its_own_transfers_and_nothing_wider(bureau_login):
    code, url = bureau_login
    inbox = f"{code}-bureau-inbox"
    bind(url, inbox, f"case.escalated.*.{code}")
    bind(url, inbox, "case.resolved.*")
    for key in ("#", "case.#", "case.escalated.*.housing", "case.escalated.#"):
        with pytest.raises(Exception, match="ACCESS_REFUSED|access to topic"):
            bind(url, inbox, key)
    with pytest.raises(Exception, match="ACCESS_REFUSED"):
        bind(url, "housing-bureau-inbox", f"case.escalated.*.{code}")  # another bureau's queue
