"""Alibaba Cloud SMS (Dysmsapi 2017-05-25 SendSms) through the official SDK: `pip install -e '.[sms]'`.

Settings (docs/accounts.md): MINQING_ALIYUN_ACCESS_KEY_ID, MINQING_ALIYUN_ACCESS_KEY_SECRET, MINQING_SMS_SIGN_NAME,
MINQING_SMS_TEMPLATES (template name → template code, e.g. {"sign_in_code": "SMS_123456789", ...}) and optionally
MINQING_ALIYUN_SMS_ENDPOINT (default dysmsapi.aliyuncs.com).
"""

from __future__ import annotations

import json
from datetime import datetime

from services.accounts.notifier import SendFailed, Sms, template_ids


class AliyunNotifier:
    name = "aliyun"

    def __init__(self, client, sign_name: str, templates: dict[str, str]):
        self.client, self.sign_name, self.templates = client, sign_name, templates

    @classmethod
    def from_settings(cls, settings: dict, endpoint_protocol: str = "https") -> AliyunNotifier:
        from alibabacloud_dysmsapi20170525.client import Client
        from alibabacloud_tea_openapi import models as open_api_models

        config = open_api_models.Config(
            access_key_id=str(settings["aliyun_access_key_id"]),
            access_key_secret=str(settings["aliyun_access_key_secret"]),
            endpoint=str(settings.get("aliyun_sms_endpoint") or "dysmsapi.aliyuncs.com"),
            protocol=endpoint_protocol,
        )
        return cls(Client(config), str(settings["sms_sign_name"]), template_ids(settings))

    def request(self, sms: Sms):
        from alibabacloud_dysmsapi20170525 import models

        return models.SendSmsRequest(
            phone_numbers=sms.to.removeprefix("+86"),  # mainland numbers without the country code
            sign_name=self.sign_name,
            template_code=self.templates[sms.template],
            template_param=json.dumps(sms.params, ensure_ascii=False),
            out_id=sms.id,  # ours, echoed in delivery receipts: a resend is recognisable
        )

    def send(self, sms: Sms, now: datetime) -> None:
        from alibabacloud_tea_util import models as util_models

        try:
            response = self.client.send_sms_with_options(self.request(sms), util_models.RuntimeOptions())
        except Exception as exc:  # the SDK's TeaException, network errors
            raise SendFailed(f"aliyun: {exc.__class__.__name__}: {exc}") from None
        body = response.body
        if body is None or body.code != "OK":
            raise SendFailed(f"aliyun: {getattr(body, 'code', None)}: {getattr(body, 'message', None)}")
