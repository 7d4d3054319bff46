"""Admin for stored value and count cards: plans, packages, approval queue, read-only ledgers,
reports, member-page panels and the member actions (recharge, withdrawal request, transfer).

Thin: every form ends in a service call; a DomainError becomes an error message. The member
admin (owned elsewhere) shows `wallet_panel(member)` / `count_cards_panel(member)` and lists
`recharge_action`, `withdrawal_request_action`, `transfer_action`, `sell_count_card_action`
in its `actions`.
"""

import uuid
from datetime import timedelta
from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.exceptions import PermissionDenied
from django.db.models import Case, IntegerField, Q, Value, When
from django.http import HttpResponse
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from config.errors import DomainError
from stores.access import StoreScopedAdminMixin, allowed_store_ids, scope_queryset
from stores.models import Source, Store

from . import wallet_reports
from .models import (
    CountCardEntry,
    CountCardPackage,
    Member,
    MemberCountCard,
    RechargePlan,
    Transfer,
    Wallet,
    WalletEntry,
    WithdrawalRequest,
)
from .services import (
    active_recharge_plans,
    approve_withdrawal,
    recharge_wallet,
    reject_withdrawal,
    renew_count_card,
    request_withdrawal,
    sell_count_card,
    transfer_stored_value,
    use_count_card_visit,
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
        "admin/members/wallet_panel.html",
        {"wallet": wallet, "entries": entries, "member": member},
    )


def count_cards_panel(member):
    """HTML: the member's count cards with visits left, expiry and latest entries."""
    cards = list(
        MemberCountCard.objects.filter(member=member)
        .select_related("package", "store")
        .order_by("-created_at")
    )
    entries = list(
        CountCardEntry.objects.filter(card__member=member)
        .select_related("card__package", "store", "actor")
        .order_by("-created_at", "-id")[:PANEL_ENTRIES]
    )
    return render_to_string(
        "admin/members/count_cards_panel.html",
        {"cards": cards, "entries": entries, "now": timezone.now()},
    )


# --- member actions with intermediate forms --------------------------------------------------


def _stores_for(user):
    return scope_queryset(Store.objects.filter(is_active=True), user, "id")


class _ActionForm(forms.Form):
    # A token per rendered form makes a double click (or a resubmitted page) a no-op: it goes
    # into the services' idempotency keys.
    token = forms.CharField(widget=forms.HiddenInput)
    store = forms.ModelChoiceField(queryset=Store.objects.none(), label=_("store"))

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["store"].queryset = _stores_for(user)
        if not self.is_bound:
            self.initial["token"] = uuid.uuid4().hex


class RechargeForm(_ActionForm):
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


class WithdrawalRequestForm(_ActionForm):
    amount = forms.DecimalField(
        label=_("principal to pay out"),
        max_digits=12,
        decimal_places=2,
        min_value=Decimal("0.01"),
        required=False,
        help_text=_("Leave empty for all of the principal."),
    )
    reason = forms.CharField(label=_("reason"), max_length=200)


class TransferForm(_ActionForm):
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


def _intermediate(request, queryset, form, title, action):
    return TemplateResponse(
        request,
        "admin/members/wallet_action.html",
        {
            **admin.site.each_context(request),
            "title": title,
            "form": form,
            "queryset": queryset,
            "action": action,
            "opts": queryset.model._meta,
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
        },
    )


def _run(request, member, fn):
    try:
        fn()
    except DomainError as exc:
        detail = "; ".join(f"{k}: {', '.join(map(str, v))}" for k, v in exc.fields.items())
        messages.error(request, f"{member}: {exc.message} {detail}".strip())
        return False
    return True


def _for_each_member(request, queryset, form, title, action, call, done_message):
    """The shape of a per-member action: the intermediate form until it is valid, then the
    service once per selected member (a refusal becomes a message), then one summary."""
    if not form.is_valid():
        return _intermediate(request, queryset, form, title, action)
    data = form.cleaned_data
    done = sum(_run(request, member, lambda m=member: call(m, data)) for member in queryset)
    if done:
        messages.success(request, done_message % {"count": done})
    return None


