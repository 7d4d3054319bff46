"""The coupon operations of the member bulk jobs (members.bulk): issue a coupon to every member
of a filter of the member list, and to the members listed in an Excel file of phones. Both
issue set-based through `issue_coupons`, once per (template, member, occasion): the occasion
names the form that started the job, so a resumed job or a second submission of the same form
issues nothing twice. Members left without one (the template's total reached, or the member
already holds as many as one may) are the job's refused rows."""

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.errors import DomainError
from core.models import Source
from members.bulk import columns_of, register
from members.importing.normalize import RowError, normalize_phone, normalize_text
from members.models import Member

from .models import Coupon, CouponTemplate
from .services import issue_coupons

# The file's columns (row 1), by what head office types.
FILE_COLUMNS = {"手机号": "phone", "会员号": "member_no", "会员编号": "member_no",
                "phone": "phone", "member_no": "member_no"}  # fmt: skip


def _issue_to(template, member_ids, occasion, actor):
    """Issue to `member_ids`; returns (the ids that hold this occasion's coupon, why the
    others do not)."""
    issue_coupons(
        template=template, members=member_ids, occasion=occasion, source=Source.ADMIN,
        actor=actor,
    )  # fmt: skip
    keys = [f"{template.pk}:{m}:{occasion}" for m in member_ids]
    holding = set(Coupon.objects.filter(issue_key__in=keys).values_list("owner_id", flat=True))
    template.refresh_from_db(fields=["issued"])
    why = (
        _("None of this coupon is left.")
        if template.left == 0
        else _("The member holds as many of this coupon as one may.")
    )
    return holding, why


def _template(params):
    return CouponTemplate.objects.get(pk=params["template"])


def _issue_to_filter(*, members, params, actor, job):
    """One chunk of members of the list's filter."""
    rows = list(members.order_by("pk").values_list("pk", "member_no", "name"))
    try:
        holding, why = _issue_to(_template(params), [pk for pk, *_x in rows], params["occasion"],
                                 actor)  # fmt: skip
    except DomainError as exc:  # the template ended or was switched off meanwhile
        return 0, [(0, exc.message, [number, name]) for _pk, number, name in rows]
    problems = [(0, why, [number, name]) for pk, number, name in rows if pk not in holding]
    return len(rows) - len(problems), problems


def _issue_to_file(*, rows, params, actor, job):
    """One chunk of a file of phones (or member numbers): each row's member gets one coupon;
    a row that names no member, or one already named above, is reported with its row number,
    as the member import reports its rows."""
    header = params.get("header", [])
    columns, width = columns_of(header, FILE_COLUMNS), len(header)
    seen = job.__dict__.setdefault("_coupon_rows", {})
    problems, wanted = [], []
    for row_no, values in rows:
        shown = list(values)[:width]

        def cell(key, values=values):
            index = columns.get(key)
            return values[index] if index is not None and index < len(values) else None

        who, error = None, None
        if not columns:
            error = _("The file has no %(column)s column in row 1.") % {"column": "手机号"}
        elif cell("phone") not in (None, ""):
            try:
                who = ("phone", normalize_phone(cell("phone")))
            except RowError as exc:
                error = str(exc.message)
        elif cell("member_no") not in (None, ""):
            who = ("member_no", normalize_text(cell("member_no"), 20))
        else:
            error = _("A phone or member no is required.")
        if who is not None and who in seen:
            error = _("The same member is already in row %(row)d.") % {"row": seen[who]}
        if error:
            problems.append((row_no, error, shown))
            continue
        seen[who] = row_no
        wanted.append((row_no, who, shown))
    phones = [who[1] for _r, who, _s in wanted if who[0] == "phone"]
    numbers = [who[1] for _r, who, _s in wanted if who[0] == "member_no"]
    found = {("phone", p): pk for pk, p in Member.objects.filter(phone__in=phones)
             .values_list("pk", "phone")}  # fmt: skip
    found |= {("member_no", n): pk for pk, n in Member.objects.filter(member_no__in=numbers)
              .values_list("pk", "member_no")}  # fmt: skip
    named = []
    for row_no, who, shown in wanted:
        if who not in found:
            problems.append((row_no, _("Not a member: %(who)s") % {"who": who[1]}, shown))
        else:
            named.append((row_no, found[who], shown))
    if not named:
        return 0, problems
    try:
        holding, why = _issue_to(_template(params), [pk for _r, pk, _s in named],
                                 params["occasion"], actor)  # fmt: skip
    except DomainError as exc:
        return 0, problems + [(row_no, exc.message, shown) for row_no, _pk, shown in named]
    refused = [(row_no, why, shown) for row_no, pk, shown in named if pk not in holding]
    return len(named) - len(refused), problems + refused


def register_bulk_operations():
    register("issue_coupons", gettext_lazy("Issue coupons"), _issue_to_filter)
    register(
        "issue_coupons_file",
        gettext_lazy("Issue coupons to a list of phones"),
        _issue_to_file,
        reads_file=True,
    )
