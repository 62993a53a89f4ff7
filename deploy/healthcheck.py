#!/usr/bin/env python3
"""Container healthcheck: `minqing-healthcheck SERVICE [PATH]` exits 0 when the process answers 200.

The port comes from minqing.config, exactly as the process computed its own address: a backend
service's metrics address (MINQING_<SERVICE>_METRICS_PORT, else MINQING_METRICS_PORT_BASE + 1 + its
place in SERVICES), the gateway's MINQING_HTTP_PORT. PATH defaults to /healthz (the gateway also has
/readyz, which checks the broker and every service's database).
"""

from __future__ import annotations

import sys
import urllib.request

from minqing import config


def url(service: str, path: str) -> str:
    address = config.gateway_address() if service == "gateway" else config.metrics_address(service)
    port = address.rsplit(":", 1)[1]
    return f"http://127.0.0.1:{port}{path}"


def main(argv: list[str]) -> int:
    if len(argv) not in (2, 3):
        print("usage: minqing-healthcheck SERVICE [PATH]", file=sys.stderr)
        return 2
    target = url(argv[1], argv[2] if len(argv) == 3 else "/healthz")
    try:
        with urllib.request.urlopen(target, timeout=5) as response:
            return 0 if response.status == 200 else 1
    except Exception as exc:  # refused, timed out, 503 from /readyz: all mean "not healthy"
        print(f"{target}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
