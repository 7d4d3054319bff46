"""Excel export of members, and the django-import-export resource.

Exports write with openpyxl's write-only mode, streaming the queryset in chunks, so an export
of a whole chain never holds every member in memory. The headers are the import template's,
so an export can be edited and imported back.
"""

from import_export import fields, resources

from core import excel
from members.importing.members import TEMPLATE_HEADERS
from members.models import Card, Member, mask_phone


def export_members_xlsx(queryset, target, *, full_phone=False):
    """Write `queryset` as .xlsx to `target` (a path or a file-like object, e.g. a response).

    Phone numbers (and referrer phones) are masked unless `full_phone`.
    """
    workbook = excel.Book()
    sheet = workbook.sheet("会员")
    sheet.header(TEMPLATE_HEADERS)
    rows = (
        queryset.order_by("pk")
        .select_related("home_store", "tier", "points_account", "wallet", "referrer")
        .only(
            "phone", "name", "gender", "birthday", "email", "address", "notes",
            "tier__name", "home_store__code", "referrer__phone",
            "points_account__balance", "wallet__principal", "wallet__bonus",
        )
    )  # fmt: skip
    show = (lambda phone: phone) if full_phone else mask_phone
    gender = {"M": "男", "F": "女", "U": ""}  # what the import reads back
    last_pk = 0  # keyset pagination: each chunk is one indexed range query
    while True:
        chunk = list(rows.filter(pk__gt=last_pk)[:2000])
        if not chunk:
            break
        last_pk = chunk[-1].pk
        cards = dict(
            Card.objects.filter(
                member_id__in=[m.pk for m in chunk], status=Card.Status.ACTIVE
            ).values_list("member_id", "card_no")
        )
        for member in chunk:
            account = getattr(member, "points_account", None)
            wallet = getattr(member, "wallet", None)
            sheet.row(
                [
                    excel.text(show(member.phone)),
                    member.name,
                    gender.get(member.gender, ""),
                    member.birthday,
                    member.email,
                    member.address,
                    member.tier.name if member.tier else "",
                    excel.count(account.balance if account else 0),
                    excel.money(wallet.balance if wallet else 0),
                    excel.text(member.home_store.code),
                    excel.text(show(member.referrer.phone)) if member.referrer else "",
                    excel.text(cards.get(member.pk, "")),
                    member.notes,
                ]
            )
    workbook.save(target)


class NaiveMemberResource(resources.ModelResource):
    """django-import-export's defaults, row by row: the baseline the benchmark measures.

    It writes members only (no accounts or ledgers); the fast path does more work and is still
    compared against it.
    """

    phone = fields.Field(attribute="phone", column_name="手机号")
    name = fields.Field(attribute="name", column_name="姓名")

    class Meta:
        model = Member
        fields = ("phone", "name", "member_no", "home_store")
        import_id_fields = ("phone",)
