"""Sending an SMS: one small interface, three implementations chosen by MINQING_SMS_PROVIDER.

`log` (the default) appends one JSON object per line to MINQING_SMS_LOG (var/sms.log); `aliyun` and `tencent`
call those clouds' SMS APIs through their official SDKs (optional extras: `pip install -e '.[sms-aliyun]'`
or `'.[sms-tencent]'`). A provider raises `SendFailed` when the message was not accepted; the caller retries.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class Sms:
    id: str  # ours: the provider gets it as its out-id, so a resend can be told apart
    to: str  # E.164
    template: str
    params: dict
    text: str
    case_id: str | None = None
    event_id: str | None = None
    extra: dict = field(default_factory=dict)


class SendFailed(Exception):
    """The provider did not accept the message (network, quota, a rejected template): retry later."""


class Notifier(Protocol):
    name: str

    def send(self, sms: Sms, now: datetime) -> None: ...


class LogNotifier:
    """Writes each message as a JSON line; what a developer reads instead of a phone."""

    name = "log"
    _lock = threading.Lock()

    def __init__(self, path: str):
        self.path = path

    def send(self, sms: Sms, now: datetime) -> None:
        line = {
            "time": now.isoformat(),
            "to": sms.to,
            "template": sms.template,
            "params": sms.params,
            "text": sms.text,
            "case_id": sms.case_id,
            "event_id": sms.event_id,
            "id": sms.id,
        }
        os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
        data = (json.dumps(line, ensure_ascii=False) + "\n").encode()
        with self._lock:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, data)  # one write of one line with O_APPEND: lines of several processes never mix
            finally:
                os.close(fd)


def build(provider: str, log_path: str, settings: dict) -> Notifier:
    if provider == "log":
        return LogNotifier(log_path)
    if provider == "aliyun":
        from services.accounts.sms_aliyun import AliyunNotifier

        return AliyunNotifier.from_settings(settings)
    if provider == "tencent":
        from services.accounts.sms_tencent import TencentNotifier

        return TencentNotifier.from_settings(settings)
    raise ValueError(f"MINQING_SMS_PROVIDER must be one of log, aliyun, tencent; got {provider!r}")


def template_ids(settings: dict) -> dict[str, str]:
    """MINQING_SMS_TEMPLATES: template name → the provider's template id, as JSON (environment) or a mapping
    (YAML). Every template must have one: a message the provider cannot send is a configuration error."""
    from services.accounts.templates import TEMPLATES

    raw = settings.get("sms_templates") or {}
    mapping = json.loads(raw) if isinstance(raw, str) else dict(raw)
    missing = [name for name in TEMPLATES if name not in mapping]
    if missing:
        raise ValueError(f"MINQING_SMS_TEMPLATES has no template id for {', '.join(missing)}")
    return {str(k): str(v) for k, v in mapping.items()}
