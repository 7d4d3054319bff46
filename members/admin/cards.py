"""Card batches (批量开卡) and cards: generate, export for the printer, report lost."""

from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core import excel
from core.admin import money_column
from core.errors import DomainError
from core.models import Source
from members.models import Card, CardBatch, Tier
from members.services import generate_card_batch, report_card_lost_and_replace
from stores.access import StoreScopedAdminMixin

from .common import EstimatedCountPaginator, apply_domain_error
from .members import MAX_POINTS

# generate_card_batch's own limit, checked by the form first.
MAX_CARDS_PER_BATCH = 100_000


class CardBatchForm(forms.Form):
    prefix = forms.CharField(label=gettext_lazy("prefix"), max_length=8)
    count = forms.IntegerField(
        label=gettext_lazy("number of cards"), min_value=1, max_value=MAX_CARDS_PER_BATCH
    )
    initial_tier = forms.ModelChoiceField(
        label=gettext_lazy("initial tier"), queryset=Tier.objects.all(), required=False
    )
    initial_points = forms.IntegerField(
        label=gettext_lazy("initial points"), initial=0, min_value=0, max_value=MAX_POINTS
    )
    initial_stored_value = forms.DecimalField(
        label=gettext_lazy("initial stored value"),
        max_digits=12,
        decimal_places=2,
        min_value=Decimal("0.00"),
        initial=Decimal("0.00"),
    )
    notes = forms.CharField(label=gettext_lazy("notes"), max_length=200, required=False)


def write_cards_xlsx(batch, target):
    """The batch's card numbers for the card printer, streamed (write-only workbook)."""
    workbook = excel.Book()
    sheet = workbook.sheet(_("Cards"))
    sheet.header([_("card no"), _("batch"), _("status")])
    label = str(batch)
    statuses = dict(Card.Status.choices)
    cards = batch.cards.order_by("card_no").values_list("card_no", "status")
    for card_no, status in cards.iterator(chunk_size=5000):
        sheet.row([excel.text(card_no), label, statuses.get(status, status)])
    workbook.save(target)


@admin.register(CardBatch)
class CardBatchAdmin(admin.ModelAdmin):
    list_display = [
        "prefix", "count", "first_serial", "initial_tier", "initial_points",
        money_column("initial_stored_value", model=CardBatch), "created_by", "created_at",
    ]  # fmt: skip
    readonly_fields = [f.name for f in CardBatch._meta.fields]
    actions = ["export_cards"]

    def has_change_permission(self, request, obj=None):
        return False if obj is not None else super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False

    def add_view(self, request, form_url="", extra_context=None):
        """Generate a batch: one call of generate_card_batch."""
        if not self.has_add_permission(request):
            return self.changeform_view(request, None, form_url, extra_context)
        form = CardBatchForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                batch = generate_card_batch(
                    source=Source.ADMIN, actor=request.user, **form.cleaned_data
                )
            except DomainError as error:
                apply_domain_error(request, form, error)
            else:
                self.log_addition(request, batch, [{"added": {}}])
                messages.success(request, _("%(count)d cards generated.") % {"count": batch.count})
                return HttpResponseRedirect(reverse("admin:members_cardbatch_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Generate a card batch"),
            "form": form,
            "media": self.media,
        }
        return TemplateResponse(request, "admin/members/open_member.html", context)

    @admin.action(description=gettext_lazy("Export cards to Excel for printing"))
    def export_cards(self, request, queryset):
        batch = queryset.order_by("pk").first()
        response = excel.attachment(f"cards-{batch.pk}.xlsx")
        write_cards_xlsx(batch, response)
        return response


class ReplaceCardForm(forms.Form):
    new_card_no = forms.CharField(label=gettext_lazy("new card no"), max_length=20)


@admin.register(Card)
class CardAdmin(StoreScopedAdminMixin, admin.ModelAdmin):
    store_field = "member__home_store"
    list_display = ["card_no", "status", "member", "batch", "activated_at"]
    list_filter = ["status"]
    search_fields = ["=card_no"]
    list_select_related = ["member", "batch"]
    raw_id_fields = ["member", "batch", "replaced_by"]
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    readonly_fields = [f.name for f in Card._meta.fields]
    actions = ["report_lost"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description=gettext_lazy("Report lost and replace"), permissions=["change"])
    def report_lost(self, request, queryset):
        if queryset.count() != 1:
            messages.error(request, _("Select exactly one card."))
            return None
        card = queryset.get()
        form = ReplaceCardForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            try:
                new = report_card_lost_and_replace(
                    card=card,
                    new_card_no=form.cleaned_data["new_card_no"],
                    source=Source.ADMIN,
                    actor=request.user,
                )
            except DomainError as error:
                messages.error(request, error.message)
                return None
            messages.success(
                request,
                _("Card %(old)s reported lost; the member now holds %(new)s.")
                % {"old": card.card_no, "new": new.card_no},
            )
            return None
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Report lost and replace"),
            "form": form,
            "action": "report_lost",
            "count": 1,
            "selected": [card.pk],
            "select_across": "0",
        }
        return TemplateResponse(request, "admin/members/action_form.html", context)
