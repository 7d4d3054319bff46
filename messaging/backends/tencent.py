"""SMS through Tencent Cloud (腾讯云短信), with its SDK tencentcloud-sdk-python-sms (API
2021-01-11).

SendSms carries our message id as SessionContext (returned as is, in the answer and in the
status pull); each number's result is in SendStatusSet (Code "Ok" with the SerialNo, or a
code such as LimitExceeded.PhoneNumberDailyLimit). After a lost answer,
PullSmsSendStatusByPhoneNumber lists what was sent to the number since the first try, each with
its SessionContext.
"""

from django.conf import settings
from django.utils import timezone
from tencentcloud.common import credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.sms.v20210111 import models, sms_client

from . import ACCEPTED, MORNING, PERMANENT, TRANSIENT, UNKNOWN, Outcome

RETRY_AFTER = {
    "LimitExceeded.PhoneNumberThirtySecondLimit": 30.0,
    "LimitExceeded.PhoneNumberOneHourLimit": 3600.0,
    "LimitExceeded.DeliveryFrequencyLimit": 3600.0,
    "RequestLimitExceeded": 1.0,
    "InternalError.Timeout": 60.0,
    "InternalError.OtherError": 60.0,
    "InternalError.RequestTimeException": 60.0,
    "InternalError": 60.0,
}
DAILY = {"LimitExceeded.PhoneNumberDailyLimit", "LimitExceeded.PhoneNumberSameContentDailyLimit"}
# The SDK's own codes for a request that got no answer.
NO_ANSWER = {"ClientNetworkError", "ServerNetworkError", "ClientError"}


def e164(phone):
    return phone if phone.startswith("+") else f"+86{phone}"


class TencentSmsBackend:
    name = "tencent"

    def __init__(self):
        conf = settings.MESSAGING_TENCENT
        self.conf = conf
        profile = ClientProfile(
            httpProfile=HttpProfile(
                protocol=conf["protocol"], endpoint=conf["endpoint"], reqTimeout=conf["timeout"]
            )
        )
        # No retryer: a retry is ours, after a look-up by SessionContext.
        self.client = sms_client.SmsClient(
            credential.Credential(conf["secret_id"], conf["secret_key"]), conf["region"], profile
        )

    def template_code(self, kind):
        return self.conf["templates"].get(kind, "")

    def send(self, message, params):
        template = self.template_code(message.kind)
        if not template:
            return Outcome(PERMANENT, code="template_not_configured",
                           detail=f"MESSAGING_TENCENT_TEMPLATES has no {message.kind}")  # fmt: skip
        request = models.SendSmsRequest()
        request.PhoneNumberSet = [e164(message.recipient)]
        request.SmsSdkAppId = self.conf["sdk_app_id"]
        request.SignName = self.conf["sign_name"]
        request.TemplateId = template
        # Tencent templates number their parameters ({1}, {2}): ours in the wording's order.
        request.TemplateParamSet = [str(v) for v in params.values()]
        request.SessionContext = str(message.pk)
        try:
            answer = self.client.SendSms(request)
        except TencentCloudSDKException as exc:
            return self._refused(exc.code, exc.message)
        status = (answer.SendStatusSet or [None])[0]
        if status is None:
            return Outcome(UNKNOWN, code="empty_answer")
        if status.Code == "Ok":
            return Outcome(ACCEPTED, provider_id=status.SerialNo or "")
        return self._refused(status.Code, status.Message)

    def _refused(self, code, detail):
        code = code or "unknown"
        detail = (detail or "")[:255]
        if code in NO_ANSWER:
            return Outcome(UNKNOWN, code=code, detail=detail)
        if code in DAILY:
            return Outcome(TRANSIENT, code=code, detail=detail, retry_after=MORNING)
        if code in RETRY_AFTER or code.startswith("RequestLimitExceeded"):
            return Outcome(TRANSIENT, code=code, detail=detail,
                           retry_after=RETRY_AFTER.get(code, 1.0))  # fmt: skip
        return Outcome(PERMANENT, code=code, detail=detail)

    def find(self, message):
        """Did Tencent take `message`? The status pull of the recipient since the first try,
        looked through for our SessionContext."""
        since = message.sent_at or message.created_at
        request = models.PullSmsSendStatusByPhoneNumberRequest()
        request.BeginTime = int(since.timestamp()) - 60
        request.EndTime = int(timezone.now().timestamp()) + 60
        request.Offset = 0
        request.Limit = 100
        request.PhoneNumber = e164(message.recipient)
        request.SmsSdkAppId = self.conf["sdk_app_id"]
        try:
            answer = self.client.PullSmsSendStatusByPhoneNumber(request)
        except TencentCloudSDKException:
            return None
        for status in answer.PullSmsSendStatusSet or []:
            if status.SessionContext == str(message.pk):
                return Outcome(ACCEPTED, provider_id=status.SerialNo or "",
                               delivered=status.ReportStatus == "SUCCESS")  # fmt: skip
        return Outcome(PERMANENT, code="not_found")
