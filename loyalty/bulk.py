"""The points operations of the member bulk jobs (members.bulk): adjust the points of a filter
of the member list, and award points to the members listed in an Excel file (the participants
of a promotion, each with points and a reason). Both call `adjust_points` for each member, so a
large award waits for approval exactly as one typed in by hand does."""

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.errors import DomainError
from core.models import Source
from members.bulk import columns_of, register
from members.importing.normalize import RowError, normalize_phone, normalize_points, normalize_text
from members.models import Member

from .models import PointsAdjustment
from .services import adjust_points

# The award file's columns (row 1), by what head office types.
AWARD_COLUMNS = {
    "手机号": "phone",
    "会员号": "member_no",
    "会员编号": "member_no",
    "积分": "points",
    "原因": "reason",
    "phone": "phone",
    "member_no": "member_no",
    "points": "points",
    "reason": "reason",
}


def _adjust(*, members, params, actor, job):
    done, problems = 0, []
    for member in members.order_by("pk"):
        try:
            adjust_points(
                member=member,
                points=int(params["points"]),
                reason_category=params["reason_category"],
                reason=params["reason"],
                source=Source.TASK,
                actor=actor,
            )
        except DomainError as exc:
            problems.append((0, exc.message, [member.member_no, member.name]))
        else:
            done += 1
    return done, problems


def _award(*, rows, params, actor, job):
    """One chunk of an award file: each row names a member (phone or member no), the points
    (a positive whole number) and the reason; a row that cannot be awarded is reported with
    its row number, as the member import reports its rows."""
    columns = columns_of(params.get("header", []), AWARD_COLUMNS)
    seen = job.__dict__.setdefault("_awarded_rows", {})
    problems, wanted = [], []
    width = len(params.get("header", []))

    def cell(values, key):
        index = columns.get(key)
        return values[index] if index is not None and index < len(values) else None

    for row_no, values in rows:
        shown = [v for v in list(values)[:width]]
        errors, who = [], None
        if "phone" not in columns and "member_no" not in columns:
            errors.append(_("The file has no %(column)s column in row 1.") % {"column": "手机号"})
        elif cell(values, "phone") not in (None, ""):
            try:
                who = ("phone", normalize_phone(cell(values, "phone")))
            except RowError as exc:
                errors.append(str(exc.message))
        elif cell(values, "member_no") not in (None, ""):
            who = ("member_no", normalize_text(cell(values, "member_no"), 20))
        else:
            errors.append(_("A phone or member no is required."))
        try:
            points = normalize_points(cell(values, "points"))
            if not points:
                errors.append(_("Points must be a positive whole number."))
        except RowError as exc:
            errors.append(str(exc.message))
            points = 0
        try:
            reason = normalize_text(cell(values, "reason"), 200)
        except RowError as exc:
            errors.append(str(exc.message))
            reason = ""
        if not reason and not any("reason" in e for e in errors):
            errors.append(_("A reason is required."))
        if who is not None and who in seen and not errors:
            errors.append(_("The same member is already in row %(row)d.") % {"row": seen[who]})
        if errors:
            problems.append((row_no, "；".join(errors), shown))
            continue
        seen[who] = row_no
        wanted.append((row_no, who, points, reason, shown))

    phones = [who[1] for _r, who, *_x in wanted if who[0] == "phone"]
    numbers = [who[1] for _r, who, *_x in wanted if who[0] == "member_no"]
    found = {("phone", m.phone): m for m in Member.objects.filter(phone__in=phones)}
    found |= {("member_no", m.member_no): m for m in Member.objects.filter(member_no__in=numbers)}
    done = 0
    for row_no, who, points, reason, shown in wanted:
        member = found.get(who)
        if member is None:
            problems.append((row_no, _("Not a member: %(who)s") % {"who": who[1]}, shown))
            continue
        try:
            adjust_points(
                member=member,
                points=points,
                reason_category=PointsAdjustment.ReasonCategory.CAMPAIGN,
                reason=reason,
                source=Source.IMPORT,
                actor=actor,
            )
        except DomainError as exc:
            problems.append((row_no, exc.message, shown))
        else:
            done += 1
    return done, problems


def register_bulk_operations():
    register("adjust_points", gettext_lazy("Adjust points"), _adjust)
    register("award_points", gettext_lazy("Award points from a file"), _award, reads_file=True)
