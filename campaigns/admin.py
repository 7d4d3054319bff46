"""Admin for campaigns (营销活动): segments with a condition editor that shows the live count and a
sample, their Excel export; campaigns with the launch page (audience, arms, the smallest lift
the campaign can detect), the effectiveness report (ECharts, Excel); the chain-wide holdout;
the statistics refreshes; and a statistics panel on the member page.

Thin: every change ends in a service; a DomainError becomes a message or a form error. Store
managers see segments and reports, counted over the members of their own stores only.
"""

import json

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.admin import ReadOnlyAdmin
from core.errors import DomainError
from core.models import Source
from core.templatetags.formatting import money
from coupons.models import CouponTemplate
from members.admin import MemberAdmin
from members.admin.common import apply_domain_error
from members.admin.members import can_see_full_phone
from members.models import mask_phone
from messaging.models import Channel, Exclusion
from stores.access import allowed_store_ids

from . import exports, lift, segments
from .messages import launch_preview
from .models import (
    Campaign,
    CampaignMember,
    CampaignRun,
    HoldoutDraw,
    MemberStats,
    Segment,
    StatsRun,
)
from .report import campaign_report
from .segments import InvalidSegment
from .services import (
    draw_holdout,
    finish_campaign,
    launch_campaign,
    plan_campaign,
    save_campaign,
    save_segment,
)

ECHARTS = "vendor/echarts/6.1.0/echarts.min.js"
MDE_SHARES = (5, 10, 20, 30, 50)


def _store_ids(request):
    """None for head office (every store), else the user's stores."""
    return allowed_store_ids(request.user)


# --- segments -------------------------------------------------------------------------------


