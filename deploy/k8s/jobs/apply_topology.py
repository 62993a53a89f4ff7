"""Apply Minqing's RabbitMQ topology through the management HTTP API; safe to run again at any time.

    python apply_topology.py definitions.json

Reads a RabbitMQ definitions document (vhosts, policies, exchanges, queues, bindings) and applies it piece
by piece with the documented endpoints, so that it works on any RabbitMQ 3.13+ with the management plugin,
operator-managed or not:

1. each vhost with its default queue type (`quorum`): PUT /api/vhosts/{vhost}; read back and checked.
   The default applies to queues declared from then on; existing queues keep their type.
2. the application user (RABBITMQ_APP_USER, password RABBITMQ_APP_PASSWORD if given) and its permissions
   on each vhost.
3. policies, exchanges, queues and bindings (definitions.json): PUT/POST, each idempotent.

Environment: RABBITMQ_MANAGEMENT_URL (http://host:15672), RABBITMQ_ADMIN_USER, RABBITMQ_ADMIN_PASSWORD,
RABBITMQ_APP_USER (optional), RABBITMQ_APP_PASSWORD (optional), TOPOLOGY_WAIT_SECONDS (default 300).
"""

from __future__ import annotations

import base64
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request


class Api:
    def __init__(self, base_url: str, user: str, password: str):
        self.base = base_url.rstrip("/")
        self.auth = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()

    def call(self, method: str, path: str, body: dict | None = None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.base + path,
            data=data,
            method=method,
            headers={"Authorization": self.auth, "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            raw = response.read()
        return json.loads(raw) if raw else None

    def wait(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while True:
            try:
                self.call("GET", "/api/overview")
                return
            except urllib.error.HTTPError:
                raise  # the API answered: wrong credentials or URL, waiting will not help
            except OSError as exc:
                if time.monotonic() > deadline:
                    raise SystemExit(f"RabbitMQ management API at {self.base} unreachable: {exc}") from exc
                time.sleep(3)


def q(name: str) -> str:
    return urllib.parse.quote(name, safe="")


def apply(api: Api, definitions: dict, app_user: str | None, app_password: str | None) -> list[str]:
    done = []
    for vhost in definitions.get("vhosts", []):
        name = vhost["name"]
        queue_type = vhost.get("default_queue_type") or vhost.get("metadata", {}).get("default_queue_type")
        body = {"description": vhost.get("description", ""), "tags": ",".join(vhost.get("tags", []))}
        if queue_type:
            body["default_queue_type"] = queue_type
        api.call("PUT", f"/api/vhosts/{q(name)}", body)
        current = api.call("GET", f"/api/vhosts/{q(name)}") or {}
        effective = current.get("default_queue_type") or current.get("metadata", {}).get("default_queue_type")
        if queue_type and effective != queue_type:
            raise SystemExit(f"vhost {name}: default queue type is {effective!r}, wanted {queue_type!r}")
        done.append(f"vhost {name} (default queue type {effective})")
        if app_user:
            if app_password:
                api.call("PUT", f"/api/users/{q(app_user)}", {"password": app_password, "tags": ""})
                done.append(f"user {app_user}")
            api.call(
                "PUT", f"/api/permissions/{q(name)}/{q(app_user)}", {"configure": ".*", "write": ".*", "read": ".*"}
            )
            done.append(f"permissions of {app_user} on {name}")
    for policy in definitions.get("policies", []):
        body = {key: policy[key] for key in ("pattern", "definition", "priority", "apply-to") if key in policy}
        api.call("PUT", f"/api/policies/{q(policy['vhost'])}/{q(policy['name'])}", body)
        done.append(f"policy {policy['name']} ({policy['pattern']})")
    for exchange in definitions.get("exchanges", []):
        body = {key: exchange[key] for key in ("type", "durable", "auto_delete", "internal", "arguments")}
        api.call("PUT", f"/api/exchanges/{q(exchange['vhost'])}/{q(exchange['name'])}", body)
        done.append(f"exchange {exchange['name']}")
    for queue in definitions.get("queues", []):
        body = {key: queue[key] for key in ("durable", "auto_delete", "arguments")}
        api.call("PUT", f"/api/queues/{q(queue['vhost'])}/{q(queue['name'])}", body)
        done.append(f"queue {queue['name']}")
    for binding in definitions.get("bindings", []):
        kind = {"queue": "q", "exchange": "e"}[binding["destination_type"]]
        path = f"/api/bindings/{q(binding['vhost'])}/e/{q(binding['source'])}/{kind}/{q(binding['destination'])}"
        api.call("POST", path, {"routing_key": binding["routing_key"], "arguments": binding.get("arguments", {})})
        done.append(f"binding {binding['source']} -> {binding['destination']}")
    return done


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    with open(argv[1], encoding="utf-8") as fh:
        definitions = json.load(fh)
    env = os.environ
    api = Api(env["RABBITMQ_MANAGEMENT_URL"], env["RABBITMQ_ADMIN_USER"], env["RABBITMQ_ADMIN_PASSWORD"])
    try:
        api.wait(float(env.get("TOPOLOGY_WAIT_SECONDS", 300)))
        done = apply(api, definitions, env.get("RABBITMQ_APP_USER") or None, env.get("RABBITMQ_APP_PASSWORD") or None)
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode("utf-8", "replace")[:500]
        print(f"{exc.code} from {exc.url}: {detail}", file=sys.stderr)
        return 1
    for line in done:
        print("applied: " + line)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
