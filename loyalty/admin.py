"""Admin for points: rules editable with their effective dates, ledgers read-only, the
adjustment approval queue, and what the member page shows of points (its column, panel and the
adjust-points action, added to MemberAdmin from here). Every change calls a service."""

import uuid

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core import validators
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from core.admin import HistoryAdmin, ReadOnlyAdmin, money_column
from core.errors import DomainError
from core.models import Source
from members.admin import MemberAdmin
from members.admin.common import (
    CounterButton,
    MemberActionForm,
    MemberSearchMixin,
    apply_domain_error,
    counter_form_page,
    run_counter_service,
    start_background_job,
)
from members.bulk import start_file_job
from stores.access import StoreScopedAdminMixin, StoreScopedInlineMixin, can_access_store

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
from .models.rules import parse_codes
from .selectors import open_lots, recent_points_entries
from .services import adjust_points, approve_adjustment, reject_adjustment
from .services.adjustments import points_balance

# --- when rules apply: the weekdays as a checkbox list ------------------------------------

WEEKDAYS = [
    ("1", pgettext_lazy("weekday", "Mon")),
    ("2", pgettext_lazy("weekday", "Tue")),
    ("3", pgettext_lazy("weekday", "Wed")),
    ("4", pgettext_lazy("weekday", "Thu")),
    ("5", pgettext_lazy("weekday", "Fri")),
    ("6", pgettext_lazy("weekday", "Sat")),
    ("7", pgettext_lazy("weekday", "Sun")),
]


class WeekdaysField(forms.MultipleChoiceField):
    """周一…周日 as checkboxes, kept in the rule's text column as "1,3" (1 = Monday): typing
    "3" and hoping it meant Wednesday is over. None ticked: every day."""

    widget = forms.CheckboxSelectMultiple

    def __init__(self, **kwargs):
        kwargs.setdefault("choices", WEEKDAYS)
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def prepare_value(self, value):
        if isinstance(value, str):
            return sorted(parse_codes(value))
        return value

    def clean(self, value):
        days = super().clean(value)
        return ",".join(sorted(set(days), key=int))

    def has_changed(self, initial, data):
        before = sorted(parse_codes(initial)) if isinstance(initial, str) else initial or []
        return super().has_changed(before, data)


def weekdays_text(codes):
    """"1,3" -> "周一、周三"; "" -> "每天"."""
    names = dict(WEEKDAYS)
    days = sorted(parse_codes(codes), key=lambda d: int(d) if d.isdigit() else 99)
    if not days:
        return gettext("every day")
    return gettext(", ").join(str(names.get(day, day)) for day in days)


class RuleWindowForm(forms.ModelForm):
    weekdays = WeekdaysField(
        label=_("weekdays"), help_text=_("Tick the days it applies. None ticked: every day.")
    )