class SegmentForm(forms.ModelForm):
    # Edited by the condition editor (campaigns/static/campaigns/segment_editor.js), which keeps
    # the JSON here; checked by the same function the service uses.
    definition = forms.CharField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = Segment
        fields = ["name", "description", "definition"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial["definition"] = json.dumps(
                self.instance.definition or {"all": []}, ensure_ascii=False
            )

    def clean_definition(self):
        try:
            return segments.clean_definition(self.cleaned_data.get("definition") or "{}")
        except InvalidSegment as exc:
            raise forms.ValidationError(exc.fields.get("definition") or exc.message) from exc


@admin.register(Segment)
class SegmentAdmin(admin.ModelAdmin):
    form = SegmentForm
    list_display = ["name", "described", "description", "updated_at", "export_link"]
    search_fields = ["name"]
    readonly_fields = ["described", "definition_hash", "updated_at"]
    change_form_template = "admin/campaigns/segment/change_form.html"

    def get_fields(self, request, obj=None):
        if obj is not None and not self.has_change_permission(request, obj):
            return ["name", "description", "described", "definition_hash", "updated_at"]
        return ["name", "description", "definition", "definition_hash", "updated_at"]

    @admin.display(description=_("conditions"))
    def described(self, segment):
        return segments.describe(segment.definition)

    @admin.display(description=_("Excel"))
    def export_link(self, segment):
        url = reverse("admin:campaigns_segment_export", args=[segment.pk])
        return format_html('<a href="{}">{}</a>', url, gettext("Export members"))

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.campaigns.exists():
            return False  # campaigns name it
        return super().has_delete_permission(request, obj)

    def save_model(self, request, obj, form, change):
        save_segment(segment=obj, definition=form.cleaned_data["definition"], actor=request.user)

    def get_urls(self):
        return [
            path(
                "preview/",
                self.admin_site.admin_view(self.preview_view),
                name="campaigns_segment_preview",
            ),
            path(
                "<int:pk>/export/",
                self.admin_site.admin_view(self.export_view),
                name="campaigns_segment_export",
            ),
            *super().get_urls(),
        ]

    def render_change_form(self, request, context, *args, **kwargs):
        obj = kwargs.get("obj")
        context["definition"] = (obj.definition if obj is not None else None) or {"all": []}
        context["catalog"] = segments.catalog()
        context["preview_url"] = reverse("admin:campaigns_segment_preview")
        context["editor_labels"] = {
            "and": gettext("AND: all of these"),
            "or": gettext("OR: any of these"),
            "not": gettext("NOT"),
            "addCondition": gettext("+ condition"),
            "addGroup": gettext("+ group"),
            "remove": gettext("Remove"),
            "between": gettext("between"),
            "in": gettext("is one of"),
            "field": gettext("field"),
            "compare": gettext("comparison"),
            "join": gettext("join"),
            "empty": gettext("No conditions: every active member."),
            "failed": gettext("The count could not be fetched; try again."),
        }
        return super().render_change_form(request, context, *args, **kwargs)

    def preview_view(self, request):
        """POST {definition}: the live count and a sample of the members it matches now (only
        the user's stores' members), or the problems with the definition. Never a 500 for a bad
        definition: the editor shows what is wrong."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        if request.method != "POST":
            return JsonResponse({"errors": [gettext("Send the definition by POST.")]}, status=405)
        try:
            definition = json.loads(request.POST.get("definition") or "{}")
        except json.JSONDecodeError:
            return JsonResponse({"errors": [gettext("The definition is not valid JSON.")]})
        stores = _store_ids(request)
        try:
            count = segments.count_members(definition, store_ids=stores)
            sample = segments.sample_members(definition, store_ids=stores)
        except InvalidSegment as exc:
            return JsonResponse({"errors": exc.fields.get("definition") or [exc.message]})
        full = can_see_full_phone(request.user)
        return JsonResponse(
            {
                "count": count,
                "described": segments.describe(definition),
                "sample": [_sample_row(m, full) for m in sample],
                "errors": [],
            }
        )

    def export_view(self, request, pk):
        """The segment's members now (the user's stores' only), with statistics, to Excel."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        segment = get_object_or_404(Segment, pk=pk)
        queryset = segments.member_queryset(segment.definition, store_ids=_store_ids(request))
        return exports.segment_response(
            segment, queryset, full_phone=can_see_full_phone(request.user)
        )


def _sample_row(member, full_phone):
    stats = getattr(member, "stats", None)
    last = member.last_visit_at
    return {
        "member_no": member.member_no,
        "name": member.name,
        "phone": member.phone if full_phone else mask_phone(member.phone),
        "store": member.home_store.code,
        "tier": member.tier.name if member.tier else "",
        "last_visit": timezone.localtime(last).strftime("%Y-%m-%d") if last else "",
        "visits_90": stats.visits_90 if stats else 0,
        "spend_365": money(stats.spend_365) if stats else "0.00",
        "cell": stats.get_rfm_cell_display() if stats and stats.rfm_cell else "",
        "stage": stats.get_lapse_stage_display() if stats else "",
    }


# --- campaigns ------------------------------------------------------------------------------


class CampaignForm(forms.ModelForm):
    class Meta:
        model = Campaign
        fields = [
            "code",
            "name",
            "segment",
            "offer",
            "coupon_template",
            "multiplier",
            "offer_starts_on",
            "offer_ends_on",
            "offer_days",
            "control_percent",
            "respect_holdout",
            "schedule",
            "cooldown_days",
            "ends_on",
            "measure_days",
            "notes",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "coupon_template" in self.fields:
            self.fields["coupon_template"].queryset = CouponTemplate.objects.filter(
                is_active=True, current_version__isnull=False
            )


class RunInline(admin.TabularInline):
    model = CampaignRun
    extra = 0
    can_delete = False
    fields = ["day", "entered", "treatment", "control", "held_out", "offers_issued",
              "offers_refused", "finished_at"]  # fmt: skip
    readonly_fields = fields
    ordering = ["-day"]
    max_num = 0

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    form = CampaignForm
    list_display = [
        "code",
        "name",
        "segment",
        "offer",
        "schedule",
        "status",
        "audience_shown",
        "launched_at",
        "links",
    ]
    list_filter = ["status", "offer", "schedule"]
    search_fields = ["=code", "name"]
    list_select_related = ["segment"]
    inlines = [RunInline]
    change_form_template = "admin/campaigns/campaign/change_form.html"
    frozen = [
        "status",
        "frozen_hash",
        "audience",
        "treatment",
        "control",
        "held_out",
        "offers_issued",
        "offers_refused",
        "earning_rule",
        "launched_at",
        "launched_by",
        "finished_at",
    ]

    @admin.display(description=_("audience (treatment / control)"))
    def audience_shown(self, campaign):
        if campaign.status == Campaign.Status.DRAFT:
            return "-"
        return f"{campaign.audience:,} ({campaign.treatment:,} / {campaign.control:,})"

    @admin.display(description=_("open"))
    def links(self, campaign):
        if campaign.status == Campaign.Status.DRAFT:
            url = reverse("admin:campaigns_campaign_launch", args=[campaign.pk])
            return format_html('<a href="{}">{}</a>', url, gettext("Launch…"))
        url = reverse("admin:campaigns_campaign_report", args=[campaign.pk])
        return format_html('<a href="{}">{}</a>', url, gettext("Report"))

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.status != Campaign.Status.DRAFT:
            return [*CampaignForm.Meta.fields, *self.frozen]
        return self.frozen

    def get_fieldsets(self, request, obj=None):
        fieldsets = [
            (None, {"fields": ["code", "name", "segment", "notes"]}),
            (
                _("Offer"),
                {
                    "fields": [
                        "offer",
                        "coupon_template",
                        "multiplier",
                        ("offer_starts_on", "offer_ends_on"),
                        "offer_days",
                    ]
                },
            ),
            (
                _("Measurement"),
                {"fields": ["control_percent", "respect_holdout", "measure_days"]},
            ),
            (_("Schedule"), {"fields": ["schedule", "cooldown_days", "ends_on"]}),
        ]
        if obj is not None:
            fieldsets.append((_("Launch"), {"fields": self.frozen}))
        return fieldsets

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.status != Campaign.Status.DRAFT:
            return False  # frozen at launch: its page is read-only
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.status != Campaign.Status.DRAFT:
            return False  # its members and report stay
        return super().has_delete_permission(request, obj)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        # Launching and finishing are head office's, whatever the state of the page's form.
        can_manage = super().has_change_permission(request)
        return super().change_view(
            request, object_id, form_url, {**(extra_context or {}), "can_manage": can_manage}
        )

    def save_model(self, request, obj, form, change):
        save_campaign(campaign=obj, actor=request.user)

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<int:pk>/launch/", view(self.launch_view), name="campaigns_campaign_launch"),
            path("<int:pk>/finish/", view(self.finish_view), name="campaigns_campaign_finish"),
            path("<int:pk>/report/", view(self.report_view), name="campaigns_campaign_report"),
            path(
                "<int:pk>/report/export/",
                view(self.report_export_view),
                name="campaigns_campaign_report_export",
            ),
            *super().get_urls(),
        ]

    def _page(self, request, template, campaign, title, **context):
        return TemplateResponse(
            request,
            template,
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "campaign": campaign,
                "title": title,
                **context,
            },
        )

    def launch_view(self, request, pk):
        """The launch form: who the campaign would reach now (after the holdout), how it would
        split, the audience's recent spend, and the smallest lift it can detect at this size
        and control share (and at others, to choose from). POST launches."""
        if not self.has_change_permission(request):
            raise PermissionDenied
        campaign = get_object_or_404(Campaign.objects.select_related("segment"), pk=pk)
        change_url = reverse("admin:campaigns_campaign_change", args=[pk])
        if campaign.status != Campaign.Status.DRAFT:
            messages.info(request, gettext("This campaign is already launched."))
            return HttpResponseRedirect(change_url)
        if request.method == "POST":
            try:
                launch_campaign(campaign=campaign, source=Source.ADMIN, actor=request.user)
            except DomainError as exc:
                apply_domain_error(request, None, exc)
                for field, problems in exc.fields.items():
                    for problem in problems:
                        messages.error(request, f"{field}: {problem}")
            else:
                messages.success(
                    request,
                    gettext("%(code)s launched: %(audience)s members, %(control)s in control.")
                    % {
                        "code": campaign.code,
                        "audience": f"{campaign.audience:,}",
                        "control": f"{campaign.control:,}",
                    },
                )
                return HttpResponseRedirect(change_url)
        try:
            plan = plan_campaign(
                segment=campaign.segment,
                control_percent=campaign.control_percent,
                measure_days=campaign.measure_days,
                respect_holdout=campaign.respect_holdout,
            )
        except InvalidSegment as exc:
            messages.error(request, "; ".join(exc.fields.get("definition", [exc.message])))
            return HttpResponseRedirect(change_url)
        choices = [
            {
                "share": share,
                "mde": lift.minimum_detectable_lift(
                    n=plan["audience"],
                    control_share=share / 100,
                    mean=plan["baseline_mean"],
                    sd=plan["baseline_sd"],
                ),
                "current": share == float(campaign.control_percent),
            }
            for share in MDE_SHARES
        ]
        return self._page(
            request,
            "admin/campaigns/campaign/launch.html",
            campaign,
            gettext("Launch %(campaign)s") % {"campaign": campaign},
            plan=plan,
            choices=choices,
            described=segments.describe(campaign.segment.definition),
            reach=_labelled(launch_preview(campaign)),
        )

    def finish_view(self, request, pk):
        """GET asks to confirm; POST finishes (no one enters any more)."""
        if not self.has_change_permission(request):
            raise PermissionDenied
        campaign = get_object_or_404(Campaign, pk=pk)
        if request.method != "POST":
            return self._page(
                request,
                "admin/campaigns/campaign/finish.html",
                campaign,
                gettext("Finish %(campaign)s") % {"campaign": campaign},
            )
        try:
            finish_campaign(campaign=campaign, source=Source.ADMIN, actor=request.user)
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, gettext("%(code)s finished.") % {"code": campaign.code})
        return HttpResponseRedirect(reverse("admin:campaigns_campaign_change", args=[pk]))

    def _report(self, request, pk):
        if not self.has_view_permission(request):
            raise PermissionDenied
        campaign = get_object_or_404(Campaign.objects.select_related("segment"), pk=pk)
        try:
            return campaign, campaign_report(campaign, series=True, store_ids=_store_ids(request))
        except DomainError as exc:
            messages.error(request, exc.message)
            return campaign, None

    def report_view(self, request, pk):
        """The effectiveness report: operators' figures, the arms side by side, the lift with
        its interval, charts (ECharts), the sample-ratio warning; Excel export."""
        campaign, report = self._report(request, pk)
        if report is None:
            return HttpResponseRedirect(reverse("admin:campaigns_campaign_change", args=[pk]))
        charts = {
            "arms": {
                "labels": [gettext("Treatment"), gettext("Control")],
                "sales_per_member": [
                    report["arms"]["treatment"]["sales_per_member"],
                    report["arms"]["control"]["sales_per_member"],
                ],
                "conversion": [
                    _pct(report["arms"]["treatment"]["conversion"]),
                    _pct(report["arms"]["control"]["conversion"]),
                ],
            },
            "series": report["series"],
            "lift": {
                "value": _pct(report["lift"]),
                "ci": [_pct(v) for v in report["lift_ci"]] if report["lift_ci"] else None,
            },
            "names": {
                "treatment": gettext("Treatment"),
                "control": gettext("Control"),
                "sales_per_member": gettext("Sales per member (yuan)"),
                "conversion": gettext("Conversion (%)"),
                "day": gettext("Days since entry"),
                "cumulative": gettext("Cumulative sales per member (yuan)"),
                "lift": gettext("Lift on sales per member (%)"),
                "interval": gettext("Interval (95%)"),
            },
        }
        scoped = _store_ids(request) is not None
        return self._page(
            request,
            "admin/campaigns/campaign/report.html",
            campaign,
            gettext("Report of %(campaign)s") % {"campaign": campaign},
            report=report,
            reach=report["reach"],
            as_of=timezone.localtime().strftime("%Y-%m-%d %H:%M"),
            charts=charts,
            echarts=ECHARTS,
            scoped=scoped,
            export_url=reverse("admin:campaigns_campaign_report_export", args=[pk]),
        )

    def report_export_view(self, request, pk):
        campaign, report = self._report(request, pk)
        if report is None:
            return HttpResponseRedirect(reverse("admin:campaigns_campaign_change", args=[pk]))
        return exports.report_response(report)


