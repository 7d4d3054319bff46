"""Admin for points: rules editable with their effective dates, ledgers read-only, the
adjustment approval queue, and what the member page shows of points (its column, panel and the
adjust-points action, added to MemberAdmin from here). Every change calls a service."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.admin import HistoryAdmin, ReadOnlyAdmin
from core.errors import DomainError
from core.models import Source
from members.admin import MemberAdmin
from stores.access import StoreScopedAdminMixin

from .models import (
    BonusRule,
    EarningRule,
    ExpiryPolicy,
    Gift,
    GiftRedemption,
    GiftStock,
    PointsAccount,
    PointsAdjustment,
    PointsEntry,
    PointsLot,
    RedemptionRule,
)
from .selectors import open_lots, recent_points_entries
from .services import adjust_points, approve_adjustment, reject_adjustment

WINDOW_FIELDS = (
    _("When and where"),
    {
        "fields": ["is_active", ("start_date", "end_date"), "weekdays", "stores"],
        "description": _(
            "Leave a field empty for no limit. Changes apply to sales from now on; "
            "posted sales keep the rules they were computed with."
        ),
    },
)


@admin.register(EarningRule)
class EarningRuleAdmin(HistoryAdmin):
    list_display = [
        "name",
        "kind",
        "points",
        "per_amount",
        "multiplier",
        "categories",
        "weekdays",
        "start_date",
        "end_date",
        "priority",
        "exclusive",
        "targeted",
        "is_active",
    ]
    list_filter = ["kind", "is_active", "exclusive", "targeted"]
    readonly_fields = ["targeted"]
    search_fields = ["name"]
    filter_horizontal = ["stores", "tiers"]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "name",
                    "kind",
                    ("points", "per_amount"),
                    "multiplier",
                    "categories",
                    "min_order_amount",
                    ("priority", "exclusive"),
                    "targeted",
                ]
            },
        ),
        WINDOW_FIELDS,
        (_("Hours and tiers"), {"fields": [("start_time", "end_time"), "tiers"]}),
    ]


@admin.register(RedemptionRule)
class RedemptionRuleAdmin(HistoryAdmin):
    list_display = [
        "name",
        "points_per_yuan",
        "min_points",
        "step",
        "min_order_amount",
        "max_share_percent",
        "excluded_categories",
        "weekdays",
        "start_date",
        "end_date",
        "priority",
        "is_active",
    ]
    list_filter = ["is_active"]
    filter_horizontal = ["stores"]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "name",
                    "points_per_yuan",
                    ("min_points", "step"),
                    "min_order_amount",
                    "max_share_percent",
                    "excluded_categories",
                    "priority",
                ]
            },
        ),
        WINDOW_FIELDS,
    ]


@admin.register(ExpiryPolicy)
class ExpiryPolicyAdmin(HistoryAdmin):
    list_display = ["name", "mode", "months", "periods_after", "start_date", "is_active"]
    list_filter = ["mode", "is_active"]


@admin.register(BonusRule)
class BonusRuleAdmin(HistoryAdmin):
    list_display = [
        "name",
        "kind",
        "points",
        "referrer_points",
        "holiday",
        "min_order_amount",
        "start_date",
        "end_date",
        "is_active",
    ]
    list_filter = ["kind", "is_active"]


class GiftStockInline(admin.TabularInline):
    model = GiftStock
    extra = 0


@admin.register(Gift)
class GiftAdmin(HistoryAdmin):
    list_display = ["code", "name", "points", "is_active"]
    search_fields = ["=code", "name"]
    inlines = [GiftStockInline]


@admin.register(GiftStock)
class GiftStockAdmin(StoreScopedAdminMixin, admin.ModelAdmin):
    list_display = ["gift", "store", "quantity"]
    list_filter = ["store"]
    list_select_related = ["gift", "store"]


@admin.register(GiftRedemption)
class GiftRedemptionAdmin(StoreScopedAdminMixin, ReadOnlyAdmin):
    list_display = ["created_at", "member", "gift", "qty", "points_spent", "store", "source"]
    list_filter = ["store", "gift"]
    list_select_related = ["member", "gift", "store"]
    raw_id_fields = ["member"]


@admin.register(PointsEntry)
class PointsEntryAdmin(StoreScopedAdminMixin, ReadOnlyAdmin):
    list_display = [
        "created_at",
        "account",
        "kind",
        "points",
        "balance_after",
        "store",
        "source",
        "actor",
        "reference",
    ]
    list_filter = ["kind", "source", "store"]
    list_select_related = ["account__member", "store", "actor"]
    search_fields = ["=account__member__member_no", "=reference"]
    raw_id_fields = ["account", "reverses"]


@admin.register(PointsAccount)
class PointsAccountAdmin(StoreScopedAdminMixin, ReadOnlyAdmin):
    store_field = "member__home_store"
    list_display = [
        "member",
        "balance",
        "lifetime_earned",
        "lifetime_redeemed",
        "lifetime_expired",
        "qualifying_spend",
        "in_debt",
    ]
    list_select_related = ["member"]
    search_fields = ["=member__member_no", "^member__phone"]
    readonly_fields = ["points_panel"]

    @admin.display(boolean=True, description=_("in debt"))
    def in_debt(self, account):
        return account.in_debt

    @admin.display(description=_("points history"))
    def points_panel(self, account):
        return member_points_panel(account.member)


@admin.register(PointsLot)
class PointsLotAdmin(ReadOnlyAdmin):
    list_display = ["account", "points", "remaining", "earned_at", "expires_at"]
    list_select_related = ["account__member"]
    raw_id_fields = ["account", "entry"]


class AdjustmentForm(forms.ModelForm):
    class Meta:
        model = PointsAdjustment
        fields = ["member", "points", "reason_category", "reason", "store"]


@admin.register(PointsAdjustment)
class PointsAdjustmentAdmin(StoreScopedAdminMixin, admin.ModelAdmin):
    """The approval queue: filter by status 'waiting for approval', then approve or reject."""

    form = AdjustmentForm
    list_display = [
        "created_at",
        "member",
        "points",
        "reason_category",
        "reason",
        "status",
        "requested_by",
        "decided_by",
    ]
    list_filter = ["status", "reason_category"]
    list_select_related = ["member", "requested_by", "decided_by"]
    raw_id_fields = ["member"]
    actions = ["approve", "reject"]
    show_full_result_count = False

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        try:
            saved = adjust_points(
                member=obj.member,
                points=obj.points,
                reason_category=obj.reason_category,
                reason=obj.reason,
                store=obj.store,
                source=Source.ADMIN,
                actor=request.user,
            )
        except DomainError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            raise PermissionDenied(exc.message) from exc
        obj.pk = saved.pk
        obj.status = saved.status

    def _decide(self, request, queryset, service, done):
        count = 0
        for adjustment in queryset.select_related("member"):
            try:
                service(adjustment=adjustment, actor=request.user, source=Source.ADMIN)
                count += 1
            except DomainError as exc:
                self.message_user(request, f"{adjustment}: {exc.message}", messages.ERROR)
        if count:
            self.message_user(request, done % {"count": count}, messages.SUCCESS)

    @admin.action(description=_("Approve the selected adjustments"), permissions=["approve"])
    def approve(self, request, queryset):
        self._decide(request, queryset, approve_adjustment, gettext("%(count)d approved."))

    @admin.action(description=_("Reject the selected adjustments"), permissions=["approve"])
    def reject(self, request, queryset):
        self._decide(request, queryset, reject_adjustment, gettext("%(count)d rejected."))

    def has_approve_permission(self, request):
        return request.user.has_perm("loyalty.approve_adjustment")


# --- What the member page shows of points (added to MemberAdmin at the end of this module) ---


def member_points_panel(member) -> SafeString:
    """HTML for a member's page: balance, recent points entries and open lots."""
    entries = recent_points_entries(member)
    lots = open_lots(member)
    account = PointsAccount.objects.filter(member=member).first()
    entry_rows = format_html_join(
        "",
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        (
            (
                timezone.localtime(e.created_at).strftime("%Y-%m-%d %H:%M"),
                e.get_kind_display(),
                f"{e.points:+d}",
                e.balance_after,
                e.store.code if e.store else "",
                e.reason or e.reference,
            )
            for e in entries
        ),
    )
    lot_rows = format_html_join(
        "",
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        (
            (
                timezone.localtime(lot.earned_at).strftime("%Y-%m-%d"),
                lot.points,
                lot.remaining,
                timezone.localtime(lot.expires_at).strftime("%Y-%m-%d %H:%M")
                if lot.expires_at
                else gettext("never"),
            )
            for lot in lots
        ),
    )
    return format_html(
        "<p>{}: <strong>{}</strong></p>"
        "<table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th>"
        "</tr></thead><tbody>{}</tbody></table>"
        "<h4>{}</h4><table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead>"
        "<tbody>{}</tbody></table>",
        gettext("Points balance"),
        account.balance if account else 0,
        gettext("Time"),
        gettext("Kind"),
        gettext("Points"),
        gettext("Balance after"),
        gettext("Store"),
        gettext("Reason"),
        entry_rows,
        gettext("Open lots"),
        gettext("Earned"),
        gettext("Points"),
        gettext("Remaining"),
        gettext("Expires at"),
        lot_rows,
    )


