"""Messaging in the admin (会员触达): templates per message type and channel, the message log
(by member, campaign, status; phones masked for staff without the full-phone permission, as the
member list masks them), dispatches, replies, the unsubscribe-list import, and on the member
page the member's consent and last messages, with a button to record consent (door: admin)."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Case, F, Value, When
from django.db.models.functions import Concat, Left, Right
from django.http import HttpResponseRedirect
from django.template.loader import render_to_string
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.admin import ReadOnlyAdmin
from core.errors import DomainError
from core.models import Source
from members.admin.common import CounterButton, counter_form_page, member_page_url
from members.admin.members import CounterTokenForm, MemberAdmin, can_see_full_phone
from members.models import Consent, ConsentChannel, ConsentDoor, ConsentRecord, mask_phone
from members.services.consent import record_consent
from stores.access import StoreScopedAdminMixin

from .models import (
    Channel,
    Dispatch,
    InboundSms,
    Message,
    MessageTemplate,
    UnsubscribeImport,
    WechatBinding,
)
from .selectors import last_messages
from .services import import_unsubscribe_list
from .wording import check_template

PROBLEMS = {
    "unsubscribe": _("A marketing SMS must tell how to unsubscribe (回T退订)."),
    "marketing_in_notice": _("A service notice never carries an offer ({coupon})."),
    "format": _("The placeholders are not well formed: use {name}, {coupon}, ..."),
}


class MessageTemplateForm(forms.ModelForm):
    class Meta:
        model = MessageTemplate
        fields = ["kind", "channel", "title", "text", "is_active"]

    def clean(self):
        data = super().clean()
        problems = check_template(data.get("kind"), data.get("channel"), data.get("text") or "")
        for problem in problems:
            self.add_error("text", PROBLEMS[problem])
        return data


@admin.register(MessageTemplate)
class MessageTemplateAdmin(admin.ModelAdmin):
    form = MessageTemplateForm
    list_display = ["kind", "channel", "title", "is_active", "updated_at"]
    list_filter = ["kind", "channel", "is_active"]


@admin.register(Dispatch)
class DispatchAdmin(ReadOnlyAdmin):
    list_display = ["occasion", "kind", "purpose", "reference", "queued", "excluded", "created_at"]
    list_filter = ["kind", "purpose"]
    search_fields = ["=reference", "occasion"]

    def has_view_permission(self, request, obj=None):
        # What a dispatch counted is chain-wide: head office's.
        return request.user.has_perm("messaging.view_dispatch") and request.user.has_perm(
            "stores.view_all_stores"
        )


class CampaignFilter(admin.SimpleListFilter):
    title = _("campaign")
    parameter_name = "campaign"

    def lookups(self, request, model_admin):
        references = (
            Dispatch.objects.exclude(reference="").order_by("reference")
            .values_list("reference", flat=True).distinct()[:200]
        )  # fmt: skip
        return [(r, r) for r in references]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(dispatch__reference=self.value())
        return queryset


@admin.register(Message)
class MessageAdmin(StoreScopedAdminMixin, ReadOnlyAdmin):
    store_field = "member__home_store"
    list_display = ["id", "member", "shown_recipient", "channel", "kind", "status", "error_code",
                    "backend", "created_at", "sent_at", "delivered_at", "short_body"]  # fmt: skip
    list_filter = ["status", "channel", "kind", "purpose", CampaignFilter, "backend"]
    list_select_related = ["member"]
    search_fields = ["=member__member_no", "=member__phone", "=provider_id"]
    search_help_text = _("Member no, full phone or the provider's id.")
    raw_id_fields = ["member", "dispatch"]
    ordering = ["-id"]

    def get_fields(self, request, obj=None):
        fields = [f.name for f in Message._meta.fields if f.name != "recipient"]
        return [*fields[:3], "shown_recipient", *fields[3:]]

    def get_readonly_fields(self, request, obj=None):
        return self.get_fields(request, obj)

    @admin.display(description=_("to"))
    def shown_recipient(self, obj):
        return obj.shown_to

    @admin.display(description=_("text"))
    def short_body(self, obj):
        return obj.body[:40] + ("…" if len(obj.body) > 40 else "")

    def get_queryset(self, request):
        # Masked in the query, per request (as the member list does): the admin instance is
        # shared by every request, so nothing about this user may be kept on it.
        masked = Concat(Left("recipient", 3), Value("****"), Right("recipient", 4))
        shown = (
            F("recipient")
            if can_see_full_phone(request.user)
            else Case(When(channel=Channel.SMS, then=masked), default=F("recipient"))
        )
        return super().get_queryset(request).annotate(shown_to=shown)


@admin.register(InboundSms)
class InboundSmsAdmin(StoreScopedAdminMixin, ReadOnlyAdmin):
    store_field = "member__home_store"
    list_display = ["received_at", "provider", "masked", "member", "text", "unsubscribed"]
    list_filter = ["unsubscribed", "provider"]
    exclude = ["phone"]
    readonly_fields = ["masked"]

    @admin.display(description=_("phone"))
    def masked(self, obj):
        return mask_phone(obj.phone)


@admin.register(WechatBinding)
class WechatBindingAdmin(StoreScopedAdminMixin, ReadOnlyAdmin):
    store_field = "member__home_store"
    list_display = ["member", "openid", "bound_at"]
    raw_id_fields = ["member"]


class UnsubscribeUploadForm(forms.Form):
    file = forms.FileField(
        label=_("file"),
        help_text=_("The provider's unsubscribe list (退订名单): .xlsx or .csv with a column of "
                    "phone numbers."),
    )  # fmt: skip
    channel = forms.ChoiceField(
        label=_("channel"), choices=ConsentChannel.choices, initial=ConsentChannel.SMS
    )


@admin.register(UnsubscribeImport)
class UnsubscribeImportAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "file_name", "channel", "rows", "unsubscribed", "already",
                    "unknown", "invalid", "actor"]  # fmt: skip

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("stores.view_all_stores") and super().has_view_permission(
            request, obj
        )

    def has_add_permission(self, request, obj=None):
        return request.user.has_perm("messaging.add_unsubscribeimport") and request.user.has_perm(
            "stores.view_all_stores"
        )

    def get_urls(self):
        return [
            path("upload/", self.admin_site.admin_view(self.upload_view),
                 name="messaging_unsubscribeimport_upload"),
            *super().get_urls(),
        ]  # fmt: skip

    def add_view(self, request, form_url="", extra_context=None):
        return HttpResponseRedirect(reverse("admin:messaging_unsubscribeimport_upload"))

    def upload_view(self, request):
        """Upload the provider's unsubscribe list; every member on it is unsubscribed."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = UnsubscribeUploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                done = import_unsubscribe_list(
                    file=upload, file_name=upload.name, channel=form.cleaned_data["channel"],
                    source=Source.ADMIN, actor=request.user,
                )  # fmt: skip
            except DomainError as exc:
                form.add_error("file", exc.message)
            else:
                messages.success(request, gettext(
                    "%(rows)s rows: %(new)s members unsubscribed, %(already)s already were, "
                    "%(unknown)s numbers are not members, %(invalid)s cells are not phone numbers."
                ) % {"rows": done.rows, "new": done.unsubscribed, "already": done.already,
                     "unknown": done.unknown, "invalid": done.invalid})  # fmt: skip
                return HttpResponseRedirect(
                    reverse("admin:messaging_unsubscribeimport_changelist")
                )
        from django.template.response import TemplateResponse

        return TemplateResponse(request, "admin/messaging/unsubscribe_upload.html", {
            **self.admin_site.each_context(request), "form": form, "opts": self.model._meta,
            "title": gettext("Import an unsubscribe list"),
        })  # fmt: skip