def _pct(value):
    return None if value is None else round(value * 100, 2)


def _labelled(preview):
    """The message preview with each channel and reason named, for the launch page."""
    if preview is None:
        return None
    preview["channel_rows"] = [(c, Channel(c).label, n) for c, n in preview["channels"].items()]
    preview["excluded_rows"] = [
        (r, Exclusion(r).label, n) for r, n in sorted(preview["excluded"].items())
    ]
    return preview


# --- the chain-wide holdout and the statistics runs ---------------------------------------


class HoldoutForm(forms.ModelForm):
    class Meta:
        model = HoldoutDraw
        fields = ["year", "percent"]


@admin.register(HoldoutDraw)
class HoldoutDrawAdmin(admin.ModelAdmin):
    form = HoldoutForm
    list_display = ["year", "percent", "created_by", "created_at"]

    def has_change_permission(self, request, obj=None):
        return False  # drawn once a year: a redraw would move members between campaigns

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        drawn = draw_holdout(
            year=obj.year, percent=obj.percent, source=Source.ADMIN, actor=request.user
        )
        obj.pk = drawn.pk

    def add_view(self, request, form_url="", extra_context=None):
        try:
            return super().add_view(request, form_url, extra_context)
        except DomainError as exc:
            messages.error(request, "; ".join(
                str(p) for problems in exc.fields.values() for p in problems
            ) or exc.message)  # fmt: skip
            return HttpResponseRedirect(request.path)


@admin.register(StatsRun)
class StatsRunAdmin(ReadOnlyAdmin):
    list_display = ["as_of", "started_at", "finished_at", "members", "seconds", "source"]


# --- on the member page ---------------------------------------------------------------------


@admin.display(description=_("purchase statistics"))
def stats_panel(member):
    """HTML: the member's statistics as of the last refresh, and the campaigns they entered."""
    stats = MemberStats.objects.filter(member=member).select_related("favourite_store").first()
    entries = list(
        CampaignMember.objects.filter(member=member)
        .select_related("campaign")
        .order_by("-enrolled_at")[:10]
    )
    return render_to_string(
        "admin/campaigns/stats_panel.html", {"stats": stats, "entries": entries}
    )


MemberAdmin.extend(panels={"stats_panel": stats_panel})
