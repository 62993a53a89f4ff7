"""Tencent Cloud SMS (API 2021-01-11 SendSms) through the official SDK: `pip install -e '.[sms]'`.

Settings (docs/accounts.md): MINQING_TENCENT_SECRET_ID, MINQING_TENCENT_SECRET_KEY, MINQING_TENCENT_SMS_APP_ID,
MINQING_SMS_SIGN_NAME, MINQING_SMS_TEMPLATES (template name → template id) and optionally
MINQING_TENCENT_SMS_REGION (default ap-guangzhou). Tencent numbers a template's variables, so the parameters
go in the order of templates.PARAM_ORDER.
"""

from __future__ import annotations

from datetime import datetime

from services.accounts import templates
from services.accounts.notifier import SendFailed, Sms, template_ids


class TencentNotifier:
    name = "tencent"

    def __init__(self, client, app_id: str, sign_name: str, template_map: dict[str, str]):
        self.client, self.app_id, self.sign_name, self.templates = client, app_id, sign_name, template_map

    @classmethod
    def from_settings(cls, settings: dict, endpoint: str | None = None, scheme: str = "https") -> TencentNotifier:
        from tencentcloud.common import credential
        from tencentcloud.common.profile.client_profile import ClientProfile
        from tencentcloud.common.profile.http_profile import HttpProfile
        from tencentcloud.sms.v20210111 import sms_client

        http = HttpProfile(endpoint=endpoint or "sms.tencentcloudapi.com")
        http.scheme = scheme
        cred = credential.Credential(str(settings["tencent_secret_id"]), str(settings["tencent_secret_key"]))
        client = sms_client.SmsClient(
            cred, str(settings.get("tencent_sms_region") or "ap-guangzhou"), ClientProfile(httpProfile=http)
        )
        return cls(client, str(settings["tencent_sms_app_id"]), str(settings["sms_sign_name"]), template_ids(settings))

    def request(self, sms: Sms):
        from tencentcloud.sms.v20210111 import models

        request = models.SendSmsRequest()
        request.PhoneNumberSet = [sms.to]  # E.164, as Tencent asks
        request.SmsSdkAppId = self.app_id
        request.SignName = self.sign_name
        request.TemplateId = self.templates[sms.template]
        request.TemplateParamSet = [str(sms.params[name]) for name in templates.PARAM_ORDER[sms.template]]
        request.SessionContext = sms.id  # ours, echoed in delivery receipts
        return request

    def send(self, sms: Sms, now: datetime) -> None:
        try:
            response = self.client.SendSms(self.request(sms))
        except Exception as exc:  # TencentCloudSDKException, network errors
            raise SendFailed(f"tencent: {exc.__class__.__name__}: {exc}") from None
        statuses = response.SendStatusSet or []
        if not statuses or statuses[0].Code != "Ok":
            status = statuses[0] if statuses else None
            raise SendFailed(f"tencent: {getattr(status, 'Code', None)}: {getattr(status, 'Message', None)}")
