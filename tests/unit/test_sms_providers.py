"""The Alibaba Cloud and Tencent Cloud adapters, through their official SDKs, against a local server that
records each request and answers as the provider does (those services cannot be reached from here)."""

import json
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from services.accounts import templates
from services.accounts.notifier import LogNotifier, SendFailed, Sms, build

pytest.importorskip("alibabacloud_dysmsapi20170525")
pytest.importorskip("tencentcloud.sms.v20210111")

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
TEMPLATE_IDS = {name: f"SMS_{n:09d}" for n, name in enumerate(templates.TEMPLATES, start=100)}
PARAMS = {"reference": "MX-2026-000693", "link": "https://mq.example/cases/abc/rate"}
SMS = Sms("msg-1", "+8613800001234", "reply_sent", PARAMS, templates.render("reply_sent", PARAMS), "abc", "evt-1")


class Recorder:
    """A provider stand-in: keeps what it was sent, answers with the next recorded body."""

    def __init__(self, answers):
        self.requests, self.answers = [], list(answers)
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode() if length else ""
                recorder.requests.append(
                    {"method": self.command, "path": self.path, "headers": dict(self.headers), "body": body}
                )
                payload = json.dumps(recorder.answers.pop(0)).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = _answer

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def recorder(request):
    made = []

    def make(*answers):
        made.append(Recorder(answers))
        return made[-1]

    yield make
    for r in made:
        r.close()


def aliyun(endpoint):
    from services.accounts.sms_aliyun import AliyunNotifier

    settings = {
        "aliyun_access_key_id": "LTAI-test",
        "aliyun_access_key_secret": "secret",
        "aliyun_sms_endpoint": endpoint,
        "sms_sign_name": "民情",
        "sms_templates": json.dumps(TEMPLATE_IDS),
    }
    return AliyunNotifier.from_settings(settings, endpoint_protocol="http")


def tencent(endpoint):
    from services.accounts.sms_tencent import TencentNotifier

    settings = {
        "tencent_secret_id": "AKID-test",
        "tencent_secret_key": "secret",
        "tencent_sms_app_id": "1400000000",
        "sms_sign_name": "民情",
        "sms_templates": TEMPLATE_IDS,
    }
    return TencentNotifier.from_settings(settings, endpoint=endpoint, scheme="http")


ALIYUN_OK = {"Code": "OK", "Message": "OK", "BizId": "900619746936498440^0", "RequestId": "F655A8D5-B967-440B-8683"}
ALIYUN_REFUSED = {"Code": "isv.BUSINESS_LIMIT_CONTROL", "Message": "触发分钟级流控Permits:1", "RequestId": "x"}


def aliyun_fields(request) -> dict:
    fields = parse_qs(urlsplit(request["path"]).query) | parse_qs(request["body"])
    return {k: v[0] for k, v in fields.items()}


def test_aliyun_sends_the_template_code_params_and_our_id(recorder):
    server = recorder(ALIYUN_OK)
    aliyun(server.endpoint).send(SMS, NOW)
    (sent,) = server.requests
    fields = aliyun_fields(sent)
    headers = {k.lower(): v for k, v in sent["headers"].items()}
    assert sent["method"] == "POST"
    assert headers["x-acs-action"] == "SendSms" and headers["x-acs-version"] == "2017-05-25"
    assert headers["authorization"].startswith("ACS3-HMAC-SHA256 Credential=LTAI-test,")
    assert fields == {
        "PhoneNumbers": "13800001234",
        "SignName": "民情",
        "TemplateCode": TEMPLATE_IDS["reply_sent"],
        "TemplateParam": json.dumps(PARAMS, ensure_ascii=False),
        "OutId": "msg-1",
    }
    assert "secret" not in json.dumps(sent)


def test_aliyun_refusal_is_a_send_failure_to_retry(recorder):
    server = recorder(ALIYUN_REFUSED)
    with pytest.raises(SendFailed, match="BUSINESS_LIMIT_CONTROL"):
        aliyun(server.endpoint).send(SMS, NOW)


TENCENT_OK = {
    "Response": {
        "SendStatusSet": [
            {
                "SerialNo": "5000:1045710669157053657849499619",
                "PhoneNumber": "+8613800001234",
                "Fee": 1,
                "SessionContext": "msg-1",
                "Code": "Ok",
                "Message": "send success",
                "IsoCode": "CN",
            }
        ],
        "RequestId": "a0aabda6-cf91-4f3e-a2e3-7b6ac4e4fe79",
    }
}
TENCENT_REFUSED = {
    "Response": {
        "SendStatusSet": [
            {
                "SerialNo": "",
                "PhoneNumber": "+8613800001234",
                "Fee": 0,
                "SessionContext": "msg-1",
                "Code": "LimitExceeded.PhoneNumberDailyLimit",
                "Message": "the number of sms...",
                "IsoCode": "CN",
            }
        ],
        "RequestId": "b",
    }
}


def test_tencent_sends_numbered_params_in_template_order(recorder):
    server = recorder(TENCENT_OK)
    tencent(server.endpoint).send(SMS, NOW)
    (sent,) = server.requests
    headers = {k.lower(): v for k, v in sent["headers"].items()}
    assert sent["method"] == "POST"
    assert headers["x-tc-action"] == "SendSms" and headers["x-tc-version"] == "2021-01-11"
    assert headers["authorization"].startswith("TC3-HMAC-SHA256 Credential=AKID-test/")
    assert json.loads(sent["body"]) == {
        "PhoneNumberSet": ["+8613800001234"],
        "SmsSdkAppId": "1400000000",
        "SignName": "民情",
        "TemplateId": TEMPLATE_IDS["reply_sent"],
        "TemplateParamSet": ["MX-2026-000693", "https://mq.example/cases/abc/rate"],
        "SessionContext": "msg-1",
    }


def test_tencent_refusal_is_a_send_failure_to_retry(recorder):
    server = recorder(TENCENT_REFUSED)
    with pytest.raises(SendFailed, match="PhoneNumberDailyLimit"):
        tencent(server.endpoint).send(SMS, NOW)


def test_a_provider_without_every_template_id_does_not_start():
    with pytest.raises(ValueError, match="sign_in_code"):
        build(
            "tencent",
            "unused",
            {
                "tencent_secret_id": "a",
                "tencent_secret_key": "b",
                "tencent_sms_app_id": "1",
                "sms_sign_name": "民情",
                "sms_templates": {"case_registered": "1"},
            },
        )
    with pytest.raises(ValueError, match="MINQING_SMS_PROVIDER"):
        build("carrier-pigeon", "unused", {})


def test_the_log_notifier_writes_one_json_line_per_message(tmp_path):
    path = tmp_path / "sms.log"
    LogNotifier(str(path)).send(SMS, NOW)
    LogNotifier(str(path)).send(SMS, NOW)
    first, second = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert first == second
    assert first == {
        "time": NOW.isoformat(),
        "to": "+8613800001234",
        "template": "reply_sent",
        "params": PARAMS,
        "text": SMS.text,
        "case_id": "abc",
        "event_id": "evt-1",
        "id": "msg-1",
    }
    assert first["text"].startswith("【民情】") and PARAMS["link"] in first["text"]
