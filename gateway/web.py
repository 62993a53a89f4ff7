"""nameko's HTTP entrypoint, with the correlation id taken from (or given to) every request."""

from __future__ import annotations

import socket

from nameko.extensions import DependencyProvider
from nameko.web.handlers import HttpRequestHandler
from nameko.web.server import WebServer

from gateway.auth import TokenVerifier
from minqing import context


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
