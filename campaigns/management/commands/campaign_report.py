import json

from django.core.management.base import BaseCommand, CommandError
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from campaigns.exceptions import NotMeasurable
from campaigns.models import Campaign
from campaigns.report import campaign_report


class Command(BaseCommand):
    """What a campaign earned: the gross figures (用券率, 拉动消费, 券撬动率) and the comparison
    with its control group (lift with its 95% interval, p-value, sample-ratio check).

    With --json, one JSON object on stdout and nothing else: issued, used, usage_rate,
    driven_members, driven_sales_per_member, driven_sales, coupon_value_used, leverage, arms
    (treatment and control: members, buyers, conversion, sales, sales_per_member,
    visits_per_member), incremental_buyers, incremental_sales, incremental_leverage, lift,
    lift_ci, p_value, srm_p_value, srm_warning, cuped, variance_explained, control_offers, and
    the campaign itself. Fails (exit code 1) for an unknown or not yet launched campaign.
    """

    help = "Report a campaign's effect against its control group (--json for machines)."

    def add_arguments(self, parser):
        parser.add_argument("code", help="campaign code, e.g. DEMO-WINBACK")
        parser.add_argument(
            "--json", action="store_true", dest="as_json", help="print one JSON object"
        )
        parser.add_argument("--as-of", help="measure up to this moment (ISO 8601); default now")
        parser.add_argument(
            "--series", action="store_true", help="add cumulative sales per member by day"
        )

    def handle(self, *args, code, as_json=False, as_of=None, series=False, **options):
        campaign = Campaign.objects.select_related("segment").filter(code=code.strip()).first()
        if campaign is None:
            raise CommandError(_("No campaign %(code)s.") % {"code": code})
        moment = None
        if as_of:
            moment = parse_datetime(as_of)
            if moment is None or moment.tzinfo is None:
                raise CommandError(_("--as-of takes a moment with its time zone, e.g. "
                                     "2026-07-01T00:00:00+08:00."))  # fmt: skip
        try:
            report = campaign_report(campaign, as_of=moment, series=series)
        except NotMeasurable as exc:
            raise CommandError(str(exc.message)) from exc
        if as_json:
            self.stdout.write(_dumps(report))
            return
        self.stdout.write(_text(report))


def _dumps(report):
    return json.dumps(report, ensure_ascii=False, indent=2)


def _pct(value):
    return "-" if value is None else f"{value * 100:.1f}%"


def _num(value):
    return "-" if value is None else f"{value:,.2f}"


def _text(report):
    t, c = report["arms"]["treatment"], report["arms"]["control"]
    lines = [
        f"{report['campaign']['code']} {report['campaign']['name']} ({report['as_of']})",
        _("Issued %(issued)s, used %(used)s, usage rate %(rate)s")
        % {"issued": report["issued"], "used": report["used"], "rate": _pct(report["usage_rate"])},
        _("Driven members %(members)s, driven sales %(sales)s, leverage %(leverage)s")
        % {
            "members": report["driven_members"],
            "sales": _num(report["driven_sales"]),
            "leverage": _num(report["leverage"]),
        },
    ]
    for label, arm in ((_("Treatment"), t), (_("Control"), c)):
        lines.append(
            _("%(arm)s: %(members)s members, conversion %(conversion)s, %(spm)s per member")
            % {
                "arm": label,
                "members": arm["members"],
                "conversion": _pct(arm["conversion"]),
                "spm": _num(arm["sales_per_member"]),
            }
        )
    ci = report["lift_ci"]
    lines.append(
        _("Lift %(lift)s (95%% CI %(low)s to %(high)s), p = %(p)s, sample ratio p = %(srm)s")
        % {
            "lift": _pct(report["lift"]),
            "low": _pct(ci[0]) if ci else "-",
            "high": _pct(ci[1]) if ci else "-",
            "p": report["p_value"],
            "srm": report["srm_p_value"],
        }
    )
    if report["srm_warning"]:
        lines.append(_("WARNING: the arms' sizes do not match the control share."))
    return "\n".join(lines)
