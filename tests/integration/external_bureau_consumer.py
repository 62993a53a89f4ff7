"""A bureau's own consumer, using nothing of Minqing: plain pika and the CloudEvents SDK.

Binds a durable queue to `minqing.public` for the given routing key, prints "ready", then prints each
CloudEvent it receives as one JSON line, until it has seen --count events or --timeout passes.
"""

import argparse
import json
import sys
import time

import pika
from cloudevents.core.formats.json import JSONFormat


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--queue", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--count", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=30)
    args = parser.parse_args()
    connection = pika.BlockingConnection(pika.URLParameters(args.url))
    channel = connection.channel()
    channel.exchange_declare("minqing.public", exchange_type="topic", durable=True)
    channel.queue_declare(args.queue, durable=True)
    channel.queue_bind(args.queue, "minqing.public", routing_key=args.key)
    print("ready", flush=True)
    seen, deadline = 0, time.monotonic() + args.timeout
    while seen < args.count and time.monotonic() < deadline:
        method, properties, body = channel.basic_get(args.queue)
        if method is None:
            time.sleep(0.1)
            continue
        event = JSONFormat().read(None, body)
        print(
            json.dumps(
                {
                    "routing_key": method.routing_key,
                    "content_type": properties.content_type,
                    "specversion": event.get_specversion(),
                    "id": event.get_id(),
                    "type": event.get_type(),
                    "source": event.get_source(),
                    "subject": event.get_subject(),
                    "data": event.get_data(),
                },
                ensure_ascii=False,
            ),
            flush=True,
        )
        channel.basic_ack(method.delivery_tag)
        seen += 1
    connection.close()
    return 0 if seen >= args.count else 1


if __name__ == "__main__":
    sys.exit(main())