# --- on the member page --------------------------------------------------------------------


@admin.display(description=_("consent and messages"))
def messaging_panel(member):
    """HTML: the member's consent per channel (since when, through which door, which wording)
    and their last ten messages."""
    consents = list(
        Consent.objects.filter(member=member).select_related("record").order_by("channel")
    )
    records = list(ConsentRecord.objects.filter(member=member).order_by("-created_at")[:10])
    last = list(last_messages(member))
    for message in last:
        message.shown = (mask_phone(message.recipient) if message.channel == Channel.SMS
                         else message.recipient)  # fmt: skip
    return render_to_string("admin/messaging/member_panel.html", {
        "consents": consents, "records": records, "last": last,
    })  # fmt: skip


class ConsentForm(CounterTokenForm):
    sms = forms.BooleanField(label=_("Marketing by SMS"), required=False)
    wechat = forms.BooleanField(label=_("Marketing by WeChat"), required=False)
    confirmed = forms.BooleanField(
        label=_("The member asked for this in person or in writing"), required=True
    )


def consent_view(request, member):
    current = {
        c.channel: c.granted
        for c in Consent.objects.filter(member=member, purpose="marketing")
    }
    form = ConsentForm(request.POST or None, initial={
        "sms": current.get("sms") is True, "wechat": current.get("wechat") is True,
    })  # fmt: skip
    if request.method == "POST" and form.is_valid():
        for channel in ConsentChannel.values:
            wanted = form.cleaned_data[channel]
            if wanted == (current.get(channel) is True):
                continue
            if not wanted and channel not in current:
                continue  # never agreed: nothing to withdraw
            record_consent(
                member=member, channel=channel, granted=wanted, door=ConsentDoor.ADMIN,
                source=Source.ADMIN, actor=request.user,
            )  # fmt: skip
        messages.success(request, gettext("Consent of %(member)s recorded.")
                         % {"member": member.member_no})  # fmt: skip
        return HttpResponseRedirect(member_page_url(member))
    return counter_form_page(
        request, member, title=gettext("Marketing consent"), form=form,
        facts=[(gettext("Wording agreed to"), format_html("{}", _consent_text()))],
        note=gettext("Unsubscribed is final until the member opts in again: record an opt-in "
                     "only when the member asks for it."),
    )  # fmt: skip


def _consent_text():
    from members.services.consent import consent_wording

    version, text = consent_wording()
    return f"{text} ({version})"


MemberAdmin.extend(
    panels={"messaging_panel": messaging_panel},
    buttons=[
        CounterButton(
            name="consent",
            label=_("Marketing consent"),
            view=consent_view,
            allowed=lambda request, member: request.user.has_perm("members.change_member"),
        )
    ],
)
