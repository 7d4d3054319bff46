"""SMS through Aliyun (阿里云短信服务), with its SDK alibabacloud-dysmsapi20170525.

SendSms carries our message id as OutId; business refusals come back as HTTP 200 with a Code
(isv.*). After a lost answer, QuerySendDetails (by phone and day) lists what the provider took,
each with its OutId, so the retry can tell whether the first try went out.
"""

import json

from alibabacloud_dysmsapi20170525 import models as sms
from alibabacloud_dysmsapi20170525.client import Client
from alibabacloud_tea_openapi import utils_models as open_api
from alibabacloud_tea_openapi.exceptions import AlibabaCloudException
from darabonba.runtime import RuntimeOptions
from django.conf import settings
from django.utils import timezone
from Tea.exceptions import TeaException

from . import ACCEPTED, MORNING, PERMANENT, TRANSIENT, UNKNOWN, Outcome

# Per-number flow control (分钟级 / 小时级 / 天级流控): retry when the window has passed.
LIMIT = "isv.BUSINESS_LIMIT_CONTROL"
TRANSIENT_CODES = {
    LIMIT,
    "isv.DAY_LIMIT_CONTROL",
    "Throttling",
    "Throttling.User",
    "Throttling.Api",
    "isp.SYSTEM_ERROR",
    "isp.GATEWAY_ERROR",
    "ServiceUnavailable",
    "InternalError",
}


def _retry_after(code, message):
    if code != LIMIT and code != "isv.DAY_LIMIT_CONTROL":
        return 60.0
    if code == "isv.DAY_LIMIT_CONTROL" or "天级" in (message or ""):
        return MORNING
    if "小时级" in (message or ""):
        return 3600.0
    return 60.0


class AliyunSmsBackend:
    name = "aliyun"

    def __init__(self):
        conf = settings.MESSAGING_ALIYUN
        self.conf = conf
        self.client = Client(
            open_api.Config(
                access_key_id=conf["access_key_id"],
                access_key_secret=conf["access_key_secret"],
                endpoint=conf["endpoint"],
                protocol=conf["protocol"],
                region_id=conf["region"],
            )
        )

    def _runtime(self):
        # The SDK retries nothing unless told to (its RetryOptions are off): a retry is ours,
        # after a look-up by OutId, never the SDK's blind one.
        timeout = int(self.conf["timeout"] * 1000)
        return RuntimeOptions(read_timeout=timeout, connect_timeout=min(timeout, 5000))

    def template_code(self, kind):
        return self.conf["templates"].get(kind, "")

    def send(self, message, params):
        code = self.template_code(message.kind)
        if not code:
            return Outcome(PERMANENT, code="template_not_configured",
                           detail=f"MESSAGING_ALIYUN_TEMPLATES has no {message.kind}")  # fmt: skip
        request = sms.SendSmsRequest(
            phone_numbers=message.recipient,
            sign_name=self.conf["sign_name"],
            template_code=code,
            template_param=json.dumps(params, ensure_ascii=False) if params else None,
            out_id=str(message.pk),
        )
        try:
            body = self.client.send_sms_with_options(request, self._runtime()).body
        except AlibabaCloudException as exc:
            return self._refused(exc.code, exc.message, http=getattr(exc, "status_code", 0))
        except TeaException as exc:
            # No answer (connection closed, timeout): the provider may have taken it.
            return Outcome(UNKNOWN, code="network", detail=str(exc.message or exc)[:255])
        if body.code == "OK":
            return Outcome(ACCEPTED, provider_id=body.biz_id or "")
        return self._refused(body.code, body.message)

    def _refused(self, code, detail, http=200):
        code = code or "unknown"
        if http and http >= 500:
            return Outcome(UNKNOWN, code=code, detail=(detail or "")[:255])
        if code in TRANSIENT_CODES:
            return Outcome(TRANSIENT, code=code, detail=(detail or "")[:255],
                           retry_after=_retry_after(code, detail))  # fmt: skip
        return Outcome(PERMANENT, code=code, detail=(detail or "")[:255])

    def find(self, message):
        """Did Aliyun take `message`? QuerySendDetails of the recipient on the day it was sent,
        looked through for our OutId."""
        day = timezone.localtime(message.sent_at or timezone.now())
        try:
            body = self.client.query_send_details_with_options(
                sms.QuerySendDetailsRequest(
                    phone_number=message.recipient,
                    send_date=day.strftime("%Y%m%d"),
                    page_size=50,
                    current_page=1,
                ),
                self._runtime(),
            ).body
        except (AlibabaCloudException, TeaException):
            return None
        if body.code != "OK":
            return None
        details = body.sms_send_detail_dtos.sms_send_detail_dto if body.sms_send_detail_dtos else []
        for detail in details or []:
            if str(detail.out_id) == str(message.pk):
                # QuerySendDetails gives no BizId: the receipt names it later.
                return Outcome(ACCEPTED, delivered=detail.send_status == 3)
        return Outcome(PERMANENT, code="not_found")


