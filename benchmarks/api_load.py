"""Load benchmark of the till API: 16 concurrent tills on loopback against gunicorn on PostgreSQL.

    DATABASE_URL=postgres://... .venv/bin/python benchmarks/api_load.py [--seconds 15]

Creates a scratch database `<db>_load` next to the one in DATABASE_URL (dropped first, so every
run starts from the same state) and seeds it: 16 tills in SH001, 400 members with points, one
earning and one redemption rule, two tiers (the upper one reached by lifetime spend during the
run). Then starts gunicorn with config/gunicorn.conf.py (access log on, to /dev/null) and runs
three phases in the same server run, each with 16 tills (one thread and API key each) for
--seconds:

  ping      GET  /api/v1/ping                    the cheapest authenticated call (the baseline)
  lookup    GET  /api/v1/members/lookup?phone=   member lookup
  checkout  POST /api/v1/sales                   a two-line sale, half of them redeeming points
  coupons   POST /api/v1/sales                   the same sale with two coupons (10% off the
                                                 fresh line, then 满50减10 on the order)

and prints requests/s, p50 and p99 per phase, and checkout as a share of the ping baseline.
Targets (issue 5): >= 200 checkouts/s, p99 < 150 ms on the 2-core machine. Issue 13: the
checkout with two coupons as a share of ping, beside the plain checkout's.

With --expiry-lots N (issue 16), N due lots are generated for other members after those
phases, then `manage.py expire_points` runs in its own process while the 16 tills keep checking
out: the checkout phase "checkout+expiry" lasts as long as the expiry, and its p99 is printed
beside the quiet checkout p99, with how long the expiry took under that load.
"""

import argparse
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from scratch import fresh_database  # noqa: E402

TILLS = 16
MEMBERS = 400


def seed():
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    from django.db import connection

    from core.models import Source
    from loyalty.models import EarningRule, ExpiryPolicy, RedemptionRule
    from members.models import Tier
    from members.services import open_member
    from stores.models import Store
    from stores.services import create_terminal

    store, _ = Store.objects.get_or_create(code="SH001", defaults={"name": "上海徐汇店"})
    Tier.objects.create(code="NORMAL", name="普卡", rank=0, is_default=True)
    Tier.objects.create(code="GOLD", name="金卡", rank=1, upgrade_spend=3000, points_multiplier=2)
    EarningRule.objects.create(name="bench", kind="per_amount", points=1, per_amount=1)
    RedemptionRule.objects.create(name="bench", points_per_yuan=100, max_share_percent=50)
    ExpiryPolicy.objects.create(
        name="bench", mode="year_end", periods_after=1, start_date=date(2020, 1, 1)
    )
    phones = [f"1390000{n:04d}" for n in range(MEMBERS)]
    for phone in phones:
        open_member(phone=phone, home_store=store, source=Source.COMMAND, initial_points=1_000_000)
    run = uuid.uuid4().hex[:6]
    keys = [create_terminal(store_code="SH001", code=f"B{run}{n:02d}")[1] for n in range(TILLS)]
    coupon_queue.extend(issue_load_coupons(phones))
    connection.close()
    return keys, phones, run


# (phone, [two coupon codes]) for the coupons phase: each pair is used once.
coupon_queue = []
COUPONS_PER_MEMBER = 12


def issue_load_coupons(phones):
    """COUPONS_PER_MEMBER pairs of coupons (10% off fresh food; 满50减10) for every member."""
    from decimal import Decimal

    from coupons.models import Coupon, CouponTemplate, CouponTemplateVersion
    from coupons.services import issue_coupons, save_coupon_template
    from members.models import Member

    V = CouponTemplateVersion
    fresh = CouponTemplate(code="L-FRESH", name="生鲜9折", per_member_limit=COUPONS_PER_MEMBER)
    save_coupon_template(
        template=fresh,
        terms={"kind": V.Kind.PERCENT, "percent_off": Decimal("10"), "cap": Decimal("20"),
               "scope": V.Scope.CATEGORIES, "categories": "fresh"},
    )  # fmt: skip
    cash = CouponTemplate(code="L-CASH", name="满50减10", per_member_limit=COUPONS_PER_MEMBER)
    save_coupon_template(
        template=cash, terms={"face_value": Decimal("10"), "threshold": Decimal("50")}
    )
    members = Member.objects.filter(phone__in=phones)
    for n in range(COUPONS_PER_MEMBER):
        for template in (fresh, cash):
            issue_coupons(
                template=template, members=members, occasion=f"load:{n}", source="command"
            )
    by_member = {}
    rows = Coupon.objects.values_list("owner__phone", "template__code", "code").order_by("pk")
    for phone, template, code in rows:
        by_member.setdefault((phone, template), []).append(code)
    pairs = [
        (phone, [fresh_code, cash_code])
        for phone in phones
        for fresh_code, cash_code in zip(
            by_member[(phone, "L-FRESH")], by_member[(phone, "L-CASH")], strict=True
        )
    ]
    random.shuffle(pairs)
    return pairs


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port, workers, threads):
    env = dict(
        os.environ,
        GUNICORN_BIND=f"127.0.0.1:{port}",
        GUNICORN_WORKERS=str(workers),
        GUNICORN_THREADS=str(threads),
        GUNICORN_WORKER_CLASS="gthread" if threads > 1 else "sync",
        GUNICORN_ACCESSLOG=os.environ.get("GUNICORN_ACCESSLOG", "/dev/null"),
        GUNICORN_MAX_REQUESTS="0",
        TILL_API_THROTTLE_RATE="1000000/min",
        CONN_MAX_AGE="600",
        DEBUG="off",
        SECRET_KEY="benchmark-only-secret-key-benchmark-only-secret-key",
        SECURE_SSL_REDIRECT="off",
        LOG_LEVEL="WARNING",
    )
    server = subprocess.Popen(
        [
            str(ROOT / ".venv/bin/gunicorn"),
            "-c",
            str(ROOT / "config/gunicorn.conf.py"),
            "config.wsgi",
        ],
        cwd=ROOT,
        env=env,
    )
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return server
        except OSError:
            time.sleep(0.2)
    server.kill()
    sys.exit("gunicorn did not start")


