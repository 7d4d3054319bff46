"""Reports read from the replica alias, everything else (and every write) from default."""

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext

from core.models import Source
from core.routers import reading_for_reports, reports_database
from members.models import Member, Tag
from members.services import open_member


@pytest.mark.django_db(transaction=True, databases=["default", "replica"])
def test_report_reads_go_to_the_replica_and_writes_stay_on_default():
    from tests import factories

    store = factories.make_chain()["SH001"]
    open_member(phone="13800000001", home_store=store, source=Source.ADMIN)

    with (
        CaptureQueriesContext(connections["replica"]) as replica,
        CaptureQueriesContext(connections["default"]) as default,
    ):
        with reading_for_reports() as alias:
            assert alias == "replica"
            assert Member.objects.count() == 1  # the mirror sees what default committed
            Tag.objects.create(name="报表")  # a write inside the block: still default
        assert Member.objects.filter(phone="13800000001").exists()  # outside: default

    assert any("members_member" in q["sql"] for q in replica.captured_queries)
    assert not any("INSERT" in q["sql"] for q in replica.captured_queries)
    assert any("INSERT" in q["sql"] and "members_tag" in q["sql"] for q in default.captured_queries)
    assert sum("members_member" in q["sql"] for q in default.captured_queries) == 1


def test_without_a_replica_reports_read_from_default(monkeypatch):
    from django.conf import settings

    monkeypatch.delitem(settings.DATABASES, "replica")
    assert reports_database() == "default"
    with reading_for_reports() as alias:
        assert alias == "default"
