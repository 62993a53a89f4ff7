"""nameko's HTTP entrypoint, with the correlation id taken from (or given to) every request."""

from __future__ import annotations

from nameko.extensions import DependencyProvider
from nameko.web.handlers import HttpRequestHandler
from nameko.web.server import WebServer

from gateway.auth import TokenVerifier
from minqing import context


class CorrelatedWebServer(WebServer):
    def context_data_from_headers(self, request):
        return {context.KEY: request.headers.get("X-Correlation-Id") or context.new_id()}


class CorrelatedHttpHandler(HttpRequestHandler):
    server = CorrelatedWebServer()


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
