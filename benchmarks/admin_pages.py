"""Admin pages at chain scale: each page head office opens most, its server time and query
count, on a database built by `manage.py seed_scale` (1,000,000 members, ~10M ledger entries).

    DATABASE_URL=postgres://... .venv/bin/python benchmarks/admin_pages.py \
        [--members 1000000] [--reseed] [--runs 5]

The pages are requested in-process through Django's test client as the seed's head-office
user (the whole request: middleware, queries, template), each once to warm up, then --runs
times; the median is printed with the query count. The naive baseline, measured in the same
run: the member list with Django's default paginator and an exact COUNT(*) (what the list did
before `EstimatedCountPaginator`). Target (issue 16): every page <= 300 ms.

The data lives in a scratch database `<db>_scale` next to the one in DATABASE_URL, built by
seed_scale the first time (minutes) and reused afterwards (--reseed builds it again).
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TARGET_MS = 300


def scale_database(url, members, reseed, name=None):
    """The URL of `<db>_scale` (or `name`), seeded with `members` members unless it is."""
    import psycopg

    parts = urlsplit(url)
    name = name or parts.path.lstrip("/") + "_scale"
    admin = urlunsplit(parts._replace(path="/postgres"))
    scale = urlunsplit(parts._replace(path=f"/{name}"))
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists and not reseed:
            with psycopg.connect(scale) as db:
                try:
                    have = db.execute("SELECT COUNT(*) FROM members_member").fetchone()[0]
                except psycopg.Error:
                    have = 0
            if have >= members:
                return scale
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    env = {**os.environ, "DATABASE_URL": scale, "DJANGO_SETTINGS_MODULE": "config.settings"}
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], env=env, check=True, cwd=ROOT)
    started = time.monotonic()
    subprocess.run(
        [sys.executable, "manage.py", "seed_scale", "--members", str(members)],
        env=env,
        check=True,
        cwd=ROOT,
    )
    print(f"seed_scale --members {members}: {time.monotonic() - started:.0f} s")
    return scale


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--reseed", action="store_true")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--database", help="an already seeded database (default <db>_scale)")
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        sys.exit("Set DATABASE_URL to a PostgreSQL database.")
    os.environ["DATABASE_URL"] = scale_database(url, args.members, args.reseed, args.database)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.conf import settings

    settings.ALLOWED_HOSTS = ["*"]
    run(args.runs)


def run(runs):
    from django.contrib import admin
    from django.contrib.auth import get_user_model
    from django.core.paginator import Paginator
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    from loyalty.models import PointsAccount, PointsEntry
    from members.models import Card, Member, Tag, Tier
    from sales.models import Sale
    from stores.models import Store
    from wallet.models import WalletEntry

    user = get_user_model().objects.get(username="admin")
    client = Client()
    client.force_login(user)
    busiest = Sale.objects.values("member_id").order_by("-member_id").first()["member_id"]
    member = Member.objects.get(pk=busiest)
    card = Card.objects.filter(member=member).values_list("card_no", flat=True).first()
    tier = Tier.objects.order_by("-rank").first()
    store = Store.objects.order_by("pk")[5]
    tag, _ = Tag.objects.get_or_create(name="benchmark")
    members_url = reverse("admin:members_member_changelist")
    entries_url = reverse("admin:loyalty_pointsentry_changelist")
    sales_url = reverse("admin:sales_sale_changelist")
    pages = [
        ("member list", members_url),
        ("search: full phone", f"{members_url}?q={member.phone}"),
        ("search: last 4 of phone", f"{members_url}?q={member.phone[-4:]}"),
        ("search: phone prefix (7 digits)", f"{members_url}?q={member.phone[:7]}"),
        ("search: card no", f"{members_url}?q={card}"),
        ("search: member no", f"{members_url}?q={member.member_no}"),
        ("search: name", f"{members_url}?q={member.name}"),
        ("search: pinyin initials", f"{members_url}?q={member.name_initials}"),
        ("search: no match", f"{members_url}?q=赵钱孙"),
        ("filter: tier (rarest)", f"{members_url}?tier__id__exact={tier.pk}"),
        ("filter: home store", f"{members_url}?home_store={store.pk}"),
        ("filter: status frozen", f"{members_url}?status__exact=frozen"),
        ("filter: tag (none tagged)", f"{members_url}?tags__id__exact={tag.pk}"),
        ("filter: birthday month", f"{members_url}?birthday_month=3"),
        ("filter: opened in the last 7 days", f"{members_url}?{_days('opened_at', 7)}"),
        ("filter: visited this month", f"{members_url}?{_days('last_visit_at', 30)}"),
        (
            "filter: tier + store + search",
            f"{members_url}?tier__id__exact={tier.pk}&home_store={store.pk}&q=zw",
        ),  # fmt: skip
        ("member page", reverse("admin:members_member_change", args=[member.pk])),
        ("points ledger", entries_url),
        ("points ledger: kind redeem", f"{entries_url}?kind__exact=redeem"),
        ("points ledger: one store", f"{entries_url}?store__id__exact={store.pk}"),
        ("points ledger: member search", f"{entries_url}?q={member.member_no}"),
        ("points accounts", reverse("admin:loyalty_pointsaccount_changelist")),
        ("points lots", reverse("admin:loyalty_pointslot_changelist")),
        ("stored-value ledger", reverse("admin:wallet_walletentry_changelist")),
        ("sales", sales_url),
        ("sales: one store", f"{sales_url}?store__id__exact={store.pk}"),
    ]

    def measure(url):
        response = client.get(url)  # warm-up (and the status check)
        if response.status_code != 200:
            return response.status_code, None, None
        times, queries = [], 0
        for _ in range(runs):
            with CaptureQueriesContext(connection) as captured:
                started = time.perf_counter()
                client.get(url)
                times.append((time.perf_counter() - started) * 1000)
            queries = len(captured.captured_queries)
        return 200, statistics.median(times), queries

    counts = {
        "members": Member.objects.count(),
        "points entries": PointsEntry.objects.count(),
        "stored-value entries": WalletEntry.objects.count(),
        "sales": Sale.objects.count(),
        "points accounts": PointsAccount.objects.count(),
    }
    print(", ".join(f"{name} {count:,}" for name, count in counts.items()))
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"{'page':<40}{'ms':>8}{'queries':>9}  target {TARGET_MS} ms")
    worst = 0
    for name, url in pages:
        status, ms, queries = measure(url)
        if ms is None:
            print(f"{name:<40}{'HTTP ' + str(status):>8}")
            worst = float("inf")
            continue
        worst = max(worst, ms)
        flag = "" if ms <= TARGET_MS else "  SLOW"
        print(f"{name:<40}{ms:>8.0f}{queries:>9}{flag}")

    # The naive baseline, same run: the member list with an exact COUNT(*) paginator.
    model_admin = admin.site._registry[Member]
    saved = model_admin.paginator, model_admin.show_full_result_count
    model_admin.paginator, model_admin.show_full_result_count = Paginator, True
    try:
        _, naive_ms, naive_queries = measure(members_url)
    finally:
        model_admin.paginator, model_admin.show_full_result_count = saved
    _, fast_ms, _ = measure(members_url)
    print(
        f"{'naive: member list, exact COUNT(*)':<40}{naive_ms:>8.0f}{naive_queries:>9}"
        f"  ({naive_ms / fast_ms:.1f}x the estimated count's {fast_ms:.0f} ms)"
    )
    print(f"load average after: {os.getloadavg()[0]:.1f}")
    print(f"slowest page: {worst:.0f} ms: target {'met' if worst <= TARGET_MS else 'NOT met'}")


def _days(field, days):
    """The member list's own date filter link ("past 7 days", "this month" ...)."""
    from datetime import datetime, time, timedelta
    from urllib.parse import urlencode

    from django.utils import timezone

    today = timezone.make_aware(datetime.combine(timezone.localdate(), time()))
    return urlencode(
        {
            f"{field}__gte": str(today - timedelta(days=days)),
            f"{field}__lt": str(today + timedelta(days=1)),
        }
    )


if __name__ == "__main__":
    main()
