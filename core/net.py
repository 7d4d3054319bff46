"""The client's address, as the login lockout (django-axes) and the till API's failed-key
throttle see it.

Behind a reverse proxy every request comes from the proxy's address (REMOTE_ADDR), and the
client's is in X-Forwarded-For. That header is whatever the client sent plus what each proxy
appended, so only the entries our own proxies appended can be believed: with
`TRUSTED_PROXY_COUNT` = N (the number of proxies in front of gunicorn, e.g. 1 for nginx) the
client is the N-th entry from the right. With the default 0 the header is ignored: anyone can
send one, and believing it would let an attacker choose the address a lockout counts.
"""

import ipaddress

from django.conf import settings


def client_address(request) -> str:
    remote = request.META.get("REMOTE_ADDR", "") or ""
    count = getattr(settings, "TRUSTED_PROXY_COUNT", 0)
    if count <= 0:
        return remote
    header = request.META.get("HTTP_X_FORWARDED_FOR", "")
    hops = [hop.strip() for hop in header.split(",") if hop.strip()]
    if len(hops) < count:
        return remote  # did not come through all our proxies (or a proxy was set up wrong)
    candidate = hops[-count]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return remote
