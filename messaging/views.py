"""The providers' callbacks (delivery receipts 状态回执, replies 上行短信) and the unsubscribe
link. Doors: they parse what was posted and call the services; no rule lives here.

Neither Aliyun nor Tencent signs its callbacks, so each callback URL carries a secret
(MESSAGING_WEBHOOK_TOKEN) that the provider's console is given: a post without it is refused
(403) before its body is read. A malformed body gets 400, never a 500.
"""

import hashlib
import hmac
import json
from datetime import datetime

from django.conf import settings
from django.http import Http404, HttpResponseForbidden, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from core.models import Source
from members.models import ConsentChannel

from . import services

ALIYUN_OK = {"code": 0, "msg": "成功"}
TENCENT_OK = {"result": 0, "errmsg": "OK"}


def _token_ok(token):
    expected = settings.MESSAGING_WEBHOOK_TOKEN
    return bool(expected) and hmac.compare_digest(str(token).encode(), expected.encode())


def _json(request):
    try:
        return json.loads(request.body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None


def _bad(answer):
    if "code" in answer:
        return JsonResponse({"code": 1, "msg": "bad request"}, status=400)
    return JsonResponse({"result": 1, "errmsg": "bad request"}, status=400)


def _when(text):
    try:
        return timezone.make_aware(datetime.strptime(str(text), "%Y-%m-%d %H:%M:%S"))
    except (TypeError, ValueError):
        return None


def _items(data):
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list) or not all(isinstance(i, dict) for i in data):
        return None
    return data


def _str(value, limit):
    return value[:limit] if isinstance(value, str) else str(value or "")[:limit]


@csrf_exempt
@require_POST
def aliyun_report(request, token):
    if not _token_ok(token):
        return HttpResponseForbidden()
    items = _items(_json(request))
    if items is None:
        return _bad(ALIYUN_OK)
    receipts = []
    for item in items:
        out_id = _str(item.get("out_id"), 20)
        receipts.append({
            "id": int(out_id) if out_id.isdigit() else None,
            "provider_id": _str(item.get("biz_id"), 64),
            "delivered": item.get("success") is True,
            "code": _str(item.get("err_code"), 80),
            "at": _when(item.get("report_time")),
        })  # fmt: skip
    services.record_receipts(backend="aliyun", receipts=receipts)
    return JsonResponse(ALIYUN_OK)


@csrf_exempt
@require_POST
def aliyun_reply(request, token):
    if not _token_ok(token):
        return HttpResponseForbidden()
    items = _items(_json(request))
    if items is None:
        return _bad(ALIYUN_OK)
    for item in items:
        phone, content = _str(item.get("phone_number"), 20), _str(item.get("content"), 500)
        key = f"aliyun:{_str(item.get('sequence_id'), 60)}:{phone}"
        services.receive_sms_reply(provider="aliyun", phone=phone, text=content, key=key,
                                   at=_when(item.get("send_time")))  # fmt: skip
    return JsonResponse(ALIYUN_OK)


@csrf_exempt
@require_POST
def tencent_report(request, token):
    if not _token_ok(token):
        return HttpResponseForbidden()
    items = _items(_json(request))
    if items is None:
        return _bad(TENCENT_OK)
    receipts = [
        {"id": None, "provider_id": _str(item.get("sid"), 64),
         "delivered": item.get("report_status") == "SUCCESS",
         "code": _str(item.get("errmsg"), 80), "at": _when(item.get("user_receive_time"))}
        for item in items
    ]  # fmt: skip
    services.record_receipts(backend="tencent", receipts=receipts)
    return JsonResponse(TENCENT_OK)


@csrf_exempt
@require_POST
def tencent_reply(request, token):
    if not _token_ok(token):
        return HttpResponseForbidden()
    items = _items(_json(request))
    if items is None:
        return _bad(TENCENT_OK)
    for item in items:
        phone, text = _str(item.get("mobile"), 20), _str(item.get("text"), 500)
        stamp = _str(item.get("time"), 20)
        digest = hashlib.sha256(text.encode()).hexdigest()[:16]
        at = None
        if stamp.isdigit():
            at = datetime.fromtimestamp(int(stamp), tz=timezone.get_current_timezone())
        services.receive_sms_reply(provider="tencent", phone=phone, text=text,
                                   key=f"tencent:{phone}:{stamp}:{digest}", at=at)  # fmt: skip
    return JsonResponse(TENCENT_OK)


@require_http_methods(["GET", "POST"])
def unsubscribe(request, token):
    """The unsubscribe link: GET shows what it will do, POST does it (a link preview or a mail
    scanner that follows the link unsubscribes no one)."""
    member, channel = services.member_of_token(token)
    if member is None:
        raise Http404
    done = False
    if request.method == "POST":
        services.unsubscribe_by_token(token=token, source=Source.TASK)
        done = True
    return render(request, "messaging/unsubscribe.html", {
        "done": done, "channel": ConsentChannel(channel).label,
        "masked_phone": member.masked_phone,
    })  # fmt: skip
