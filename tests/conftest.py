"""Test fixtures on the real RabbitMQ and PostgreSQL.

Each test session gets its own RabbitMQ vhost and its own PostgreSQL databases (dropped at the end),
so concurrent runs on one machine never see each other's queues or rows.
"""

import eventlet

eventlet.monkey_patch()  # nameko 2.14's pytest plugin no longer does this for us

import os  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import uuid  # noqa: E402
from urllib.parse import quote  # noqa: E402

import psycopg2  # noqa: E402
import pytest  # noqa: E402
from psycogreen.eventlet import patch_psycopg  # noqa: E402

patch_psycopg()

from minqing.db import forbid_network_in_transactions  # noqa: E402

# every test doubles as a check of the rule "no publish, RPC or HTTP call while a transaction is open"
forbid_network_in_transactions()

os.environ.setdefault("MINQING_JWT_SECRET", "test-secret-" + uuid.uuid4().hex)
os.environ.setdefault("MINQING_VAR_DIR", tempfile.mkdtemp(prefix="minqing-test-var-"))
os.environ.setdefault("MINQING_RATE_LIMIT_PER_MINUTE", "100000")
os.environ.setdefault("MINQING_SCAN_INTERVAL", "0.3")

from nameko.containers import ServiceContainer  # noqa: E402

from minqing import config as settings  # noqa: E402
from minqing.migrate import upgrade  # noqa: E402

PG_ADMIN = os.environ.get("MINQING_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
# another broker (its node named by RABBITMQ_NODENAME for rabbitmqctl), e.g. a private one for tests/faults
AMQP_BASE = os.environ.get("MINQING_TEST_AMQP", "amqp://guest:guest@127.0.0.1:5672")
RUN_ID = uuid.uuid4().hex[:10]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=60)


@pytest.fixture(scope="session")
def amqp_uri():
    vhost = f"minqing-test-{RUN_ID}"
    _rabbitmqctl("add_vhost", vhost)
    _rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
    os.environ["MINQING_AMQP_URI"] = f"{AMQP_BASE}/{quote(vhost, safe='')}"
    yield os.environ["MINQING_AMQP_URI"]
    _rabbitmqctl("delete_vhost", vhost)


class Databases:
    """Creates PostgreSQL databases for this session and drops them all at the end."""

    def __init__(self):
        self.names: list[str] = []

    def _admin(self):
        conn = psycopg2.connect(PG_ADMIN)
        conn.autocommit = True
        return conn

    def create(self, service: str) -> str:
        name = f"mq_{RUN_ID}_{service}_{len(self.names)}"
        conn = self._admin()
        try:
            with conn.cursor() as cur:
                cur.execute(f'CREATE DATABASE "{name}"')
        finally:
            conn.close()
        self.names.append(name)
        url = PG_ADMIN.rsplit("/", 1)[0] + "/" + name
        upgrade(service, url)
        return url

    def drop_all(self):
        conn = self._admin()
        with conn.cursor() as cur:
            for name in self.names:
                cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.close()


@pytest.fixture(scope="session")
def databases():
    dbs = Databases()
    yield dbs
    dbs.drop_all()


@pytest.fixture
def intake_db(databases):
    return databases.create("intake")


def service_config(service: str, amqp_uri: str, **extra) -> dict:
    config = settings.ServiceSettings(
        service, amqp_uri=amqp_uri, http_address=f"127.0.0.1:{free_port()}", extra=extra
    ).nameko_config()
    config["EVENT_RETRY_DELAYS"] = extra.get("EVENT_RETRY_DELAYS", [0.2, 0.4])
    config["OUTBOX_POLL_INTERVAL"] = 0.1
    if service == "routing":  # the tests' webhook receivers listen on loopback, which only an allow-list opens
        config["WEBHOOK_ALLOW_HOSTS"] = extra.get("WEBHOOK_ALLOW_HOSTS", "127.0.0.1")
    if service == "gateway":  # its internal metrics port: a free one, as parallel runs share the machine
        config["METRICS_ADDRESS"] = extra.get("METRICS_ADDRESS", f"127.0.0.1:{free_port()}")
    return config


@pytest.fixture
def make_config():
    return service_config


def purge_event_queues(amqp_uri: str) -> None:
    """Durable queues outlive a test's containers: drop what an earlier test left unconsumed."""
    from kombu import Connection

    from minqing.handlers import dead_letter_queue
    from minqing.topology import all_event_handlers, declare_all

    declare_all(amqp_uri)
    with Connection(amqp_uri) as conn:
        channel = conn.default_channel
        for name, _, _ in all_event_handlers():
            channel.queue_purge(name)
            channel.queue_purge(dead_letter_queue(name).name)


@pytest.fixture
def run_container(amqp_uri):
    """Start nameko containers for the test; all are stopped (or killed) afterwards."""
    started = []
    purge_event_queues(amqp_uri)

    def run(cls, config):
        container = ServiceContainer(cls, config)
        container.start()
        started.append(container)
        return container

    yield run

    def stop(container):
        try:
            with eventlet.Timeout(15):
                container.stop()
        except eventlet.Timeout:
            container.kill()

    # in parallel: each container's consumer takes about a second to notice it should stop
    pool = eventlet.GreenPool()
    for container in started:
        pool.spawn(stop, container)
    pool.waitall()


@pytest.fixture
def intake(run_container, amqp_uri, intake_db):
    from services.intake.service import IntakeService

    return run_container(IntakeService, service_config("intake", amqp_uri, DB_URL=intake_db))


@pytest.fixture
def routing_db(databases):
    return databases.create("routing")


@pytest.fixture
def routing(run_container, amqp_uri, routing_db):
    from services.routing.service import RoutingService

    return run_container(RoutingService, service_config("routing", amqp_uri, DB_URL=routing_db))


@pytest.fixture
def feedback(run_container, amqp_uri, databases):
    from services.feedback.service import FeedbackService

    url = databases.create("feedback")
    return run_container(FeedbackService, service_config("feedback", amqp_uri, DB_URL=url))


@pytest.fixture
def points_db(databases):
    return databases.create("points")


@pytest.fixture
def points(run_container, amqp_uri, points_db):
    from services.points.service import PointsService

    return run_container(PointsService, service_config("points", amqp_uri, DB_URL=points_db))


@pytest.fixture
def gateway_metrics():
    """The gateway's internal /metrics address (not on its API port)."""
    return f"127.0.0.1:{free_port()}"


@pytest.fixture
def accounts_db(databases):
    return databases.create("accounts")


@pytest.fixture
def accounts(run_container, amqp_uri, accounts_db):
    from services.accounts.service import AccountsService

    # no case messages here: they would add `notification.sent` to the timelines other tests compare exactly;
    # tests/integration/test_notifications.py turns them on
    config = service_config("accounts", amqp_uri, DB_URL=accounts_db, CASE_SMS=False)
    return run_container(AccountsService, config)


@pytest.fixture
def gateway(run_container, amqp_uri, intake, routing, feedback, points, accounts, gateway_metrics):
    from gateway.service import GatewayService

    config = service_config("gateway", amqp_uri, METRICS_ADDRESS=gateway_metrics)
    run_container(GatewayService, config)
    return "http://" + config["WEB_SERVER_ADDRESS"]


@pytest.fixture
def token():
    from gateway.auth import mint

    def make(role="community_admin", communities=("maxian",), sub=None, **kw):
        return mint(settings.jwt_secret(), sub or f"{role}-test", role, list(communities), **kw)

    return make
