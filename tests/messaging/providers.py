"""Local HTTP servers that answer as Aliyun's and Tencent Cloud's SMS APIs do, for the real SDKs.

Each checks what the SDK sends as the provider would (the request signature recomputed from the
secret: ACS3-HMAC-SHA256 for Aliyun, TC3-HMAC-SHA256 for Tencent; the action and API version;
the sign name, the approved templates and their parameters; the phone number) and answers in
the provider's shape: success with its BizId / SerialNo, its business error codes, per-number
throttling, or a connection closed after the send was accepted (the answer lost). They keep
what they accepted, so a test can count what the provider saw, and they answer the providers'
look-ups (Aliyun QuerySendDetails, Tencent PullSmsSendStatusByPhoneNumber) from it. They also
build the delivery receipts (状态回执) and replies (上行短信) the providers post back.

Written from the providers' API documentation and the SDKs' source, independently of both.
"""

import hashlib
import hmac
import itertools
import json
import re
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, quote, urlsplit

from django.utils import timezone

PHONE = re.compile(r"^1[3-9]\d{9}$")
_ids = itertools.count(1)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length)
        self.server.provider.requests.append((self.path, dict(self.headers), body))
        status, answer, close = self.server.provider.handle(self, body)
        if close:
            # Taken, then the connection dropped before the answer: the caller never hears.
            self.close_connection = True
            self.connection.shutdown(2)
            return
        out = json.dumps(answer, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("content-type", self.server.provider.content_type)
        self.send_header("content-length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, *args):
        pass


class _Provider:
    content_type = "application/json;charset=utf-8"

    def __init__(self):
        self.requests = []
        self.accepted = []  # what the provider took: one dict per SMS it will deliver
        # phone -> list of behaviours for its next sends ("ok", "close", a code, ...)
        self.script = {}
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.server.provider = self
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def endpoint(self):
        return f"127.0.0.1:{self.server.server_port}"

    def next_behaviour(self, phone):
        queue = self.script.get(phone) or []
        return queue.pop(0) if queue else "ok"

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


# --- Aliyun -----------------------------------------------------------------------------------

ALIYUN_LIMITS = {
    "limit_minute": ("isv.BUSINESS_LIMIT_CONTROL", "触发分钟级流控Permits:1"),
    "limit_hour": ("isv.BUSINESS_LIMIT_CONTROL", "触发小时级流控Permits:5"),
    "limit_day": ("isv.BUSINESS_LIMIT_CONTROL", "触发天级流控Permits:10"),
}


class AliyunSms(_Provider):
    def __init__(self, *, access_key_id, access_key_secret, sign_name, templates):
        self.access_key_id, self.secret = access_key_id, access_key_secret
        self.sign_name = sign_name
        # template code -> the variables its approved wording has
        self.templates = templates
        super().__init__()

    def _signature_ok(self, handler, path, body):
        auth = handler.headers.get("Authorization", "")
        match = re.fullmatch(
            r"ACS3-HMAC-SHA256 Credential=([^,]+),SignedHeaders=([^,]+),Signature=([0-9a-f]+)",
            auth,
        )
        if not match:
            return "IncompleteSignature"
        if match.group(1) != self.access_key_id:
            return "InvalidAccessKeyId.NotFound"
        if handler.headers.get("x-acs-content-sha256") != hashlib.sha256(body).hexdigest():
            return "SignatureDoesNotMatch"
        signed = match.group(2).split(";")
        url = urlsplit(path)
        query = sorted(parse_qsl(url.query, keep_blank_values=True))
        canonical_query = "&".join(f"{k}={quote(v, safe='~')}" for k, v in query)
        canonical_headers = "".join(f"{h}:{handler.headers.get(h, '').strip()}\n" for h in signed)
        canonical = "\n".join([
            handler.command, url.path or "/", canonical_query, canonical_headers,
            ";".join(signed), hashlib.sha256(body).hexdigest(),
        ])  # fmt: skip
        to_sign = "ACS3-HMAC-SHA256\n" + hashlib.sha256(canonical.encode()).hexdigest()
        expected = hmac.new(self.secret.encode(), to_sign.encode(), hashlib.sha256).hexdigest()
        if not {"host", "x-acs-action", "x-acs-date", "x-acs-signature-nonce"} <= set(signed):
            return "SignatureDoesNotMatch"
        return None if hmac.compare_digest(expected, match.group(3)) else "SignatureDoesNotMatch"

    def handle(self, handler, body):
        request_id = f"REQ{next(_ids):08d}"
        refused = self._signature_ok(handler, handler.path, body)
        if refused:
            status = 404 if refused == "InvalidAccessKeyId.NotFound" else 400
            return status, {"Code": refused, "Message": "Specified signature is not matched "
                            "with our calculation.", "RequestId": request_id}, False  # fmt: skip
        if handler.headers.get("x-acs-version") != "2017-05-25":
            return 400, {"Code": "InvalidVersion", "RequestId": request_id}, False
        query = dict(parse_qsl(urlsplit(handler.path).query, keep_blank_values=True))
        action = handler.headers.get("x-acs-action")
        if action == "SendSms":
            return self._send(query, request_id)
        if action == "QuerySendDetails":
            return self._query(query, request_id)
        return 400, {"Code": "InvalidAction.NotFound", "RequestId": request_id}, False

    def _business(self, code, message, request_id):
        return 200, {"Code": code, "Message": message, "RequestId": request_id}, False

    def _send(self, q, request_id):
        phone = q.get("PhoneNumbers", "")
        if q.get("SignName") != self.sign_name:
            return self._business("isv.SMS_SIGNATURE_ILLEGAL", "签名不合法", request_id)
        variables = self.templates.get(q.get("TemplateCode"))
        if variables is None:
            return self._business("isv.SMS_TEMPLATE_ILLEGAL", "模板不合法(不存在或被拉黑)", request_id)  # noqa: E501
        try:
            params = json.loads(q.get("TemplateParam") or "{}")
        except ValueError:
            return self._business("isv.INVALID_JSON_PARAM", "JSON参数不合法", request_id)
        if not set(variables) <= set(params):
            return self._business("isv.TEMPLATE_MISSING_PARAMETERS", "模板缺少变量", request_id)
        if not PHONE.match(phone):
            return self._business("isv.MOBILE_NUMBER_ILLEGAL", "非法手机号", request_id)
        behaviour = self.next_behaviour(phone)
        if behaviour == "drop":  # the connection dropped before the provider took it
            return 200, {}, True
        if behaviour in ALIYUN_LIMITS:
            return self._business(*ALIYUN_LIMITS[behaviour], request_id)
        biz_id = f"{next(_ids):018d}^0"
        self.accepted.append({
            "phone": phone, "out_id": q.get("OutId", ""), "biz_id": biz_id,
            "template": q.get("TemplateCode"), "params": params, "sign": q.get("SignName"),
            "at": timezone.now(),
        })  # fmt: skip
        answer = {"Code": "OK", "Message": "OK", "BizId": biz_id, "RequestId": request_id}
        return 200, answer, behaviour == "close"

    def _query(self, q, request_id):
        phone, day = q.get("PhoneNumber", ""), q.get("SendDate", "")
        rows = [
            {"PhoneNum": a["phone"], "SendStatus": 3, "ErrCode": "DELIVERED",
             "TemplateCode": a["template"], "Content": "", "OutId": a["out_id"],
             "SendDate": timezone.localtime(a["at"]).strftime("%Y-%m-%d %H:%M:%S"),
             "ReceiveDate": timezone.localtime(a["at"]).strftime("%Y-%m-%d %H:%M:%S")}
            for a in self.accepted
            if a["phone"] == phone and timezone.localtime(a["at"]).strftime("%Y%m%d") == day
        ]  # fmt: skip
        return 200, {"Code": "OK", "Message": "OK", "RequestId": request_id,
                     "TotalCount": len(rows), "SmsSendDetailDTOs": {"SmsSendDetailDTO": rows}}, False  # noqa: E501  # fmt: skip

    def receipt(self, accepted, *, success=True, code="DELIVERED"):
        """The report Aliyun posts for an SMS it took (HTTP 批量推送, one item of the array)."""
        at = timezone.localtime(accepted["at"]).strftime("%Y-%m-%d %H:%M:%S")
        return {"phone_number": accepted["phone"], "send_time": at, "report_time": at,
                "success": success, "err_code": code, "err_msg": "用户接收成功" if success else "失败",  # noqa: E501
                "sms_size": "1", "biz_id": accepted["biz_id"], "out_id": accepted["out_id"]}  # fmt: skip  # noqa: E501

    @staticmethod
    def reply(phone, content, sequence_id):
        return {"phone_number": phone, "send_time": "2026-06-01 10:05:00", "content": content,
                "sign_name": "演示超市", "dest_code": "1234", "sequence_id": sequence_id}  # fmt: skip  # noqa: E501


# --- Tencent ----------------------------------------------------------------------------------

TENCENT_LIMITS = {
    "limit_30s": "LimitExceeded.PhoneNumberThirtySecondLimit",
    "limit_hour": "LimitExceeded.PhoneNumberOneHourLimit",
    "limit_day": "LimitExceeded.PhoneNumberDailyLimit",
}


class TencentSms(_Provider):
    content_type = "application/json"  # exactly: the SDK reads an Error only under this type
    def __init__(self, *, secret_id, secret_key, sdk_app_id, sign_name, templates):
        self.secret_id, self.secret_key = secret_id, secret_key
        self.sdk_app_id, self.sign_name = sdk_app_id, sign_name
        self.templates = templates  # template id -> number of parameters
        super().__init__()

    def _error(self, code, message="", request_id=""):
        return 200, {"Response": {"Error": {"Code": code, "Message": message},
                                  "RequestId": request_id}}, False  # fmt: skip

    def _signature_ok(self, handler, body):
        auth = handler.headers.get("Authorization", "")
        match = re.fullmatch(
            r"TC3-HMAC-SHA256 Credential=([^/]+)/(\d{4}-\d{2}-\d{2})/sms/tc3_request, "
            r"SignedHeaders=([a-z;-]+), Signature=([0-9a-f]+)",
            auth,
        )
        if not match:
            return "AuthFailure.InvalidAuthorization"
        secret_id, date, signed, signature = match.groups()
        if secret_id != self.secret_id:
            return "AuthFailure.SecretIdNotFound"
        timestamp = int(handler.headers.get("X-TC-Timestamp", "0"))
        now = datetime.now(UTC).timestamp()
        if abs(now - timestamp) > 300:
            return "AuthFailure.SignatureExpire"
        if datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d") != date:
            return "AuthFailure.SignatureFailure"
        headers = signed.split(";")
        canonical = "\n".join([
            "POST", "/", "",
            "".join(f"{h}:{handler.headers.get(h, '').strip().lower() if h == 'content-type' else handler.headers.get(h, '').strip()}\n" for h in headers),  # noqa: E501
            signed, hashlib.sha256(body).hexdigest(),
        ])  # fmt: skip
        scope = f"{date}/sms/tc3_request"
        to_sign = "\n".join([
            "TC3-HMAC-SHA256", str(timestamp), scope,
            hashlib.sha256(canonical.encode()).hexdigest(),
        ])  # fmt: skip

        def mac(key, msg):
            return hmac.new(key, msg.encode(), hashlib.sha256).digest()

        key = mac(mac(mac(f"TC3{self.secret_key}".encode(), date), "sms"), "tc3_request")
        expected = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
        return None if hmac.compare_digest(expected, signature) else "AuthFailure.SignatureFailure"

    def handle(self, handler, body):
        request_id = f"req-{next(_ids):08d}"
        refused = self._signature_ok(handler, body)
        if refused:
            return self._error(refused, "The provided credentials could not be validated.",
                               request_id)  # fmt: skip
        if handler.headers.get("X-TC-Version") != "2021-01-11":
            return self._error("NoSuchVersion", "", request_id)
        try:
            data = json.loads(body)
        except ValueError:
            return self._error("InvalidParameter", "", request_id)
        if data.get("SmsSdkAppId") != self.sdk_app_id:
            return self._error("InvalidParameterValue.SdkAppIdNotExist", "", request_id)
        action = handler.headers.get("X-TC-Action")
        if action == "SendSms":
            return self._send(data, request_id)
        if action == "PullSmsSendStatusByPhoneNumber":
            return self._pull(data, request_id)
        return self._error("InvalidAction", "", request_id)

    def _send(self, data, request_id):
        if data.get("SignName") != self.sign_name:
            return self._error("FailedOperation.SignatureIncorrectOrUnapproved", "签名未审批",
                               request_id)  # fmt: skip
        count = self.templates.get(data.get("TemplateId"))
        if count is None:
            return self._error("FailedOperation.TemplateIncorrectOrUnapproved", "模板未审批",
                               request_id)  # fmt: skip
        if len(data.get("TemplateParamSet") or []) != count:
            return self._error("InvalidParameterValue.TemplateParameterFormatError", "",
                               request_id)  # fmt: skip
        statuses, close = [], False
        for number in data.get("PhoneNumberSet") or []:
            phone = number[3:] if number.startswith("+86") else number
            status = {"PhoneNumber": number, "SessionContext": data.get("SessionContext", ""),
                      "IsoCode": "CN", "Fee": 0, "SerialNo": ""}  # fmt: skip
            behaviour = self.next_behaviour(phone) if PHONE.match(phone) else "bad"
            if behaviour == "drop":
                return 200, {}, True
            if behaviour == "bad":
                status.update(Code="InvalidParameterValue.IncorrectPhoneNumber",
                              Message="手机号格式错误")  # fmt: skip
            elif behaviour in TENCENT_LIMITS:
                status.update(Code=TENCENT_LIMITS[behaviour], Message="频率限制")
            else:
                serial = f"2640:{next(_ids):020d}"
                status.update(Code="Ok", Message="send success", SerialNo=serial, Fee=1)
                self.accepted.append({
                    "phone": phone, "session": data.get("SessionContext", ""), "serial": serial,
                    "template": data.get("TemplateId"), "params": data.get("TemplateParamSet"),
                    "at": timezone.now(),
                })  # fmt: skip
                close = close or behaviour == "close"
            statuses.append(status)
        return 200, {"Response": {"SendStatusSet": statuses, "RequestId": request_id}}, close

    def _pull(self, data, request_id):
        number = data.get("PhoneNumber", "")
        phone = number[3:] if number.startswith("+86") else number
        begin, end = data.get("BeginTime", 0), data.get("EndTime", 0)
        rows = [
            {"UserReceiveTime": int(a["at"].timestamp()), "CountryCode": "86",
             "SubscriberNumber": phone, "PhoneNumber": f"+86{phone}", "SerialNo": a["serial"],
             "ReportStatus": "SUCCESS", "Description": "用户短信送达成功",
             "SessionContext": a["session"]}
            for a in self.accepted
            if a["phone"] == phone and begin <= a["at"].timestamp() <= end
        ]  # fmt: skip
        return 200, {"Response": {"PullSmsSendStatusSet": rows, "RequestId": request_id}}, False

    def receipt(self, accepted, *, success=True, errmsg="DELIVRD"):
        at = timezone.localtime(accepted["at"]).strftime("%Y-%m-%d %H:%M:%S")
        return {"user_receive_time": at, "nationcode": "86", "mobile": accepted["phone"],
                "report_status": "SUCCESS" if success else "FAIL", "errmsg": errmsg,
                "description": "用户短信送达成功" if success else "失败",
                "sid": accepted["serial"]}  # fmt: skip

    @staticmethod
    def reply(phone, text, at=1780279500):
        return {"extend": "", "mobile": phone, "nationcode": "86", "sign": "演示超市",
                "text": text, "time": at}  # fmt: skip


# --- WeChat -----------------------------------------------------------------------------------


class _WechatHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _answer(self, answer, close=False):
        if close:
            self.close_connection = True
            self.connection.shutdown(2)
            return
        out = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json; encoding=utf-8")
        self.send_header("content-length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def do_GET(self):
        provider = self.server.provider
        url = urlsplit(self.path)
        q = dict(parse_qsl(url.query))
        if url.path != "/cgi-bin/token":
            return self._answer({"errcode": 40066, "errmsg": "invalid url"})
        if q.get("appid") != provider.app_id or q.get("secret") != provider.secret:
            return self._answer({"errcode": 40125, "errmsg": "invalid appsecret"})
        provider.token_calls += 1
        provider.token = f"TOKEN{provider.token_calls}"
        return self._answer({"access_token": provider.token, "expires_in": 7200})

    def do_POST(self):
        provider = self.server.provider
        length = int(self.headers.get("content-length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        q = dict(parse_qsl(urlsplit(self.path).query))
        if q.get("access_token") != provider.token or provider.expire_next:
            provider.expire_next = False
            return self._answer({"errcode": 40001, "errmsg": "invalid credential"})
        if body.get("template_id") not in provider.templates:
            return self._answer({"errcode": 40037, "errmsg": "invalid template_id"})
        behaviour = provider.next_behaviour(body.get("touser"))
        if behaviour == "refused":
            return self._answer({"errcode": 43101, "errmsg": "user refuse to accept the msg"})
        if behaviour == "busy":
            return self._answer({"errcode": -1, "errmsg": "system error"})
        msgid = next(_ids)
        provider.accepted.append({"openid": body.get("touser"), "data": body.get("data"),
                                  "msgid": msgid})  # fmt: skip
        return self._answer({"errcode": 0, "errmsg": "ok", "msgid": msgid},
                            close=behaviour == "close")  # fmt: skip

    def log_message(self, *args):
        pass


class Wechat(_Provider):
    """The WeChat official-account API: /cgi-bin/token and the subscribe-message send."""

    def __init__(self, *, app_id, secret, templates):
        self.app_id, self.secret, self.templates = app_id, secret, templates
        self.token, self.token_calls, self.expire_next = None, 0, False
        self.requests, self.accepted, self.script = [], [], {}
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _WechatHandler)
        self.server.provider = self
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def base(self):
        return f"http://{self.endpoint}"
