"""Settings from the environment, optionally from a YAML file named by MINQING_CONFIG.

Precedence: environment variable > YAML file > default. Every service builds its nameko config dict
from here, so one place documents every knob (see README, "Configuration").
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
SERVICES = ("intake", "routing", "feedback", "points", "accounts")

DEFAULTS: dict[str, object] = {
    "amqp_uri": "amqp://guest:guest@127.0.0.1:5672/",
    "http_host": "127.0.0.1",
    "http_port": 8000,
    "var_dir": str(ROOT / "var"),
    "jwt_secret": None,  # generated once into var/jwt-secret for the embedded default
    "jwt_public_key": None,  # PEM for RS256 in production
    "event_retry_delays": "0.5,5,30",  # seconds before each retry of a failing event handler
    "outbox_poll_interval": 0.5,
    "metrics_port_base": 9100,
    "duplicate_window_days": 30,
    "duplicate_threshold": 60,
    "rate_limit_per_minute": 600,
    "max_body_bytes": 262144,
    "log_level": "INFO",
    "scan_interval": 5,
    "calendar_refresh_interval": 2,
    "unrated_close_days": 7,
    "return_visit_sample": 1.0,
    "due_soon_fraction": 0.8,
    "webhook_allow_hosts": "",  # host names a bureau webhook may name although they are not public (SSRF)
    # accounts (docs/accounts.md)
    "access_token_seconds": 900,
    "refresh_token_days": 30,
    "sms_provider": "log",  # log, aliyun or tencent
    "case_sms": True,  # text reporters about their cases (sign-in codes are sent regardless)
    "public_url": "http://127.0.0.1:8000",  # the residents' links (rate a reply) start here
}


def _yaml_settings() -> dict:
    path = os.environ.get("MINQING_CONFIG")
    if not path:
        return {}
    with open(path, encoding="utf-8") as fh:
        loaded = yaml.safe_load(fh) or {}
    if not isinstance(loaded, dict):
        raise ValueError(f"{path}: expected a mapping of settings")
    return {str(k).lower(): v for k, v in loaded.items()}


def get(name: str, default: object = None) -> object:
    env = os.environ.get("MINQING_" + name.upper())
    if env is not None:
        return env
    from_yaml = _yaml_settings()
    if name in from_yaml:
        return from_yaml[name]
    return DEFAULTS.get(name, default)


def var_dir() -> Path:
    path = Path(str(get("var_dir")))
    path.mkdir(parents=True, exist_ok=True)
    return path


def db_url(service: str) -> str:
    """One database per service: MINQING_<SERVICE>_DB_URL, else a SQLite file under var/."""
    url = get(f"{service}_db_url")
    return str(url) if url else f"sqlite:///{var_dir() / (service + '.db')}"


def jwt_secret() -> str:
    secret = get("jwt_secret")
    if secret:
        return str(secret)
    path = var_dir() / "jwt-secret"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(32))
        path.chmod(0o600)
    return path.read_text().strip()


def retry_delays() -> list[float]:
    raw = get("event_retry_delays")
    items = raw if isinstance(raw, list) else str(raw).split(",")
    return [float(x) for x in items if str(x).strip()]


@dataclass
class ServiceSettings:
    """What one service process needs; turned into nameko's config dict."""

    service: str
    amqp_uri: str = field(default_factory=lambda: str(get("amqp_uri")))
    http_address: str | None = None
    extra: dict = field(default_factory=dict)

    def nameko_config(self) -> dict:
        config = {
            "AMQP_URI": self.amqp_uri,
            "SERVICE": self.service,
            "DB_URL": db_url(self.service) if self.service in SERVICES else None,
            "EVENT_RETRY_DELAYS": retry_delays(),
            "OUTBOX_POLL_INTERVAL": float(get("outbox_poll_interval")),
            "MAX_WORKERS": int(get(f"{self.service}_max_workers", 10)),
            "PARENT_CALLS_TRACKED": 10,
            "serializer": "json",
        }
        if self.service == "gateway":
            config.update(
                JWT_SECRET=jwt_secret(),
                JWT_PUBLIC_KEY=get("jwt_public_key"),
                RATE_LIMIT_PER_MINUTE=int(get("rate_limit_per_minute")),
                MAX_BODY_BYTES=int(get("max_body_bytes")),
                RPC_TIMEOUT=float(get("rpc_timeout", 10)),
            )
            config["WEB_SERVER_ADDRESS"] = self.http_address or gateway_address()
            config["METRICS_ADDRESS"] = metrics_address("gateway")
        else:
            config["DUPLICATE_WINDOW_DAYS"] = int(get("duplicate_window_days"))
            config["DUPLICATE_THRESHOLD"] = float(get("duplicate_threshold"))
            config["DUE_SOON_FRACTION"] = float(get("due_soon_fraction"))
            config["UNRATED_CLOSE_DAYS"] = float(get("unrated_close_days"))
            config["RETURN_VISIT_SAMPLE"] = float(get("return_visit_sample"))
            config["WEBHOOK_ALLOW_HOSTS"] = str(get("webhook_allow_hosts") or "")
            config["WEB_SERVER_ADDRESS"] = self.http_address or metrics_address(self.service)
        if self.service == "accounts":
            config.update(accounts_settings())
        config.update(self.extra)
        return config


def accounts_settings() -> dict:
    """What the accounts service signs tokens with and sends messages by (docs/accounts.md)."""
    return {
        "JWT_SECRET": jwt_secret(),
        "JWT_PRIVATE_KEY": get("jwt_private_key"),  # PEM: sign RS256 where the gateway verifies JWT_PUBLIC_KEY
        "ACCESS_TOKEN_SECONDS": int(get("access_token_seconds")),
        "REFRESH_TOKEN_DAYS": float(get("refresh_token_days")),
        "SMS_PROVIDER": str(get("sms_provider")),
        "CASE_SMS": str(get("case_sms")).lower() not in ("0", "false", "no", "off"),
        "SMS_LOG": str(get("sms_log") or var_dir() / "sms.log"),
        "SMS_SETTINGS": {k: get(k) for k in SMS_KEYS if get(k) is not None},
        "PUBLIC_URL": str(get("public_url")).rstrip("/"),
        "RESIDENT_COMMUNITIES": [c for c in str(get("resident_communities") or "").split(",") if c.strip()],
    }


# credentials and template ids of the SMS providers (never logged)
SMS_KEYS = (
    "sms_sign_name",
    "sms_templates",  # JSON or YAML mapping template name → the provider's template id
    "aliyun_access_key_id",
    "aliyun_access_key_secret",
    "aliyun_sms_endpoint",
    "tencent_secret_id",
    "tencent_secret_key",
    "tencent_sms_app_id",
    "tencent_sms_region",
)


def metrics_address(service: str) -> str:
    """A process's internal port for /metrics (and a backend's /healthz): the gateway's is the base (9100),
    never its public API port; each backend's is base + 1 + its place in SERVICES."""
    port = get(f"{service}_metrics_port")
    if port is None:
        port = int(get("metrics_port_base")) + (0 if service == "gateway" else 1 + SERVICES.index(service))
    return f"{get('http_host')}:{port}"


def gateway_address() -> str:
    return f"{get('http_host')}:{get('http_port')}"