@admin.display(description=_("weekdays"), ordering="weekdays")
def weekdays_column(rule):
    return weekdays_text(rule.weekdays)


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
    form = RuleWindowForm
    list_display = [
        "name",
        "kind",
        "points",
        money_column("per_amount", model=EarningRule),
        "multiplier",
        "categories",
        weekdays_column,
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
    form = RuleWindowForm
    list_display = [
        "name",
        "points_per_yuan",
        "min_points",
        "step",
        money_column("min_order_amount", model=RedemptionRule),
        "max_share_percent",
        "excluded_categories",
        weekdays_column,
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
        money_column("min_order_amount", model=BonusRule),
        "start_date",
        "end_date",
        "is_active",
    ]
    list_filter = ["kind", "is_active"]


class GiftStockInline(StoreScopedInlineMixin, admin.TabularInline):
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
class PointsEntryAdmin(MemberSearchMixin, StoreScopedAdminMixin, ReadOnlyAdmin):
    # Newest first by id: rows are appended as they happen, and the primary key orders tens of
    # millions of them without a sort (the model's -created_at ordering would sort them all).
    ordering = ["-id"]
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
    search_fields = ["=account__member__member_no"]  # (shows the box) see MemberSearchMixin
    member_search_path = "account__member_id"
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
        money_column("qualifying_spend", model=PointsAccount),
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
class PointsLotAdmin(StoreScopedAdminMixin, ReadOnlyAdmin):
    # A lot belongs to the member's account: their home store's staff see it, wherever it
    # was earned (as for the account itself).
    store_field = "account__member__home_store"
    list_display = ["account", "points", "remaining", "earned_at", "expires_at"]
    list_select_related = ["account__member"]
    raw_id_fields = ["account", "entry"]


class AwardForm(forms.Form):
    file = forms.FileField(
        label=_("file"),
        help_text=_(
            "Excel (.xlsx) or CSV with the columns 手机号 (or 会员号), 积分 and 原因 in row 1."
        ),
    )


class AdjustmentForm(forms.ModelForm):
    # One per rendered form: a double click or a resubmitted page posts one adjustment.
    token = forms.CharField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = PointsAdjustment
        fields = ["member", "points", "reason_category", "reason", "store"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial["token"] = uuid.uuid4().hex
        if "points" in self.fields:  # not on the read-only page of a posted adjustment
            limit_points(self.fields["points"])


def adjustment_help():
    return gettext(
        "Signed: negative takes points. Above %(threshold)s points (either way) another "
        "head-office user must approve; at most %(limit)s in one adjustment."
    ) % {
        "threshold": f"{settings.POINTS_ADJUSTMENT_APPROVAL_THRESHOLD:,}",
        "limit": f"{settings.POINTS_ADJUSTMENT_MAX_POINTS:,}",
    }


def adjustment_done_message(adjustment):
    if adjustment.status == PointsAdjustment.Status.POSTED:
        return gettext("%(points)+d points posted to %(member)s.") % {
            "points": adjustment.points,
            "member": adjustment.member,
        }
    return gettext(
        "The adjustment of %(points)+d points for %(member)s waits for approval by another "
        "head-office user."
    ) % {"points": adjustment.points, "member": adjustment.member}


@admin.register(PointsAdjustment)
class PointsAdjustmentAdmin(StoreScopedAdminMixin, admin.ModelAdmin):
    """The approval queue: filter by status 'waiting for approval', then approve or reject."""

    store_field = "member__home_store"
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

    change_list_template = "admin/loyalty/pointsadjustment/change_list.html"

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False

    def add_view(self, request, form_url="", extra_context=None):
        """积分调整 → 增加: the ModelAdmin's own form, whose only effect is one call of
        adjust_points; a refusal (not enough points, over the limit) comes back on the form."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form_class = self.get_form(request, None, change=False)
        form = form_class(
            request.POST or None, initial=self.get_changeform_initial_data(request)
        )
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            member = data["member"]
            if not can_access_store(request.user, member.home_store):
                # The raw id field takes any member's id; a store's staff adjust only theirs.
                raise PermissionDenied
            try:
                adjustment = adjust_points(
                    member=member,
                    points=data["points"],
                    reason_category=data["reason_category"],
                    reason=data["reason"],
                    store=data["store"],
                    source=Source.ADMIN,
                    actor=request.user,
                    key=f"admin-adjust:{data['token']}" if data.get("token") else None,
                )
            except DomainError as error:
                apply_domain_error(request, form, error)
            else:
                self.message_user(request, adjustment_done_message(adjustment), messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:loyalty_pointsadjustment_changelist"))
        fieldsets = [(None, {"fields": ["member", "points", "reason_category", "reason", "store"]})]
        admin_form = helpers.AdminForm(form, fieldsets, {}, [], model_admin=self)
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Adjust points"),
            "subtitle": None,
            "adminform": admin_form,
            "object_id": None,
            "original": None,
            "is_popup": False,
            "to_field": None,
            "media": self.media + admin_form.media,
            "inline_admin_formsets": [],
            "errors": helpers.AdminErrorList(form, []),
            "preserved_filters": self.get_preserved_filters(request),
            "show_save_and_add_another": False,
            "show_save_and_continue": False,
            **(extra_context or {}),
        }
        return self.render_change_form(
            request, context, add=True, change=False, obj=None, form_url=form_url
        )

    def get_urls(self):
        return [
            path(
                "award/",
                self.admin_site.admin_view(self.award_view),
                name="loyalty_pointsadjustment_award",
            ),
            *super().get_urls(),
        ]

    def award_view(self, request):
        """Points for the members listed in an Excel file (a promotion's participants, each
        with points and a reason): one background job; rows it cannot award are reported
        with their row numbers, as the member import reports its rows."""
        if not request.user.has_perm("loyalty.add_pointsadjustment"):
            raise PermissionDenied
        form = AwardForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            job = start_file_job(
                kind="award_points", upload=form.cleaned_data["file"], params={},
                actor=request.user,
            )  # fmt: skip
            self.message_user(
                request,
                gettext(
                    "Started in the background as bulk job #%(id)d; its progress is shown here."
                )
                % {"id": job.pk},
                messages.INFO,
            )
            return HttpResponseRedirect(reverse("admin:members_bulkjob_change", args=[job.pk]))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": gettext("Award points from an Excel file"),
            "form": form,
        }
        return TemplateResponse(request, "admin/loyalty/award_upload.html", context)

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
    token = forms.CharField(widget=forms.HiddenInput, required=False)
    points = forms.IntegerField(label=_("points"))
    reason_category = forms.ChoiceField(
        label=_("reason category"), choices=PointsAdjustment.ReasonCategory.choices
    )
    reason = forms.CharField(label=_("reason"), max_length=200)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial["token"] = uuid.uuid4().hex
        limit_points(self.fields["points"])

    def clean_points(self):
        if not self.cleaned_data["points"]:
            raise forms.ValidationError(gettext("A non-zero whole number of points."))
        return self.cleaned_data["points"]


def limit_points(field):
    """Bound a points field by settings.POINTS_ADJUSTMENT_MAX_POINTS (read when the form is
    made, so a changed setting applies at once), with the rules in its help text."""
    limit = settings.POINTS_ADJUSTMENT_MAX_POINTS
    field.min_value, field.max_value = -limit, limit
    field.validators = [
        *field.validators,
        validators.MinValueValidator(-limit),
        validators.MaxValueValidator(limit),
    ]
    field.widget.attrs.update(min=-limit, max=limit)
    field.help_text = adjustment_help()


def _adjust(request, member, data, key_suffix=""):
    token = data.get("token")
    return adjust_points(
        member=member,
        points=data["points"],
        reason_category=data["reason_category"],
        reason=data["reason"],
        store=data.get("store"),
        source=Source.ADMIN,
        actor=request.user,
        key=f"admin-adjust:{token}:{member.pk}{key_suffix}" if token else None,
    )


@admin.action(description=_("Adjust points of the selected members"), permissions=["adjust_points"])
def adjust_points_action(modeladmin, request, queryset):
    """Admin action for the member list: an intermediate form (points, reason category and
    text), then `adjust_points` for each selected member. Large adjustments wait for approval.

    One message per outcome: each refusal names its member and says why; the summary appears
    only when something was posted or is waiting (never a green "0 posted" beside a red
    refusal)."""
    if not request.user.has_perm("loyalty.add_pointsadjustment"):
        raise PermissionDenied
    form = AdjustPointsForm(request.POST if "apply" in request.POST else None)
    if "apply" in request.POST and form.is_valid():
        # Every member of the filter (select across): a background job with progress,
        # selected again by the filter, not a list of ids.
        started = start_background_job(request, "adjust_points", dict(form.cleaned_data))
        if started is not None:
            return started
        posted = pending = 0
        for member in queryset.order_by("pk"):
            try:
                adjustment = _adjust(request, member, form.cleaned_data)
            except DomainError as exc:
                modeladmin.message_user(
                    request, f"{member}: {refusal_text(exc)}", messages.ERROR
                )
                continue
            if adjustment.status == PointsAdjustment.Status.POSTED:
                posted += 1
            else:
                pending += 1
        if posted or pending:
            modeladmin.message_user(
                request,
                gettext("%(posted)d adjustments posted, %(pending)d waiting for approval.")
                % {"posted": posted, "pending": pending},
                messages.SUCCESS,
            )
        return None
    across = request.POST.get("select_across", "0")
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": gettext("Adjust points"),
        "form": form,
        "count": queryset.count(),
        "first_members": queryset.order_by("pk")[:20],
        "selected": []
        if across == "1"
        else request.POST.getlist(admin.helpers.ACTION_CHECKBOX_NAME),
        "select_across": across,
        "opts": modeladmin.model._meta,
        "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        "action": "adjust_points_action",
    }
    return TemplateResponse(request, "admin/loyalty/adjust_points.html", context)


def refusal_text(error):
    """A service's refusal as one sentence: its field messages when it has them (they say
    what the member has and what was asked), else its message."""
    details = [str(m) for problems in (error.fields or {}).values() for m in problems]
    return " ".join(details) if details else str(error.message)


# --- the member page's 调整积分 button -------------------------------------------------------


class CounterAdjustPointsForm(MemberActionForm, AdjustPointsForm):
    """The member page's form: AdjustPointsForm with the store it happens in and its token."""

    token = forms.CharField(widget=forms.HiddenInput)


def adjust_points_view(request, member):
    form = CounterAdjustPointsForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        done = run_counter_service(
            request,
            form,
            member,
            lambda: _adjust(request, member, form.cleaned_data),
            adjustment_done_message,
        )
        if done:
            return done
    return counter_form_page(
        request,
        member,
        title=gettext("Adjust points"),
        form=form,
        facts=points_facts(member),
        submit_label=gettext("Adjust points"),
    )


def points_facts(member):
    return [
        (gettext("points balance"), f"{points_balance(member):,}"),
        (
            gettext("approval threshold"),
            gettext("above %(threshold)s points, another head-office user approves")
            % {"threshold": f"{settings.POINTS_ADJUSTMENT_APPROVAL_THRESHOLD:,}"},
        ),
        (
            gettext("largest adjustment"),
            f"{settings.POINTS_ADJUSTMENT_MAX_POINTS:,}",
        ),
    ]


@admin.display(description=_("points"), ordering="points_account__balance")
def points_column(member):
    account = getattr(member, "points_account", None)
    return f"{account.balance if account else 0:,}"


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
    buttons=[
        CounterButton(
            name="adjust-points",
            label=_("Adjust points"),
            view=adjust_points_view,
            allowed=lambda request, member: can_adjust_points(request),
        )
    ],
)
