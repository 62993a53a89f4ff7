"""Run one service process: `minqing serve intake` (what `make run` starts, one per service)."""

from __future__ import annotations

import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")  # nameko 2.14 needs it all the same

import eventlet  # noqa: E402

eventlet.monkey_patch()  # noqa: E402  must precede every other import that touches sockets

import logging  # noqa: E402
import os  # noqa: E402
import signal  # noqa: E402

from nameko.runners import ServiceRunner  # noqa: E402

from minqing import config as settings  # noqa: E402
from minqing import logs  # noqa: E402
from minqing.topology import service_class  # noqa: E402

log = logging.getLogger("minqing.serve")


def serve(name: str) -> None:
    logs.setup(str(settings.get("log_level")))
    if os.environ.get("MINQING_STRICT_TRANSACTIONS") == "1":  # the tests' guard: no network call in a transaction
        from minqing.db import forbid_network_in_transactions

        forbid_network_in_transactions()
    if settings.db_url(name).startswith("postgresql") if name in settings.SERVICES else False:
        from psycogreen.eventlet import patch_psycopg

        patch_psycopg()
    config = settings.ServiceSettings(name).nameko_config()
    runner = ServiceRunner(config)
    runner.add_service(service_class(name))

    stopping = []

    def shutdown(signum, frame):
        # Ctrl-C reaches every process of the group and `minqing run` sends SIGTERM too: stop once, gracefully
        # (running workers finish, unacked messages go back); a later signal must not stop it a second time
        if not stopping:
            stopping.append(signum)
            eventlet.spawn(runner.stop)

    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)
    runner.start()
    log.info("service %s started (%s)", name, config.get("WEB_SERVER_ADDRESS"))
    runner.wait()
    log.info("service %s stopped", name)


if __name__ == "__main__":
    import sys

    serve(sys.argv[1])
