"""The import's 营销授权 column: each member's marketing consent, recorded as given through the
import, in the chunk's transaction; a bad cell rejects its row; an unsubscribe is never
overturned by an import."""

import pytest

from core.models import Source
from members.models import Consent, ConsentDoor, ConsentRecord, Member
from members.services import open_member, withdraw_consent
from tests.members.test_import_members import run, store, tiers  # noqa: F401

pytestmark = pytest.mark.django_db


def test_it_records_each_rows_consent(tmp_path, chain, tiers):  # noqa: F811
    from tests.members.xlsx import member_row

    rows = [
        member_row("13800000001", **store(营销授权="是")),
        member_row("13800000002", **store(营销授权="短信，微信")),
        member_row("13800000003", **store(营销授权="否")),
        member_row("13800000004", **store()),
        member_row("13800000005", **store(营销授权="微信")),
    ]

    result = run(tmp_path, rows)

    assert result.imported == 5, result.problems
    granted = set(Consent.objects.filter(granted=True).values_list("member__phone", "channel"))
    assert granted == {("13800000001", "sms"), ("13800000002", "sms"),
                       ("13800000002", "wechat"), ("13800000005", "wechat")}  # fmt: skip
    assert set(ConsentRecord.objects.values_list("door", flat=True)) == {ConsentDoor.IMPORT}
    assert all(r.text and r.text_version for r in ConsentRecord.objects.all())


@pytest.mark.parametrize("cell", ["也许", "短信,邮件", "2"])
def test_a_bad_consent_cell_rejects_its_row(tmp_path, chain, tiers, cell):  # noqa: F811
    from tests.members.xlsx import member_row

    result = run(tmp_path, [member_row("13800000001", **store(营销授权=cell)),
                            member_row("13800000002", **store(营销授权="是"))])  # fmt: skip

    assert result.imported == 1 and result.rejected == 1
    assert not Member.objects.filter(phone="13800000001").exists()


def test_an_update_import_never_overturns_an_unsubscribe(tmp_path, chain, tiers):  # noqa: F811
    from tests.members.xlsx import member_row

    member = open_member(phone="13800000001", home_store=chain["SH001"], source=Source.TILL,
                         marketing_consent={"sms": True})  # fmt: skip
    withdraw_consent(member=member, channel="sms", door=ConsentDoor.SMS_REPLY, source=Source.TASK)

    run(tmp_path, [member_row("13800000001", **store(营销授权="是"))], update_existing=True)

    assert not Consent.objects.get(member=member).granted