class Till:
    """One till with its own API key. A new connection per request (gunicorn's sync workers
    close it after each answer anyway) and raw HTTP/1.1 over a socket: http.client's header
    parsing cost the 2-core machine more CPU than some of the calls it measured."""

    def __init__(self, port, key):
        self.port = port
        self.head = f"Host: 127.0.0.1:{port}\r\nAuthorization: Api-Key {key}\r\n"

    def call(self, method, path, body=None, headers=None):
        data = json.dumps(body).encode() if body is not None else b""
        head = f"{method} {path} HTTP/1.1\r\n{self.head}Connection: close\r\n"
        if body is not None:
            head += f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n"
        head += "".join(f"{name}: {value}\r\n" for name, value in (headers or {}).items())
        with socket.create_connection(("127.0.0.1", self.port), timeout=30) as sock:
            sock.sendall(head.encode() + b"\r\n" + data)
            chunks = []
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        response = b"".join(chunks)
        status_line, _, rest = response.partition(b"\r\n")
        return int(status_line.split()[1]), rest.partition(b"\r\n\r\n")[2]


def ping(till, n, i, phones, run):
    return till.call("GET", "/api/v1/ping")


def lookup(till, n, i, phones, run):
    return till.call("GET", f"/api/v1/members/lookup?phone={random.choice(phones)}")


def checkout(till, n, i, phones, run):
    body = {
        "receipt_no": f"{run}-{n:02d}-{i:07d}",
        "member": {"phone": random.choice(phones)},
        "lines": [
            {
                "sku": "6901234567890",
                "name": "矿泉水",
                "category": "drinks",
                "qty": "2",
                "amount": "6.00",
            },
            {
                "sku": "6909876543210",
                "name": "面包",
                "category": "bakery",
                "qty": "1",
                "amount": "94.00",
            },
        ],
        "total": "100.00",
        "redeem_points": 100 if i % 2 else 0,
    }
    return till.call("POST", "/api/v1/sales", body, {"Idempotency-Key": uuid.uuid4().hex})


def checkout_with_coupons(till, n, i, phones, run):
    try:
        phone, codes = coupon_queue.pop()
    except IndexError:
        return 0, b"no coupons left"
    body = {
        "receipt_no": f"{run}-C{n:02d}-{i:07d}",
        "member": {"phone": phone},
        "lines": [
            {"sku": "6901234567890", "name": "矿泉水", "category": "drinks", "qty": "2",
             "amount": "6.00"},
            {"sku": "6909876543210", "name": "三文鱼", "category": "fresh", "qty": "1",
             "amount": "94.00"},
        ],
        "total": "100.00",
        "redeem_points": 100 if i % 2 else 0,
        "coupon_codes": codes,
    }  # fmt: skip
    return till.call("POST", "/api/v1/sales", body, {"Idempotency-Key": uuid.uuid4().hex})


