"""nameko's HTTP entrypoint, with the correlation id taken from (or given to) every request."""

from __future__ import annotations

import socket

import eventlet
import eventlet.wsgi
from nameko.extensions import DependencyProvider
from nameko.web.handlers import HttpRequestHandler
from nameko.web.server import WebServer

from gateway.auth import TokenVerifier
from minqing import context, metrics


class CorrelatedWebServer(WebServer):
    def process_request(self, sock, address):
        # eventlet's wsgi writes a response in pieces; with Nagle on, the last piece waits for the client's
        # delayed ACK on a kept-alive connection: about 40 ms added to every answer (bench/PROFILE-scale.md)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return super().process_request(sock, address)

    def context_data_from_headers(self, request):
        return {context.KEY: request.headers.get("X-Correlation-Id") or context.new_id()}


# on every answer: no content sniffing (a JSON text is never run as a page), nothing may frame or load
# from an answer (a page that needs more, the annual file, sets its own policy)
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
}


class CorrelatedHttpHandler(HttpRequestHandler):
    server = CorrelatedWebServer()

    def handle_request(self, request):
        response = super().handle_request(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response


http = CorrelatedHttpHandler.decorator


class GatewaySettings(DependencyProvider):
    """Built once per container from its config (service instances are created per request)."""

    def setup(self):
        from gateway.api import RateLimiter

        config = self.container.config
        self.verifier = TokenVerifier(config["JWT_SECRET"], config.get("JWT_PUBLIC_KEY"))
        self.limiter = RateLimiter(int(config.get("RATE_LIMIT_PER_MINUTE", 600)))
        self.max_body = int(config.get("MAX_BODY_BYTES", 262144))
        self.rpc_timeout = float(config.get("RPC_TIMEOUT", 10))
        self.amqp_uri = config["AMQP_URI"]

    def get_dependency(self, worker_ctx):
        return self


class MetricsServer(DependencyProvider):
    """The gateway's /metrics on an internal port of its own (METRICS_ADDRESS, by default 9100), so the
    public API port never shows who calls what how often; Prometheus scrapes it inside the network."""

    def setup(self):
        self.address = self.container.config.get("METRICS_ADDRESS")
        self.sock = self.thread = None

    def start(self):
        if not self.address:
            return
        host, port = self.address.rsplit(":", 1)
        self.sock = eventlet.listen((host, int(port)))
        self.thread = eventlet.spawn(eventlet.wsgi.server, self.sock, self.app, log_output=False)

    def stop(self):
        if self.thread is not None:
            self.thread.kill()
            self.sock.close()
            self.thread = None

    kill = stop

    @staticmethod
    def app(environ, start_response):
        headers = [("X-Content-Type-Options", "nosniff")]
        if environ.get("PATH_INFO") == "/metrics" and environ.get("REQUEST_METHOD") in ("GET", "HEAD"):
            body, content_type = metrics.exposition(environ.get("HTTP_ACCEPT"))
            start_response("200 OK", [("Content-Type", content_type), *headers])
            return [body]
        start_response("404 Not Found", [("Content-Type", "text/plain"), *headers])
        return [b"not found\n"]
