"""Admin for stored value: recharge plans, the withdrawal approval queue, read-only ledgers,
reports, and what the member page shows of stored value (its column, panel and the recharge,
withdrawal request and transfer actions, added to MemberAdmin at the end of this module).

Thin: every form ends in a service call; a DomainError becomes an error message.
"""

from datetime import timedelta
from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Case, IntegerField, Q, Value, When
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core import excel
from core.admin import HistoryAdmin, ReadOnlyAdmin, money_column
from core.errors import DomainError
from core.formatting import format_money
from core.models import Source
from members.admin import MemberAdmin
from members.admin.common import (
    CounterButton,
    MemberActionForm,
    MemberSearchMixin,
    action_form_page,
    counter_form_page,
    for_each_member,
    run_counter_service,
    run_for_member,
)
from members.models import Member
from stores.access import StoreScopedAdminMixin, allowed_store_ids

from . import reports as wallet_reports
from .models import (
    RechargePlan,
    StoredValueAdjustment,
    Transfer,
    Wallet,
    WalletEntry,
    WithdrawalRequest,
)
from .services import (
    active_recharge_plans,
    adjust_stored_value,
    approve_stored_value_adjustment,
    approve_withdrawal,
    recharge_wallet,
    reject_stored_value_adjustment,
    reject_withdrawal,
    request_withdrawal,
    transfer_stored_value,
)

PANEL_ENTRIES = 20


# --- panels on the member page ---------------------------------------------------------------


def wallet_panel(member):
    """HTML: the member's principal, bonus and latest stored-value entries (2 queries)."""
    wallet = Wallet.objects.filter(member=member).first()
    entries = []
    if wallet is not None:
        entries = list(
            WalletEntry.objects.filter(wallet=wallet)
            .select_related("store", "actor")
            .order_by("-created_at", "-id")[:PANEL_ENTRIES]
        )
    return render_to_string(
        "admin/wallet/wallet_panel.html",
        {"wallet": wallet, "entries": entries, "member": member},
    )


# --- member actions with intermediate forms --------------------------------------------------


