"""Admin for count cards: packages, members' cards (use a visit, renew), the read-only ledger,
and what the member page shows of count cards (its panel and the sell-a-card action, added to
MemberAdmin at the end of this module). Thin: every form ends in a service call."""

from django import forms
from django.contrib import admin, messages
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.admin import HistoryAdmin, ReadOnlyAdmin, money_column
from core.formatting import format_money
from core.models import Source
from members.admin import MemberAdmin
from members.admin.common import (
    CounterButton,
    MemberActionForm,
    counter_form_page,
    for_each_member,
    run_counter_service,
    run_for_member,
)
from stores.access import StoreScopedAdminMixin, allowed_store_ids
from stores.models import Store
from wallet.admin import stored_value_facts

from .models import CountCardEntry, CountCardPackage, MemberCountCard
from .services import renew_count_card, sell_count_card, use_count_card_visit

PANEL_ENTRIES = 20


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
        "admin/countcards/count_cards_panel.html",
        {"cards": cards, "entries": entries, "now": timezone.now()},
    )


@admin.register(CountCardPackage)
class CountCardPackageAdmin(HistoryAdmin):
    list_display = [
        "code",
        "name",
        "visits",
        money_column("price", model=CountCardPackage),
        "valid_days",
        "is_active",
    ]
    list_filter = ["is_active"]
    search_fields = ["=code", "name"]


class SellCountCardForm(MemberActionForm):
    package = forms.ModelChoiceField(
        queryset=CountCardPackage.objects.filter(is_active=True), label=_("package")
    )
    pay_from_stored_value = forms.BooleanField(label=_("pay from stored value"), required=False)


@admin.action(description=_("Sell a count card"), permissions=["change"])
def sell_count_card_action(modeladmin, request, queryset):
    """Sell a count-card package to the selected members (cash, or from their stored value)."""
    form = SellCountCardForm(request.POST if "apply" in request.POST else None, user=request.user)
    return for_each_member(
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
class MemberCountCardAdmin(StoreScopedAdminMixin, ReadOnlyAdmin):
    """Members' count cards; staff use a visit (核销) or renew (续次) from the list."""

    store_field = "member__home_store"
    actions = ["use_visit_selected", "renew_selected"]

    def has_use_permission(self, request):
        return request.user.has_perm("countcards.change_membercountcard")

    def _each(self, request, queryset, service, done_message):
        done = 0
        # Where the visit happened: the user's store when they have exactly one.
        ids = allowed_store_ids(request.user)
        store = Store.objects.get(pk=next(iter(ids))) if ids and len(ids) == 1 else None
        for card in queryset.select_related("member"):
            done += run_for_member(
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
class CountCardEntryAdmin(StoreScopedAdminMixin, ReadOnlyAdmin):
    # Newest first by id: rows are appended as they happen, and the primary key orders tens of
    # millions of them without a sort (the model's -created_at ordering would sort them all).
    ordering = ["-id"]
    store_field = "store"
    list_display = [
        "created_at",
        "card",
        "kind",
        "visits",
        "visits_after",
        "expires_after",
        money_column("amount", model=CountCardEntry),
        "store",
        "source",
        "actor",
    ]
    list_filter = ["kind", "source"]
    list_select_related = ["card__package", "card__member", "store", "actor"]
    raw_id_fields = ["card", "wallet_entry"]


@admin.display(description=_("count cards"))
def count_cards_history(member):
    return count_cards_panel(member)


# --- the member page's 售次卡 and 续次 buttons --------------------------------------------------


def _cards_fact(member):
    now = timezone.now()
    cards = MemberCountCard.objects.filter(member=member).select_related("package")
    text = "; ".join(
        gettext("%(name)s: %(left)d left, until %(until)s%(expired)s")
        % {
            "name": card.package.name,
            "left": card.visits_left,
            "until": timezone.localtime(card.expires_at).date(),
            "expired": gettext(" (expired)") if card.expires_at <= now else "",
        }
        for card in cards.order_by("-created_at")
    )
    return (gettext("count cards"), text or "-")


def sell_count_card_view(request, member):
    form = SellCountCardForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        done = run_counter_service(
            request,
            form,
            member,
            lambda: sell_count_card(
                member=member,
                package=data["package"],
                store=data["store"],
                pay_from_stored_value=data["pay_from_stored_value"],
                source=Source.ADMIN,
                actor=request.user,
                key=f"admin-countcard:{data['token']}:{member.pk}",
            ),
            lambda card: gettext("Count card %(name)s sold.") % {"name": card.package.name},
        )
        if done:
            return done
    return counter_form_page(
        request,
        member,
        title=gettext("Sell a count card"),
        form=form,
        facts=[*stored_value_facts(member), _cards_fact(member)],
        submit_label=gettext("Sell"),
    )


class RenewCountCardForm(MemberActionForm):
    card = forms.ModelChoiceField(queryset=MemberCountCard.objects.none(), label=_("count card"))
    pay_from_stored_value = forms.BooleanField(label=_("pay from stored value"), required=False)

    def __init__(self, *args, member, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["card"].queryset = MemberCountCard.objects.filter(
            member=member
        ).select_related("package")
        self.fields["card"].label_from_instance = lambda card: gettext(
            "%(name)s (%(left)d left, until %(until)s): +%(visits)d visits, +%(days)d days "
            "for %(price)s"
        ) % {
            "name": card.package.name,
            "left": card.visits_left,
            "until": timezone.localtime(card.expires_at).date(),
            "visits": card.package.visits,
            "days": card.package.valid_days,
            "price": format_money(card.package.price, currency=True),
        }


def renew_count_card_view(request, member):
    form = RenewCountCardForm(request.POST or None, user=request.user, member=member)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        done = run_counter_service(
            request,
            form,
            member,
            lambda: renew_count_card(
                card=data["card"],
                store=data["store"],
                pay_from_stored_value=data["pay_from_stored_value"],
                source=Source.ADMIN,
                actor=request.user,
                key=f"admin-renew:{data['token']}:{data['card'].pk}",
            ),
            gettext("Count card renewed."),
        )
        if done:
            return done
    return counter_form_page(
        request,
        member,
        title=gettext("Renew a count card"),
        form=form,
        facts=[*stored_value_facts(member), _cards_fact(member)],
        submit_label=gettext("Renew"),
    )


def _may_sell(request, member):
    return request.user.has_perm("members.change_member")


def _may_renew(request, member):
    return (
        request.user.has_perm("countcards.change_membercountcard")
        and MemberCountCard.objects.filter(member=member).exists()
    )


MemberAdmin.extend(
    panels={"count_cards_history": count_cards_history},
    actions=[sell_count_card_action],
    buttons=[
        CounterButton(
            name="sell-count-card",
            label=_("Sell a count card"),
            view=sell_count_card_view,
            allowed=_may_sell,
        ),
        CounterButton(
            name="renew-count-card",
            label=_("Renew a count card"),
            view=renew_count_card_view,
            allowed=_may_renew,
        ),
    ],
)
