"""Admin for coupons (优惠券): templates with their versioned terms and a preview of what a
sample basket gets, print runs, the issued coupons (filters, Excel export, void), the coupon
event ledger, and what the member page shows of coupons (its panel, and the issue and
exchange-for-points actions, added to MemberAdmin at the end of this module).

Thin: every form ends in a service call; a DomainError becomes a message or a form error.
"""

import uuid
from decimal import Decimal, InvalidOperation

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.forms.models import fields_for_model
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.admin import EstimatedCountPaginator, HistoryAdmin, ReadOnlyAdmin, ReadOnlyInline
from core.errors import DomainError
from core.models import Source
from core.templatetags.formatting import money
from members.admin import MemberAdmin
from members.admin.common import (
    MemberActionForm,
    apply_domain_error,
    for_each_member,
    start_background_job,
)
from members.bulk import start_file_job
from stores.access import StoreScopedAdminMixin
from stores.models import Store

from . import exports, terms
from .exceptions import InvalidCouponTemplate
from .models import Coupon, CouponEvent, CouponTemplate, CouponTemplateVersion
from .services import (
    TERMS_FIELDS,
    check_terms,
    exchange_points_for_coupon,
    exchangeable_templates,
    issue_coupon,
    preview_basket,
    print_coupons,
    save_coupon_template,
    void_coupon,
)

PANEL_COUPONS = 30


# --- templates -------------------------------------------------------------------------------


# The terms' fields (CouponTemplateVersion), declared once so the template form shows them
# beside the template's own.
def _terms_fields():
    """The terms' form fields, each keeping its model field's validators (no negative money,
    at most 100%, the column's range): the form checks them before anything is saved."""
    found = fields_for_model(CouponTemplateVersion, fields=TERMS_FIELDS)
    for name, field in found.items():
        field.validators = [
            *field.validators,
            *CouponTemplateVersion._meta.get_field(name).validators,
        ]
    return found


TermsFields = type(
    "TermsFields",
    (forms.Form,),
    {
        **_terms_fields(),
        "store_list": forms.ModelMultipleChoiceField(
            queryset=Store.objects.filter(is_active=True).order_by("code"),
            required=False,
            label=_("listed stores"),
            widget=admin.widgets.FilteredSelectMultiple(_("stores"), is_stacked=False),
        ),
    },
)