class RechargeForm(MemberActionForm):
    amount = forms.DecimalField(
        label=_("amount paid"), max_digits=12, decimal_places=2, min_value=Decimal("0.01")
    )
    plan = forms.ModelChoiceField(
        queryset=RechargePlan.objects.none(), label=_("recharge plan"), required=False
    )
    reference = forms.CharField(label=_("receipt no"), max_length=100, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["plan"].queryset = active_recharge_plans()


class WithdrawalRequestForm(MemberActionForm):
    amount = forms.DecimalField(
        label=_("principal to pay out"),
        max_digits=12,
        decimal_places=2,
        min_value=Decimal("0.01"),
        required=False,
        help_text=_("Leave empty for all of the principal."),
    )
    reason = forms.CharField(label=_("reason"), max_length=200)


class TransferForm(MemberActionForm):
    to_member = forms.CharField(label=_("to member (member no or phone)"), max_length=20)
    amount = forms.DecimalField(
        label=_("amount"), max_digits=12, decimal_places=2, min_value=Decimal("0.01")
    )
    reason = forms.CharField(label=_("reason"), max_length=200)

    def clean_to_member(self):
        value = self.cleaned_data["to_member"].strip()
        member = Member.objects.filter(Q(member_no=value) | Q(phone=value)).first()
        if member is None:
            raise forms.ValidationError(gettext("No member with this number or phone."))
        return member


@admin.action(description=_("Recharge stored value"), permissions=["change"])
def recharge_action(modeladmin, request, queryset):
    """Recharge (cash at the service desk) the selected members, optionally under a plan."""
    form = RechargeForm(request.POST if "apply" in request.POST else None, user=request.user)
    return for_each_member(
        request,
        queryset,
        form,
        gettext("Recharge stored value"),
        "recharge_action",
        lambda m, data: recharge_wallet(
            member=m,
            amount=data["amount"],
            plan=data["plan"],
            store=data["store"],
            source=Source.ADMIN,
            actor=request.user,
            reference=data["reference"],
            key=f"admin-recharge:{data['token']}:{m.pk}",
        ),
        gettext("%(count)d members recharged."),
    )


@admin.action(description=_("Request a stored-value withdrawal"), permissions=["change"])
def withdrawal_request_action(modeladmin, request, queryset):
    """File withdrawal requests; money moves only when another head-office user approves."""
    form = WithdrawalRequestForm(
        request.POST if "apply" in request.POST else None, user=request.user
    )
    return for_each_member(
        request,
        queryset,
        form,
        gettext("Request a stored-value withdrawal"),
        "withdrawal_request_action",
        lambda m, data: request_withdrawal(
            member=m,
            amount=data["amount"],
            reason=data["reason"],
            store=data["store"],
            source=Source.ADMIN,
            actor=request.user,
            key=f"admin-withdrawal:{data['token']}:{m.pk}",
        ),
        gettext("%(count)d withdrawal requests await approval."),
    )


@admin.action(description=_("Transfer stored value to another member"), permissions=["change"])
def transfer_action(modeladmin, request, queryset):
    """Transfer from the one selected member to another member."""
    if queryset.count() != 1:
        messages.error(request, gettext("Select exactly one member to transfer from."))
        return None
    form = TransferForm(request.POST if "apply" in request.POST else None, user=request.user)
    if form.is_valid():
        data = form.cleaned_data
        sender = queryset.get()
        if run_for_member(
            request,
            sender,
            lambda: transfer_stored_value(
                from_member=sender,
                to_member=data["to_member"],
                amount=data["amount"],
                reason=data["reason"],
                store=data["store"],
                source=Source.ADMIN,
                actor=request.user,
                key=f"admin-transfer:{data['token']}",
            ),
        ):
            messages.success(request, gettext("Transfer done."))
        return None
    return action_form_page(
        request,
        queryset,
        form,
        gettext("Transfer stored value to another member"),
        "transfer_action",
    )


# --- rules -----------------------------------------------------------------------------------


@admin.register(RechargePlan)
class RechargePlanAdmin(HistoryAdmin):
    list_display = [
        "code",
        "name",
        money_column("pay_amount", model=RechargePlan),
        money_column("bonus_amount", model=RechargePlan),
        "bonus_points",
        "starts_at",
        "ends_at",
        "is_active",
    ]
    list_filter = ["is_active"]
    search_fields = ["=code", "name"]
    filter_horizontal = ["stores"]


# --- read-only ledgers and records -----------------------------------------------------------


@admin.register(WalletEntry)
class WalletEntryAdmin(MemberSearchMixin, StoreScopedAdminMixin, ReadOnlyAdmin):
    # Newest first by id: rows are appended as they happen, and the primary key orders tens of
    # millions of them without a sort (the model's -created_at ordering would sort them all).
    ordering = ["-id"]
    store_field = "store"
    list_display = [
        "created_at",
        "wallet",
        "kind",
        money_column("principal", model=WalletEntry),
        money_column("bonus", model=WalletEntry),
        money_column("principal_after", model=WalletEntry),
        money_column("bonus_after", model=WalletEntry),
        "store",
        "source",
        "actor",
        "reference",
    ]
    list_filter = ["kind", "source", "store"]
    list_select_related = ["wallet__member", "store", "actor"]
    search_fields = ["=wallet__member__member_no"]  # (shows the box) see MemberSearchMixin
    member_search_path = "wallet__member_id"
    raw_id_fields = ["wallet", "reverses", "plan"]

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path(
                "reports/liability/",
                view(self.liability_view),
                name="wallet_liability",
            ),
            path("reports/flows/", view(self.flows_view), name="wallet_flows"),
            *super().get_urls(),
        ]

    def _check_report_permission(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied

    def liability_view(self, request):
        """Stored value outstanding per home store and for the chain; ?format=xlsx exports."""
        self._check_report_permission(request)
        rows, total = wallet_reports.liability_by_store(request.user)
        title = gettext("Stored-value liability")
        total_label = total_label_for(request.user)
        if request.GET.get("format") == "xlsx":
            return _xlsx_response(
                wallet_reports.to_xlsx(
                    title, wallet_reports.LIABILITY_COLUMNS, rows, total, total_label=total_label
                ),
                "stored-value-liability.xlsx",
            )
        return TemplateResponse(
            request,
            "admin/wallet/wallet_liability.html",
            {
                **self.admin_site.each_context(request),
                "title": title,
                "rows": rows,
                "total": total,
                "total_label": total_label,
                "opts": self.model._meta,
                "flows_url": reverse("admin:wallet_flows"),
            },
        )

    def flows_view(self, request):
        """Recharges and spend by day and store over a date range (default: last 30 days)."""
        self._check_report_permission(request)
        today = timezone.localdate()
        form = ReportRangeForm(request.GET or None)
        date_from, date_to = today - timedelta(days=29), today
        if form.is_valid():
            date_from = form.cleaned_data["date_from"] or date_from
            date_to = form.cleaned_data["date_to"] or date_to
        rows = wallet_reports.flows_by_day_and_store(request.user, date_from, date_to)
        title = gettext("Recharges and spend by day and store")
        if request.GET.get("format") == "xlsx":
            return _xlsx_response(
                wallet_reports.to_xlsx(title, wallet_reports.FLOW_COLUMNS, rows),
                f"stored-value-flows-{date_from}-{date_to}.xlsx",
            )
        return TemplateResponse(
            request,
            "admin/wallet/wallet_flows.html",
            {
                **self.admin_site.each_context(request),
                "title": title,
                "rows": rows,
                "form": form,
                "date_from": date_from,
                "date_to": date_to,
                "opts": self.model._meta,
                "liability_url": reverse("admin:wallet_liability"),
            },
        )


def total_label_for(user):
    """全连锁合计 for head office; a store's staff see the total of their own stores only, and
    it says so."""
    if allowed_store_ids(user) is None:
        return gettext("Chain total")
    return gettext("Total of my stores")


class ReportRangeForm(forms.Form):
    date_from = forms.DateField(label=_("from"), required=False)
    date_to = forms.DateField(label=_("to"), required=False)


def _xlsx_response(content, filename):
    return excel.download(content, filename)


@admin.register(Wallet)
class WalletAdmin(StoreScopedAdminMixin, ReadOnlyAdmin):
    store_field = "member__home_store"
    list_display = [
        "member",
        money_column("principal", model=Wallet),
        money_column("bonus", model=Wallet),
        "updated_at",
    ]
    list_select_related = ["member"]
    search_fields = ["=member__member_no", "^member__phone"]
    raw_id_fields = ["member"]


@admin.register(Transfer)
class TransferAdmin(StoreScopedAdminMixin, ReadOnlyAdmin):
    store_field = "from_member__home_store"
    list_display = [
        "created_at",
        "from_member",
        "to_member",
        money_column("amount", model=Transfer),
        "reason",
        "actor",
    ]
    list_select_related = ["from_member", "to_member", "actor"]
    raw_id_fields = ["from_member", "to_member", "out_entry", "in_entry"]


# --- approval queue --------------------------------------------------------------------------


@admin.register(WithdrawalRequest)
class WithdrawalRequestAdmin(StoreScopedAdminMixin, ReadOnlyAdmin):
    """The queue head office works through: pending first; approve or reject in bulk."""

    store_field = "member__home_store"
    list_display = [
        "requested_at",
        "member",
        money_column("amount", model=WithdrawalRequest),
        "reason",
        "status",
        "requested_by",
        "decided_by",
        "decided_at",
    ]
    list_filter = ["status"]
    list_select_related = ["member", "requested_by", "decided_by"]
    raw_id_fields = ["member", "entry", "forfeit_entry"]
    actions = ["approve_selected", "reject_selected"]

    def get_queryset(self, request):
        pending_first = Case(
            When(status=WithdrawalRequest.Status.PENDING, then=Value(0)),
            default=Value(1),
            output_field=IntegerField(),
        )
        return super().get_queryset(request).order_by(pending_first, "-requested_at")

    def has_approve_permission(self, request):
        return request.user.has_perm("wallet.approve_withdrawal")

    def _decide(self, request, queryset, service, done_message):
        done = 0
        for req in queryset.filter(status=WithdrawalRequest.Status.PENDING):
            done += run_for_member(
                request,
                req.member,
                lambda r=req: service(request=r, actor=request.user, source=Source.ADMIN),
            )
        if done:
            messages.success(request, done_message % {"count": done})

    @admin.action(description=_("Approve and pay out"), permissions=["approve"])
    def approve_selected(self, request, queryset):
        self._decide(
            request, queryset, approve_withdrawal, gettext("%(count)d withdrawals paid out.")
        )

    @admin.action(description=_("Reject"), permissions=["approve"])
    def reject_selected(self, request, queryset):
        self._decide(
            request, queryset, reject_withdrawal, gettext("%(count)d withdrawals rejected.")
        )


@admin.display(description=_("stored value"))
def stored_value_column(member):
    wallet = getattr(member, "wallet", None)
    return format_money(wallet.balance if wallet else Decimal("0.00"))


# --- the member page's 充值 button ----------------------------------------------------------


def stored_value_facts(member):
    wallet = Wallet.objects.filter(member=member).first()
    principal = wallet.principal if wallet else Decimal("0.00")
    bonus = wallet.bonus if wallet else Decimal("0.00")
    return [
        (
            gettext("stored value"),
            gettext("%(balance)s (principal %(principal)s, bonus %(bonus)s)")
            % {
                "balance": format_money(principal + bonus, currency=True),
                "principal": format_money(principal, currency=True),
                "bonus": format_money(bonus, currency=True),
            },
        )
    ]


def recharge_view(request, member):
    form = RechargeForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        done = run_counter_service(
            request,
            form,
            member,
            lambda: recharge_wallet(
                member=member,
                amount=data["amount"],
                plan=data["plan"],
                store=data["store"],
                source=Source.ADMIN,
                actor=request.user,
                reference=data["reference"],
                key=f"admin-recharge:{data['token']}:{member.pk}",
            ),
            gettext("Recharged."),
        )
        if done:
            return done
    plans = ", ".join(f"{p.name}" for p in active_recharge_plans()) or "-"
    return counter_form_page(
        request,
        member,
        title=gettext("Recharge stored value"),
        form=form,
        facts=[
            *stored_value_facts(member),
            (gettext("recharge plans now"), plans),
            (gettext("approval threshold"), gettext("none: a recharge posts at once")),
        ],
        submit_label=gettext("Recharge"),
    )


@admin.display(description=_("stored-value history"))
def stored_value_history(member):
    return wallet_panel(member)


def can_recharge(request, member=None):
    return request.user.has_perm("members.change_member")


MemberAdmin.extend(
    columns={"stored_value": stored_value_column},
    panels={"stored_value_history": stored_value_history},
    actions=[recharge_action, withdrawal_request_action, transfer_action],
    select_related=["wallet"],
    buttons=[
        CounterButton(
            name="recharge", label=_("Recharge"), view=recharge_view, allowed=can_recharge
        )
    ],
)


# --- stored-value adjustments: the maker-checker queue -----------------------------------------


class StoredValueAdjustmentForm(forms.ModelForm):
    class Meta:
        model = StoredValueAdjustment
        fields = ["member", "principal", "bonus", "reason", "store"]


@admin.register(StoredValueAdjustment)
class StoredValueAdjustmentAdmin(StoreScopedAdminMixin, admin.ModelAdmin):
    """Ask for a stored-value correction (储值调整); above the threshold it waits here for a
    second head-office user: filter by status, then approve or reject."""

    store_field = "member__home_store"
    form = StoredValueAdjustmentForm
    list_display = [
        "created_at",
        "member",
        money_column("principal", model=StoredValueAdjustment),
        money_column("bonus", model=StoredValueAdjustment),
        "reason",
        "status",
        "requested_by",
        "decided_by",
    ]
    list_filter = ["status"]
    list_select_related = ["member", "requested_by", "decided_by"]
    raw_id_fields = ["member"]
    actions = ["approve", "reject"]
    show_full_result_count = False

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False

    def has_approve_permission(self, request):
        return request.user.has_perm("wallet.approve_storedvalueadjustment")

    def save_model(self, request, obj, form, change):
        try:
            saved = adjust_stored_value(
                member=obj.member,
                principal=obj.principal,
                bonus=obj.bonus,
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
            count += run_for_member(
                request,
                adjustment.member,
                lambda a=adjustment: service(adjustment=a, actor=request.user, source=Source.ADMIN),
            )
        if count:
            self.message_user(request, done % {"count": count}, messages.SUCCESS)

    @admin.action(description=_("Approve the selected adjustments"), permissions=["approve"])
    def approve(self, request, queryset):
        self._decide(
            request, queryset, approve_stored_value_adjustment, gettext("%(count)d approved.")
        )

    @admin.action(description=_("Reject the selected adjustments"), permissions=["approve"])
    def reject(self, request, queryset):
        self._decide(
            request, queryset, reject_stored_value_adjustment, gettext("%(count)d rejected.")
        )
