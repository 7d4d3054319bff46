"""WeChat subscribe / template messages, through the official HTTP API with `requests`.

Why not wechatpy: its last release (1.8.18) is from 2021; it installs and imports on Python 3.11,
but we need two calls (the access token and the send) and want their failure modes in our hands:
the access token shared by every worker through the cache (wechatpy keeps it per client unless
given a storage), no retry inside the library, and WeChat's errcodes sorted into retry or not.

WeChat has no out-id and no way to ask whether a send went through, so a send whose answer was
lost is not tried again (at most once): the member still has the inbox copy.
"""

import requests
from django.conf import settings
from django.core.cache import cache

from . import ACCEPTED, PERMANENT, TRANSIENT, UNKNOWN, Outcome

TOKEN_EXPIRED = {40001, 40014, 42001}
TRANSIENT_CODES = {-1, 45009, 45011, 45047}


class WechatBackend:
    name = "wechat"

    def __init__(self):
        self.conf = settings.MESSAGING_WECHAT
        self.session = requests.Session()

    def _url(self, path):
        return f"{self.conf['api_base'].rstrip('/')}/{path}"

    def _token(self, refresh=False):
        key = f"messaging:wechat-token:{self.conf['app_id']}"
        token = None if refresh else cache.get(key)
        if token:
            return token
        answer = self.session.get(
            self._url("cgi-bin/token"),
            params={"grant_type": "client_credential", "appid": self.conf["app_id"],
                    "secret": self.conf["app_secret"]},
            timeout=self.conf["timeout"],
        ).json()  # fmt: skip
        token = answer.get("access_token")
        if not token:
            raise WechatError(answer.get("errcode", -1), answer.get("errmsg", ""))
        cache.set(key, token, max(60, int(answer.get("expires_in", 7200)) - 300))
        return token

    def template_id(self, kind):
        return self.conf["templates"].get(kind, "")

    def send(self, message, params):
        template = self.template_id(message.kind)
        if not template:
            return Outcome(PERMANENT, code="template_not_configured",
                           detail=f"MESSAGING_WECHAT_TEMPLATES has no {message.kind}")  # fmt: skip
        payload = {
            "touser": message.recipient,
            "template_id": template,
            "data": {key: {"value": str(value)} for key, value in params.items()},
        }
        if self.conf.get("page"):
            payload["page"] = self.conf["page"]
        try:
            answer = self._post(payload)
            if answer.get("errcode") in TOKEN_EXPIRED:
                answer = self._post(payload, refresh=True)
        except WechatError as exc:
            return self._refused(exc.code, exc.detail)
        except requests.RequestException as exc:
            return Outcome(UNKNOWN, code="network", detail=str(exc)[:255])
        except ValueError:
            return Outcome(UNKNOWN, code="bad_answer")
        if answer.get("errcode", 0) == 0:
            return Outcome(ACCEPTED, provider_id=str(answer.get("msgid", "")))
        return self._refused(answer.get("errcode"), answer.get("errmsg", ""))

    def _post(self, payload, refresh=False):
        response = self.session.post(
            self._url(self.conf["send_path"]),
            params={"access_token": self._token(refresh=refresh)},
            json=payload,
            timeout=self.conf["timeout"],
        )
        return response.json()

    def _refused(self, code, detail):
        detail = str(detail or "")[:255]
        if code in TRANSIENT_CODES:
            return Outcome(TRANSIENT, code=str(code), detail=detail, retry_after=60.0)
        return Outcome(PERMANENT, code=str(code), detail=detail)

    def find(self, message):
        return None


class WechatError(Exception):
    def __init__(self, code, detail):
        super().__init__(f"{code} {detail}")
        self.code, self.detail = code, detail