class CouponTemplateForm(forms.ModelForm, TermsFields):
    """The template and, on the same page, its terms: saving changed terms makes a new
    version (coupons already issued keep theirs)."""

    class Meta:
        model = CouponTemplate
        fields = [
            "code",
            "name",
            "is_active",
            "total_quantity",
            "per_member_limit",
            "claim_from",
            "claim_until",
            "on_registration",
            "on_birthday",
            "on_first_purchase",
            "exchange_points",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        version = self.instance.current_version if self.instance.pk else None
        if version is not None and not self.is_bound:
            for name in TERMS_FIELDS:
                self.initial[name] = getattr(version, name)
            self.initial["store_list"] = list(version.store_list.values_list("pk", flat=True))

    def terms(self):
        return {name: self.cleaned_data.get(name) for name in TERMS_FIELDS}

    def clean(self):
        cleaned = super().clean()
        if not self.errors:
            try:
                check_terms(self.terms(), store_ids=[s.pk for s in cleaned.get("store_list", [])])
            except InvalidCouponTemplate as exc:
                apply_domain_error(None, self, exc)
        return cleaned


class VersionInline(ReadOnlyInline):
    model = CouponTemplateVersion
    verbose_name_plural = _(
        "versions of the terms (coupons keep the version they were issued with)"
    )
    fields = ["number", "summary", "created_at", "created_by"]
    readonly_fields = fields
    ordering = ["-number"]

    @admin.display(description=_("terms"))
    def summary(self, version):
        return terms.describe(version)


class PrintForm(forms.Form):
    token = forms.CharField(widget=forms.HiddenInput)
    count = forms.IntegerField(label=_("how many"), min_value=1, max_value=100_000)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial["token"] = uuid.uuid4().hex


class IssueFileForm(forms.Form):
    token = forms.CharField(widget=forms.HiddenInput)
    file = forms.FileField(
        label=_("file"),
        help_text=_("Excel (.xlsx) or CSV with a 手机号 (or 会员号) column in row 1."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial["token"] = uuid.uuid4().hex


class PreviewForm(forms.Form):
    store = forms.ModelChoiceField(queryset=Store.objects.none(), label=_("store"))
    at = forms.DateTimeField(
        label=_("time of the sale"), required=False, help_text=_("Empty: now.")
    )
    lines = forms.CharField(
        label=_("basket"),
        widget=forms.Textarea(attrs={"rows": 6, "cols": 60}),
        help_text=_(
            "One line per item: SKU, category, quantity, amount. E.g. 1001, fresh, 2, 30.00"
        ),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["store"].queryset = Store.objects.filter(is_active=True).order_by("code")

    def clean_lines(self):
        lines = []
        for number, text in enumerate(self.cleaned_data["lines"].splitlines(), start=1):
            if not text.strip():
                continue
            parts = [p.strip() for p in text.replace("，", ",").split(",")]
            if len(parts) != 4:
                raise forms.ValidationError(
                    gettext("Line %(n)d: write SKU, category, quantity, amount.") % {"n": number}
                )
            sku, category, qty, amount = parts
            try:
                lines.append(
                    {"sku": sku, "name": sku, "category": category, "qty": Decimal(qty),
                     "amount": Decimal(amount)}
                )  # fmt: skip
            except InvalidOperation as exc:
                raise forms.ValidationError(
                    gettext("Line %(n)d: quantity and amount must be numbers.") % {"n": number}
                ) from exc
        if not lines:
            raise forms.ValidationError(gettext("Write at least one line."))
        return lines


SAMPLE_BASKET = "1001, fresh, 2, 30.00\n2002, grocery, 1, 25.00\n3003, dairy, 3, 12.60"


@admin.register(CouponTemplate)
class CouponTemplateAdmin(HistoryAdmin):
    form = CouponTemplateForm
    list_display = [
        "code",
        "name",
        "terms_shown",
        "issued_shown",
        "exchange_points",
        "is_active",
        "automatic",
    ]
    list_filter = ["is_active", "on_registration", "on_birthday", "on_first_purchase"]
    search_fields = ["=code", "name"]
    list_select_related = ["current_version"]
    readonly_fields = ["issued_shown", "preview"]
    inlines = [VersionInline]
    actions = ["print_selected"]
    fieldsets = [
        (None, {"fields": ["code", "name", "is_active", "preview"]}),
        (
            _("What it takes off"),
            {"fields": ["kind", "face_value", "percent_off", "cap", "free_sku", "threshold"]},
        ),
        (_("On which items"), {"fields": ["scope", "categories", "skus", "excluded_categories"]}),
        (
            _("Where and when it works"),
            {"fields": ["stores", "store_list", "weekdays", "hour_from", "hour_until"]},
        ),
        (
            _("How long it lasts"),
            {
                "fields": [
                    "validity",
                    "valid_from",
                    "valid_until",
                    "starts_after_days",
                    "valid_days",
                    "hard_end",
                ]
            },
        ),
        (
            _("Issuing"),
            {
                "fields": [
                    "total_quantity",
                    "issued_shown",
                    "per_member_limit",
                    "claim_from",
                    "claim_until",
                    "on_registration",
                    "on_birthday",
                    "on_first_purchase",
                    "exchange_points",
                ]
            },
        ),
        (
            _("Combining, funding and refunds"),
            {"fields": ["combinable", "funding", "store_share_percent", "refund_policy"]},
        ),
    ]

    def has_delete_permission(self, request, obj=None):
        return False  # coupons name their template; switch it off instead

    @admin.display(description=_("terms"))
    def terms_shown(self, template):
        return terms.describe(template.current_version) if template.current_version else "-"

    @admin.display(description=_("issued / total"))
    def issued_shown(self, template):
        total = template.total_quantity
        return (
            f"{template.issued:,} / {total:,}" if total is not None else f"{template.issued:,} / ∞"
        )

    @admin.display(description=_("issued on its own"))
    def automatic(self, template):
        flags = [
            (template.on_registration, gettext("registration")),
            (template.on_birthday, gettext("birthday")),
            (template.on_first_purchase, gettext("first purchase")),
        ]
        return "、".join(label for on, label in flags if on) or "-"

    @admin.display(description=_("preview"))
    def preview(self, template):
        if not template.pk or template.current_version is None:
            return "-"
        url = reverse("admin:coupons_coupontemplate_preview", args=[template.pk])
        issue = reverse("admin:coupons_coupontemplate_issue_file", args=[template.pk])
        return format_html(
            '<a class="button" href="{}">{}</a> <a class="button" href="{}">{}</a>',
            url,
            gettext("Try a basket"),
            issue,
            gettext("Issue to a list of phones (Excel)"),
        )

    def save_model(self, request, obj, form, change):
        save_coupon_template(
            template=obj,
            terms=form.terms(),
            store_ids=[s.pk for s in form.cleaned_data.get("store_list", [])],
            actor=request.user,
        )

    def save_related(self, request, form, formsets, change):
        form.save_m2m()  # the template has no relations of its own; store_list went with terms
        for formset in formsets:
            self.save_formset(request, form, formset, change)

    def get_urls(self):
        return [
            path(
                "<int:pk>/preview/",
                self.admin_site.admin_view(self.preview_view),
                name="coupons_coupontemplate_preview",
            ),
            path(
                "<int:pk>/issue-file/",
                self.admin_site.admin_view(self.issue_file_view),
                name="coupons_coupontemplate_issue_file",
            ),
            *super().get_urls(),
        ]

    def issue_file_view(self, request, pk):
        """Issue one coupon of this template to each member an Excel file lists (phones or
        member numbers in row 1's 手机号 / 会员号 column): a background job with progress;
        rows it cannot serve come back in an error report with their row numbers."""
        if not request.user.has_perm("coupons.add_coupon"):
            raise PermissionDenied
        template = get_object_or_404(CouponTemplate, pk=pk)
        form = IssueFileForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            job = start_file_job(
                kind="issue_coupons_file",
                upload=form.cleaned_data["file"],
                params={"template": template.pk, "occasion": f"file:{form.cleaned_data['token']}"},
                actor=request.user,
            )
            self.message_user(
                request,
                gettext(
                    "Started in the background as bulk job #%(id)d; its progress is shown here."
                )
                % {"id": job.pk},
                messages.INFO,
            )
            return HttpResponseRedirect(reverse("admin:members_bulkjob_change", args=[job.pk]))
        return TemplateResponse(
            request,
            "admin/coupons/issue_file.html",
            {
                **self.admin_site.each_context(request),
                "title": gettext("Issue %(template)s to a list of phones") % {"template": template},
                "form": form,
                "template": template,
                "opts": self.model._meta,
            },
        )

    def preview_view(self, request, pk):
        """What a sample basket gets from this template's current terms (nothing is issued)."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        template = get_object_or_404(
            CouponTemplate.objects.select_related("current_version"), pk=pk
        )
        data = request.POST if request.method == "POST" else None
        form = PreviewForm(
            data, initial={"lines": SAMPLE_BASKET, "store": Store.objects.order_by("code").first()}
        )
        result = None
        if form.is_bound and form.is_valid():
            result = preview_basket(
                template=template,
                store=form.cleaned_data["store"],
                lines=form.cleaned_data["lines"],
                at=form.cleaned_data["at"],
            )
        return TemplateResponse(
            request,
            "admin/coupons/preview.html",
            {
                **self.admin_site.each_context(request),
                "title": gettext("Preview of %(template)s") % {"template": template},
                "template": template,
                "terms": terms.describe(template.current_version),
                "form": form,
                "result": result,
                "opts": self.model._meta,
            },
        )

    @admin.action(description=_("Print coupons (codes for anonymous coupons, to Excel)"),
                  permissions=["change"])  # fmt: skip
    def print_selected(self, request, queryset):
        if queryset.count() != 1:
            messages.error(request, gettext("Choose one template to print."))
            return None
        template = queryset.get()
        form = PrintForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            try:
                codes = print_coupons(
                    template=template,
                    count=form.cleaned_data["count"],
                    run=form.cleaned_data["token"],
                    source=Source.ADMIN,
                    actor=request.user,
                )
            except DomainError as exc:
                apply_domain_error(request, form, exc)
            else:
                return exports.codes_response(template, codes)
        return TemplateResponse(
            request,
            "admin/coupons/print.html",
            {
                **self.admin_site.each_context(request),
                "title": gettext("Print coupons of %(template)s") % {"template": template},
                "form": form,
                "template": template,
                "action": "print_selected",
                "opts": self.model._meta,
                "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            },
        )


# --- issued coupons --------------------------------------------------------------------------


class VoidForm(forms.Form):
    reason = forms.CharField(label=_("reason"), max_length=200)


@admin.register(Coupon)
class CouponAdmin(StoreScopedAdminMixin, ReadOnlyAdmin):
    """Every coupon issued. A store manager sees the coupons of their store's members."""

    store_field = "owner__home_store"
    list_display = [
        "code",
        "template",
        "owner",
        "status",
        "valid_from",
        "valid_until",
        "used_store",
        "used_reference",
        "used_at",
        "issued_at",
    ]
    list_filter = [
        "status",
        "template",
        "used_store",
        ("issued_at", admin.DateFieldListFilter),
        ("used_at", admin.DateFieldListFilter),
        ("valid_until", admin.DateFieldListFilter),
    ]
    search_fields = ["=code", "=owner__member_no", "=owner__phone"]
    search_help_text = _("Coupon code, member no or the member's full phone.")
    list_select_related = ["template", "owner", "used_store"]
    raw_id_fields = ["owner", "points_entry"]
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    actions = ["void_selected"]
    change_list_template = "admin/coupons/coupon/change_list.html"

    def get_urls(self):
        return [
            path(
                "export/",
                self.admin_site.admin_view(self.export_view),
                name="coupons_coupon_export",
            ),
            *super().get_urls(),
        ]

    def export_view(self, request):
        """The list as filtered on the page, to Excel (every row, not only this page)."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        changelist = self.get_changelist_instance(request)
        return exports.coupons_response(changelist.get_queryset(request))

    def changelist_view(self, request, extra_context=None):
        query = request.GET.copy()
        for name in ("p", "o"):
            query.pop(name, None)
        export_url = reverse("admin:coupons_coupon_export")
        if query:
            export_url += "?" + urlencode(sorted(query.items()))
        return super().changelist_view(request, {**(extra_context or {}), "export_url": export_url})

    def has_void_permission(self, request):
        return request.user.has_perm("coupons.change_coupon")

    @admin.action(description=_("Void (an exchanged coupon gives its points back)"),
                  permissions=["void"])  # fmt: skip
    def void_selected(self, request, queryset):
        form = VoidForm(request.POST if "apply" in request.POST else None)
        if not form.is_valid():
            return TemplateResponse(
                request,
                "admin/coupons/void.html",
                {
                    **self.admin_site.each_context(request),
                    "title": gettext("Void coupons"),
                    "form": form,
                    "queryset": queryset,
                    "action": "void_selected",
                    "opts": self.model._meta,
                    "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
                },
            )
        voided = 0
        for coupon in queryset.select_related("template", "points_entry"):
            try:
                if void_coupon(
                    coupon=coupon,
                    reason=form.cleaned_data["reason"],
                    source=Source.ADMIN,
                    actor=request.user,
                ):
                    voided += 1
                else:
                    messages.warning(
                        request,
                        gettext("%(code)s is %(status)s: only an available coupon is voided.")
                        % {"code": coupon.code, "status": coupon.get_status_display()},
                    )
            except DomainError as exc:
                messages.error(request, f"{coupon.code}: {exc.message}")
        if voided:
            messages.success(request, gettext("%(count)d coupons voided.") % {"count": voided})
        return None


@admin.register(CouponEvent)
class CouponEventAdmin(StoreScopedAdminMixin, ReadOnlyAdmin):
    store_field = "coupon__owner__home_store"
    list_display = [
        "created_at",
        "coupon",
        "kind",
        "discount_shown",
        "reference",
        "store",
        "source",
        "actor",
    ]
    list_filter = ["kind", "source", ("created_at", admin.DateFieldListFilter)]
    search_fields = ["=coupon__code", "=reference"]
    list_select_related = ["coupon", "store", "actor"]
    raw_id_fields = ["coupon"]
    paginator = EstimatedCountPaginator
    show_full_result_count = False

    @admin.display(description=_("discount"), ordering="discount")
    def discount_shown(self, event):
        return money(event.discount)


# --- on the member page ----------------------------------------------------------------------


@admin.display(description=_("coupons"))
def coupons_panel(member):
    """HTML: the member's coupons, newest first, with status and where each was used."""
    coupons = list(
        Coupon.objects.filter(owner=member)
        .select_related("template", "version", "used_store")
        .order_by("-issued_at", "-id")[:PANEL_COUPONS]
    )
    url = reverse("admin:coupons_coupon_changelist") + "?" + urlencode({"q": member.member_no})
    now = timezone.now()
    for coupon in coupons:
        # Past its last second an available coupon is expired, as the statistics count it.
        coupon.status_shown = coupon.get_status_shown(now)
    return render_to_string(
        "admin/coupons/coupons_panel.html",
        {"coupons": coupons, "all_url": url, "now": timezone.now(), "limit": PANEL_COUPONS},
    )


class IssueCouponForm(MemberActionForm):
    template = forms.ModelChoiceField(
        queryset=CouponTemplate.objects.filter(is_active=True, current_version__isnull=False),
        label=_("coupon template"),
    )


class ExchangeCouponForm(MemberActionForm):
    template = forms.ModelChoiceField(queryset=CouponTemplate.objects.none(), label=_("coupon"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        offered = [t.pk for t in exchangeable_templates()]
        self.fields["template"].queryset = CouponTemplate.objects.filter(pk__in=offered)
        self.fields["template"].label_from_instance = lambda t: (
            gettext("%(name)s for %(points)s points")
            % {"name": t.name, "points": f"{t.exchange_points:,}"}
        )


@admin.action(description=_("Issue a coupon"), permissions=["issue_coupon"])
def issue_coupon_action(modeladmin, request, queryset):
    """Issue one coupon of a template to each selected member (once per form: a double click
    issues nothing twice). Every member of the list's filter ("select all"): a background
    job, set-based, with its progress page."""
    form = IssueCouponForm(request.POST if "apply" in request.POST else None, user=request.user)
    if request.POST.get("select_across") == "1":
        if form.is_valid():
            return start_background_job(
                request,
                "issue_coupons",
                {
                    "template": form.cleaned_data["template"].pk,
                    "occasion": f"manual:{form.cleaned_data['token']}",
                },
            )
        return TemplateResponse(
            request,
            "admin/coupons/issue_across.html",
            {
                **modeladmin.admin_site.each_context(request),
                "title": gettext("Issue a coupon"),
                "form": form,
                "count": queryset.count(),
                # Django runs an action only with a member ticked; select_across widens it.
                "first_pk": queryset.values_list("pk", flat=True).first(),
                "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
                "action": "issue_coupon_action",
                "opts": modeladmin.model._meta,
            },
        )
    return for_each_member(
        request,
        queryset,
        form,
        gettext("Issue a coupon"),
        "issue_coupon_action",
        lambda m, data: issue_coupon(
            template=data["template"],
            member=m,
            occasion=f"manual:{data['token']}",
            source=Source.ADMIN,
            actor=request.user,
            store=data["store"],
        ),
        gettext("%(count)d coupons issued."),
    )


@admin.action(description=_("Exchange points for a coupon"), permissions=["exchange_coupon"])
def exchange_coupon_action(modeladmin, request, queryset):
    """The member takes a coupon for its points (积分兑换优惠券), at the service desk."""
    form = ExchangeCouponForm(request.POST if "apply" in request.POST else None, user=request.user)
    return for_each_member(
        request,
        queryset,
        form,
        gettext("Exchange points for a coupon"),
        "exchange_coupon_action",
        lambda m, data: exchange_points_for_coupon(
            member=m,
            template=data["template"],
            exchange_no=f"admin-{data['token'][:20]}-{m.pk}",
            store=data["store"],
            source=Source.ADMIN,
            actor=request.user,
        ),
        gettext("%(count)d coupons taken for points."),
    )


def can_issue_coupons(request):
    """Issuing coupons by hand spends head office's money: head office only."""
    return request.user.has_perm("coupons.add_coupon")


def can_exchange_coupons(request):
    """A member taking a coupon for points at the service desk: whoever serves members there
    (the member list already shows each user only the members of their stores)."""
    return request.user.has_perm("coupons.view_coupontemplate") and request.user.has_perm(
        "members.change_member"
    )


MemberAdmin.extend(
    panels={"coupons_panel": coupons_panel},
    actions=[issue_coupon_action, exchange_coupon_action],
    permissions={"issue_coupon": can_issue_coupons, "exchange_coupon": can_exchange_coupons},
)