def phase(name, work, tills, seconds, phones, run, expect, until=None):
    latencies = [[] for _ in tills]
    errors = [0] * len(tills)
    start_gate = threading.Barrier(len(tills) + 1)
    stop_at = [0.0]

    def loop(n, till):
        start_gate.wait()
        i = 0
        while until() if until else time.perf_counter() < stop_at[0]:
            t0 = time.perf_counter()
            status, payload = work(till, n, i, phones, run)
            latencies[n].append(time.perf_counter() - t0)
            if status != expect:
                errors[n] += 1
                if errors[n] == 1:
                    print(f"  {name}: unexpected {status}: {payload[:200]!r}", file=sys.stderr)
            i += 1

    threads = [threading.Thread(target=loop, args=(n, t)) for n, t in enumerate(tills)]
    for thread in threads:
        thread.start()
    stop_at[0] = time.perf_counter() + seconds
    began = time.perf_counter()
    start_gate.wait()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    flat = sorted(x for per in latencies for x in per)
    count = len(flat)
    return {
        "phase": name,
        "requests": count,
        "per_second": count / elapsed,
        "p50_ms": statistics.median(flat) * 1000,
        "p99_ms": flat[min(count - 1, int(count * 0.99))] * 1000,
        "errors": sum(errors),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=1, help="threads per worker (gthread)")
    parser.add_argument("--expiry-lots", type=int, default=0, help="due lots to expire under load")
    parser.add_argument("--lots-per-member", type=int, default=50)
    args = parser.parse_args()

    os.environ.update(fresh_database(os.environ.get("DATABASE_URL", ""), "_load"))
    keys, phones, run = seed()
    port = free_port()
    server = start_server(port, args.workers, args.threads)
    try:
        tills = [Till(port, key) for key in keys]
        phase("warm-up", ping, tills, 2, phones, run, 200)
        phase("warm-up", lookup, tills, 2, phones, run, 200)
        results = [
            phase("ping", ping, tills, args.seconds, phones, run, 200),
            phase("lookup", lookup, tills, args.seconds, phones, run, 200),
            phase("checkout", checkout, tills, args.seconds, phones, run, 201),
            phase("coupons", checkout_with_coupons, tills, args.seconds, phones, run, 201),
        ]
        if args.expiry_lots:
            results.append(checkout_during_expiry(args, tills, phones, run))
    finally:
        server.terminate()
        server.wait(timeout=30)

    print(
        f"\n{TILLS} tills, gunicorn {args.workers} workers x {args.threads} threads, "
        f"{os.cpu_count()} CPUs, {args.seconds:.0f} s per phase"
    )
    print(f"{'phase':<10}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'errors':>8}")
    for r in results:
        print(
            f"{r['phase']:<10}{r['per_second']:>10.1f}{r['p50_ms']:>10.1f}"
            f"{r['p99_ms']:>10.1f}{r['errors']:>8}"
        )
    by = {r["phase"]: r for r in results}
    print(
        f"checkout = {by['checkout']['per_second'] / by['ping']['per_second']:.0%} of the ping "
        f"baseline, lookup = {by['lookup']['per_second'] / by['ping']['per_second']:.0%}, "
        f"checkout with two coupons = {by['coupons']['per_second'] / by['ping']['per_second']:.0%}"
        f" ({by['coupons']['per_second'] / by['checkout']['per_second']:.0%} of the plain "
        "checkout's rate)"
    )
    ok = by["checkout"]["per_second"] >= 200 and by["checkout"]["p99_ms"] < 150
    print(f"target (>= 200 checkouts/s, p99 < 150 ms): {'met' if ok else 'NOT met'}")
    if "checkout+expiry" in by:
        during = by["checkout+expiry"]
        print(
            f"checkout p99 quiet {by['checkout']['p99_ms']:.1f} ms, during the expiry "
            f"{during['p99_ms']:.1f} ms ({during['p99_ms'] / by['checkout']['p99_ms']:.1f}x); "
            f"{during['expired']} in {during['expiry_seconds']:.1f} s under load"
        )


def checkout_during_expiry(args, tills, phones, run):
    """Generate the due lots, then check out for as long as `expire_points` runs."""
    from django.db import connection
    from lots import generate_due_lots

    from members.models import Member
    from stores.models import Store

    store = Store.objects.get(code="SH001")
    count = max(args.expiry_lots // args.lots_per_member, 1)
    Member.objects.bulk_create(
        [
            Member(member_no=f"EXP{i:07d}", phone=f"186{i:08d}", home_store=store)
            for i in range(count)
        ],
        batch_size=5000,
    )
    started = time.perf_counter()
    lots = generate_due_lots(
        Member.objects.filter(member_no__startswith="EXP"), args.lots_per_member
    )
    print(f"generated {lots:,} due lots in {time.perf_counter() - started:.1f} s")
    connection.close()
    expiry = subprocess.Popen(
        # As of today: the generated lots are due, the tills' own lots (end of next year) not.
        [sys.executable, "manage.py", "expire_points"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    began = time.perf_counter()
    result = phase(
        "checkout+expiry",
        checkout,
        tills,
        0,
        phones,
        run + "x",
        201,
        until=lambda: expiry.poll() is None,
    )
    result["expiry_seconds"] = time.perf_counter() - began
    result["expired"] = (expiry.stdout.read() or "").strip()
    return result


if __name__ == "__main__":
    main()
