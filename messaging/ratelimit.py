"""A token bucket per provider, in the database, so every worker on every machine shares it.

`take(name)` takes a token by one UPDATE that first refills the bucket for the time since its
last take (at the settings' rate, up to a second's worth) and may leave it negative: the
caller then waits the debt out (-tokens / rate seconds) before sending. Taking never blocks on
another worker for longer than its UPDATE, and N workers together keep to the rate.
"""

import time

from django.conf import settings
from django.db import connection

from core.sql import column, table

from .models import RateBucket


def take(name, *, sleep=time.sleep):
    """Take one token of `name`'s bucket, waiting if the rate is used up. Returns the wait."""
    rate = float(settings.MESSAGING_RATE_LIMITS.get(name, 10.0))
    t, tokens, updated = table(RateBucket), column(RateBucket, "tokens"), column(
        RateBucket, "updated_at"
    )
    sql = (
        f"UPDATE {t} SET {tokens} = LEAST(%s, {tokens} + %s * EXTRACT(EPOCH FROM "
        f"(clock_timestamp() - {updated}))) - 1, {updated} = clock_timestamp() "
        f"WHERE {column(RateBucket, 'name')} = %s RETURNING {tokens}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [rate, rate, name])
        row = cursor.fetchone()
        if row is None:
            RateBucket.objects.get_or_create(name=name, defaults={"tokens": rate})
            cursor.execute(sql, [rate, rate, name])
            row = cursor.fetchone()
    wait = -row[0] / rate if row[0] < 0 else 0.0
    if wait > 0:
        sleep(wait)
    return wait
