import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.models import Source
from members.admin.common import EstimatedCountPaginator
from members.models import Member
from members.services import open_member


@pytest.mark.django_db
def test_it_counts_big_lists_from_the_planner_estimate_not_count_star(chain):
    for i in range(30):
        open_member(phone=f"1380000{i:04d}", home_store=chain["SH001"], source=Source.ADMIN)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE members_member")

    class Paginator(EstimatedCountPaginator):
        threshold = 5  # "big" for the test

    with CaptureQueriesContext(connection) as queries:
        count = Paginator(Member.objects.order_by("pk"), 10).count
    assert count > 5
    assert [q["sql"].startswith("EXPLAIN") for q in queries.captured_queries] == [True]


@pytest.mark.django_db
def test_it_counts_small_lists_exactly(chain):
    for i in range(3):
        open_member(phone=f"1380000{i:04d}", home_store=chain["SH001"], source=Source.ADMIN)
    assert EstimatedCountPaginator(Member.objects.order_by("pk"), 10).count == 3