@admin.action(description=_("Recharge stored value"), permissions=["change"])
def recharge_action(modeladmin, request, queryset):
    """Recharge (cash at the service desk) the selected members, optionally under a plan."""
    form = RechargeForm(request.POST if "apply" in request.POST else None, user=request.user)
    return _for_each_member(
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
    return _for_each_member(
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
        if _run(
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
    return _intermediate(
        request,
        queryset,
        form,
        gettext("Transfer stored value to another member"),
        "transfer_action",
    )


# --- rules -----------------------------------------------------------------------------------


@admin.register(RechargePlan)
class RechargePlanAdmin(admin.ModelAdmin):
    list_display = [
        "code",
        "name",
        "pay_amount",
        "bonus_amount",
        "bonus_points",
        "starts_at",
        "ends_at",
        "is_active",
    ]
    list_filter = ["is_active"]
    search_fields = ["=code", "name"]
    filter_horizontal = ["stores"]


@admin.register(CountCardPackage)
class CountCardPackageAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "visits", "price", "valid_days", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["=code", "name"]


# --- read-only ledgers and records -----------------------------------------------------------


class _ReadOnlyAdmin(admin.ModelAdmin):
    """Ledgers and records are written by services only; the admin shows them."""

    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(WalletEntry)
class WalletEntryAdmin(StoreScopedAdminMixin, _ReadOnlyAdmin):
    store_field = "store"
    list_display = [
        "created_at",
        "wallet",
        "kind",
        "principal",
        "bonus",
        "principal_after",
        "bonus_after",
        "store",
        "source",
        "actor",
        "reference",
    ]
    list_filter = ["kind", "source", "store"]
    list_select_related = ["wallet__member", "store", "actor"]
    search_fields = ["=wallet__member__member_no", "^wallet__member__phone", "=reference"]
    raw_id_fields = ["wallet", "reverses", "plan"]

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path(
                "reports/liability/",
                view(self.liability_view),
                name="members_wallet_liability",
            ),
            path("reports/flows/", view(self.flows_view), name="members_wallet_flows"),
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
        if request.GET.get("format") == "xlsx":
            return _xlsx_response(
                wallet_reports.to_xlsx(title, wallet_reports.LIABILITY_COLUMNS, rows, total),
                "stored-value-liability.xlsx",
            )
        return TemplateResponse(
            request,
            "admin/members/wallet_liability.html",
            {
                **self.admin_site.each_context(request),
                "title": title,
                "rows": rows,
                "total": total,
                "opts": self.model._meta,
                "flows_url": reverse("admin:members_wallet_flows"),
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
            "admin/members/wallet_flows.html",
            {
                **self.admin_site.each_context(request),
                "title": title,
                "rows": rows,
                "form": form,
                "date_from": date_from,
                "date_to": date_to,
                "opts": self.model._meta,
                "liability_url": reverse("admin:members_wallet_liability"),
            },
        )


class ReportRangeForm(forms.Form):
    date_from = forms.DateField(label=_("from"), required=False)
    date_to = forms.DateField(label=_("to"), required=False)


def _xlsx_response(content, filename):
    response = HttpResponse(
        content,
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@admin.register(Wallet)
class WalletAdmin(StoreScopedAdminMixin, _ReadOnlyAdmin):
    store_field = "member__home_store"
    list_display = ["member", "principal", "bonus", "updated_at"]
    list_select_related = ["member"]
    search_fields = ["=member__member_no", "^member__phone"]
    raw_id_fields = ["member"]


@admin.register(Transfer)
class TransferAdmin(StoreScopedAdminMixin, _ReadOnlyAdmin):
    store_field = "from_member__home_store"
    list_display = ["created_at", "from_member", "to_member", "amount", "reason", "actor"]
    list_select_related = ["from_member", "to_member", "actor"]
    raw_id_fields = ["from_member", "to_member", "out_entry", "in_entry"]


class SellCountCardForm(_ActionForm):
    package = forms.ModelChoiceField(
        queryset=CountCardPackage.objects.filter(is_active=True), label=_("package")
    )
    pay_from_stored_value = forms.BooleanField(label=_("pay from stored value"), required=False)


@admin.action(description=_("Sell a count card"), permissions=["change"])
def sell_count_card_action(modeladmin, request, queryset):
    """Sell a count-card package to the selected members (cash, or from their stored value)."""
    form = SellCountCardForm(request.POST if "apply" in request.POST else None, user=request.user)
    return _for_each_member(
        request,
        queryset,
        form,
        gettext("Sell a count card"),
        "sell_count_card_action",
        lambda m, data: sell_count_card(
            member=m,
            package=data["package"],
            store=data["store"],
            pay_from_stored_value=data["pay_from_stored_value"],
            source=Source.ADMIN,
            actor=request.user,
            key=f"admin-countcard:{data['token']}:{m.pk}",
        ),
        gettext("%(count)d count cards sold."),
    )


@admin.register(MemberCountCard)
class MemberCountCardAdmin(StoreScopedAdminMixin, _ReadOnlyAdmin):
    """Members' count cards; staff use a visit (核销) or renew (续次) from the list."""

    store_field = "member__home_store"
    actions = ["use_visit_selected", "renew_selected"]

    def has_use_permission(self, request):
        return request.user.has_perm("members.change_membercountcard")

    def _each(self, request, queryset, service, done_message):
        done = 0
        # Where the visit happened: the user's store when they have exactly one.
        ids = allowed_store_ids(request.user)
        store = Store.objects.get(pk=next(iter(ids))) if ids and len(ids) == 1 else None
        for card in queryset.select_related("member"):
            done += _run(
                request,
                card.member,
                lambda c=card: service(
                    card=c, source=Source.ADMIN, actor=request.user, store=store
                ),
            )
        if done:
            messages.success(request, done_message % {"count": done})

    @admin.action(description=_("Use one visit"), permissions=["use"])
    def use_visit_selected(self, request, queryset):
        self._each(request, queryset, use_count_card_visit, gettext("%(count)d visits used."))

    @admin.action(description=_("Renew (add the package's visits and days)"), permissions=["use"])
    def renew_selected(self, request, queryset):
        self._each(request, queryset, renew_count_card, gettext("%(count)d count cards renewed."))

    list_display = ["member", "package", "visits_left", "expires_at", "store", "created_at"]
    list_filter = ["package"]
    list_select_related = ["member", "package", "store"]
    search_fields = ["=member__member_no", "^member__phone"]
    raw_id_fields = ["member"]


@admin.register(CountCardEntry)
class CountCardEntryAdmin(StoreScopedAdminMixin, _ReadOnlyAdmin):
    store_field = "store"
    list_display = [
        "created_at",
        "card",
        "kind",
        "visits",
        "visits_after",
        "expires_after",
        "amount",
        "store",
        "source",
        "actor",
    ]
    list_filter = ["kind", "source"]
    list_select_related = ["card__package", "card__member", "store", "actor"]
    raw_id_fields = ["card", "wallet_entry"]


# --- approval queue --------------------------------------------------------------------------


@admin.register(WithdrawalRequest)
class WithdrawalRequestAdmin(StoreScopedAdminMixin, _ReadOnlyAdmin):
    """The queue head office works through: pending first; approve or reject in bulk."""

    store_field = "member__home_store"
    list_display = [
        "requested_at",
        "member",
        "amount",
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
        return request.user.has_perm("members.approve_withdrawal")

    def _decide(self, request, queryset, service, done_message):
        done = 0
        for req in queryset.filter(status=WithdrawalRequest.Status.PENDING):
            done += _run(
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