class AdjustPointsForm(forms.Form):
    points = forms.IntegerField(
        label=_("points"), help_text=_("Signed: negative takes points from each member.")
    )
    reason_category = forms.ChoiceField(
        label=_("reason category"), choices=PointsAdjustment.ReasonCategory.choices
    )
    reason = forms.CharField(label=_("reason"), max_length=200)

    def clean_points(self):
        if not self.cleaned_data["points"]:
            raise forms.ValidationError(gettext("A non-zero whole number of points."))
        return self.cleaned_data["points"]


@admin.action(description=_("Adjust points of the selected members"), permissions=["adjust_points"])
def adjust_points_action(modeladmin, request, queryset):
    """Admin action for the member list: an intermediate form (points, reason category and
    text), then `adjust_points` for each selected member. Large adjustments wait for approval."""
    if not request.user.has_perm("loyalty.add_pointsadjustment"):
        raise PermissionDenied
    form = AdjustPointsForm(request.POST if "apply" in request.POST else None)
    if "apply" in request.POST and form.is_valid():
        posted = pending = 0
        for member in queryset.order_by("pk"):
            try:
                adjustment = adjust_points(
                    member=member,
                    source=Source.ADMIN,
                    actor=request.user,
                    **form.cleaned_data,
                )
            except DomainError as exc:
                modeladmin.message_user(request, f"{member}: {exc.message}", messages.ERROR)
                continue
            if adjustment.status == PointsAdjustment.Status.POSTED:
                posted += 1
            else:
                pending += 1
        modeladmin.message_user(
            request,
            gettext("%(posted)d adjustments posted, %(pending)d waiting for approval.")
            % {"posted": posted, "pending": pending},
            messages.SUCCESS,
        )
        return None
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": gettext("Adjust points"),
        "form": form,
        "queryset": queryset,
        "opts": modeladmin.model._meta,
        "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        "action": "adjust_points_action",
    }
    return TemplateResponse(request, "admin/loyalty/adjust_points.html", context)


@admin.display(description=_("points"), ordering="points_account__balance")
def points_column(member):
    account = getattr(member, "points_account", None)
    return account.balance if account else 0


@admin.display(description=_("points history"))
def points_history(member):
    return member_points_panel(member)


def can_adjust_points(request):
    return request.user.has_perm("loyalty.add_pointsadjustment")


MemberAdmin.extend(
    columns={"points": points_column},
    panels={"points_history": points_history},
    actions=[adjust_points_action],
    permissions={"adjust_points": can_adjust_points},
    select_related=["points_account"],
)
