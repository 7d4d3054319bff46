"""Member list, card opening (开卡) and bulk actions. Thin: every change calls a service."""

import uuid
from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import F, OuterRef, Subquery, Value
from django.db.models.functions import Concat, Left, Right
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core import excel
from core.admin import HistoryAdmin
from core.errors import DomainError
from core.models import Source
from members.models import Card, Member, Tag, Tier
from members.resources import export_members_xlsx
from members.services import (
    change_members_tier,
    open_member,
    report_card_lost_and_replace,
    set_members_status,
    tag_members,
    update_member_profile,
)
from members.services.members import PROFILE_FIELDS
from members.validators import validate_birthday
from stores.access import StoreScopedAdminMixin, scope_queryset
from stores.models import Staff, Store

from .common import (
    CounterButton,
    EstimatedCountPaginator,
    apply_domain_error,
    counter_form_page,
    run_counter_service,
    start_background_job,
)

# What a points or stored-value column holds (PostgreSQL integer): typed numbers stay inside.
MAX_POINTS = 2_147_483_647

FULL_PHONE = "members.view_full_phone"
# The member page's sections that apps above members add to (MemberAdmin.extend).
BALANCES = gettext_lazy("Balances")
HISTORY = gettext_lazy("History")


def can_see_full_phone(user):
    return user.has_perm(FULL_PHONE)


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    search_fields = ["name"]


class BirthdayMonthFilter(admin.SimpleListFilter):
    title = gettext_lazy("birthday month")
    parameter_name = "birthday_month"

    def lookups(self, request, model_admin):
        return [(str(m), _("month %(month)d") % {"month": m}) for m in range(1, 13)]

    def queryset(self, request, queryset):
        if self.value() and self.value().isdigit():
            return queryset.filter(birthday__month=int(self.value()))
        return queryset


class HomeStoreFilter(admin.SimpleListFilter):
    """Only the stores the user may see (a store manager never learns other stores' names)."""

    title = gettext_lazy("home store")
    parameter_name = "home_store"

    def lookups(self, request, model_admin):
        stores = scope_queryset(Store.objects.all(), request.user, "id")
        return [(str(s.pk), str(s)) for s in stores]

    def queryset(self, request, queryset):
        if self.value() and self.value().isdigit():
            return queryset.filter(home_store_id=int(self.value()))
        return queryset


class OpenMemberForm(forms.Form):
    """开卡: the fields of open_member. Validation of the rules happens in the service."""

    phone = forms.CharField(label=gettext_lazy("mobile phone"), max_length=20)
    name = forms.CharField(label=gettext_lazy("name"), max_length=50, required=False)
    gender = forms.ChoiceField(
        label=gettext_lazy("gender"), choices=Member.Gender.choices, initial="U"
    )
    birthday = forms.DateField(
        label=gettext_lazy("birthday"),
        required=False,
        validators=[validate_birthday],
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    email = forms.EmailField(label=gettext_lazy("email"), required=False)
    address = forms.CharField(label=gettext_lazy("address"), max_length=200, required=False)
    home_store = forms.ModelChoiceField(label=gettext_lazy("home store"), queryset=Store.objects)
    tier = forms.ModelChoiceField(
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
    commission_staff = forms.ModelChoiceField(
        label=gettext_lazy("commission staff"), queryset=Staff.objects, required=False
    )
    referrer_phone = forms.CharField(
        label=gettext_lazy("referrer phone"), max_length=20, required=False
    )
    card_no = forms.CharField(
        label=gettext_lazy("card no"),
        max_length=20,
        required=False,
        help_text=gettext_lazy("A pre-printed card from a card batch (optional)."),
    )
    notes = forms.CharField(label=gettext_lazy("notes"), widget=forms.Textarea, required=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        stores = scope_queryset(Store.objects.filter(is_active=True), user, "id")
        self.fields["home_store"].queryset = stores
        self.fields["commission_staff"].queryset = Staff.objects.filter(
            store__in=stores, is_active=True
        )
        self.fields["tier"].initial = Tier.objects.filter(is_default=True).first()


class TierForm(forms.Form):
    tier = forms.ModelChoiceField(label=gettext_lazy("tier"), queryset=Tier.objects.all())


class TagForm(forms.Form):
    tag = forms.CharField(label=gettext_lazy("tag"), max_length=30)


class CounterTokenForm(forms.Form):
    """A member-page form with nothing to fill in but its token (one per rendered page: a
    double click or a resubmitted page cannot act twice)."""

    token = forms.CharField(widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial["token"] = uuid.uuid4().hex


class ReplaceLostCardForm(forms.Form):
    new_card_no = forms.CharField(
        label=gettext_lazy("new card no"),
        max_length=20,
        help_text=gettext_lazy("An unissued card from a card batch."),
    )


@admin.register(Member)
class MemberAdmin(StoreScopedAdminMixin, HistoryAdmin):
    store_field = "home_store"
    list_display = [
        "member_no",
        "name",
        "phone_shown",
        "card_no_shown",
        "tier",
        "home_store",
        "status",
        "opened_at",
        "last_visit_at",
    ]
    list_display_links = ["member_no", "name"]
    list_filter = [
        "tier",
        HomeStoreFilter,
        "status",
        "tags",
        BirthdayMonthFilter,
        ("opened_at", admin.DateFieldListFilter),
        ("last_visit_at", admin.DateFieldListFilter),
    ]
    # Shown for the search box's help; get_search_results picks the indexed lookup by shape.
    search_fields = ["=member_no", "^phone", "=phone_last4", "^name", "^name_initials"]
    search_help_text = gettext_lazy(
        "Phone (full or last 4 digits), card no, member no, name or pinyin initials (e.g. zs)."
    )
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    list_per_page = 50
    autocomplete_fields = ["tags"]
    raw_id_fields = ["referrer"]
    actions = [
        "freeze",
        "unfreeze",
        "change_tier",
        "add_tag",
        "export_selected",
    ]
    fieldsets = [
        (None, {"fields": ["member_no", "phone_shown", "card_no_shown", "status"]}),
        (
            gettext_lazy("Profile"),
            {"fields": ["name", "gender", "birthday", "email", "address", "notes", "tags"]},
        ),
        (
            gettext_lazy("Membership"),
            {"fields": ["tier", "home_store", "commission_staff", "referrer", "source"]},
        ),
        (BALANCES, {"fields": ["opened_at", "opened_by", "last_visit_at"]}),
        (HISTORY, {"fields": []}),
    ]
    readonly_fields = [
        "member_no",
        "phone_shown",
        "card_no_shown",
        "status",
        "referrer",
        "source",
        "opened_at",
        "opened_by",
        "last_visit_at",
    ]
    # Filled by `extend` (the apps above members): names for select_related.
    extra_select_related = []
    # The member page's buttons (CounterButton), members' own first, then the apps' above.
    counter_buttons = []

    @classmethod
    def extend(
        cls,
        *,
        columns=None,
        panels=None,
        actions=(),
        permissions=None,
        select_related=(),
        buttons=(),
    ):
        """Let an app above members add to the member pages without members importing it.

        `columns` {name: fn(member)}: list columns, also shown under Balances on the member
        page; `panels` {name: fn(member) -> html}: shown under History; `actions`: admin
        actions for the member list; `permissions` {name: fn(request)}: the `has_<name>_
        permission` checks those actions name; `select_related`: relations the columns read;
        `buttons` [CounterButton]: buttons on the member page, each opening its own form.
        Apps call it from their admin module, in INSTALLED_APPS order.
        """
        cls.counter_buttons = [*cls.counter_buttons, *buttons]
        for name, fn in (columns or {}).items():
            setattr(cls, name, _as_method(fn))
            cls.list_display = _before(cls.list_display, "opened_at", name)
            cls.readonly_fields = [*cls.readonly_fields, name]
            _add_to_fieldset(cls, BALANCES, name, before="opened_at")
        for name, fn in (panels or {}).items():
            setattr(cls, name, _as_method(fn, empty_on_add=True))
            cls.readonly_fields = [*cls.readonly_fields, name]
            _add_to_fieldset(cls, HISTORY, name)
        for action in actions:
            cls.actions = _before(cls.actions, "export_selected", action)
        for name, fn in (permissions or {}).items():
            setattr(cls, f"has_{name}_permission", _as_method(fn, takes="request"))
        cls.extra_select_related = [*cls.extra_select_related, *select_related]

    def get_queryset(self, request):
        active_card = Card.objects.filter(member=OuterRef("pk"), status=Card.Status.ACTIVE).values(
            "card_no"
        )[:1]
        phone = (
            F("phone")
            if can_see_full_phone(request.user)
            else Concat(Left("phone", 3), Value("****"), Right("phone", 4))
        )
        return (
            super()
            .get_queryset(request)
            .select_related("home_store", "tier", *self.extra_select_related)
            .annotate(card_no=Subquery(active_card), shown_phone=phone)
        )

    def get_search_results(self, request, queryset, search_term):
        """Pick the indexed lookups by the shape of what was typed; never a LIKE '%x%'. Each
        lookup is its own indexed query, joined by UNION inside `pk IN (...)`: an OR across
        the member, card and phone conditions would scan the million members instead."""
        term = search_term.strip()
        if not term:
            return queryset, False
        digits = term.replace(" ", "").replace("-", "")
        members = Member.objects.order_by()
        if digits.isdigit():
            lookups = [
                members.filter(member_no=term).values("pk"),
                Card.objects.filter(card_no=digits).order_by().values("member_id"),
            ]
            if len(digits) == 4:
                lookups.append(members.filter(phone_last4=digits).values("pk"))
            elif len(digits) == 11:
                lookups.append(members.filter(phone=digits).values("pk"))
            elif len(digits) < 11:
                lookups.append(members.filter(phone__startswith=digits).values("pk"))
            found = lookups[0].union(*lookups[1:])
            return queryset.filter(pk__in=found), False
        if term.isascii() and term.isalpha():
            # Pinyin initials; a member no (M000000001) has digits and lands above or below.
            return queryset.filter(name_initials__startswith=term.lower()), False
        if term[:1] in "Mm" and term[1:].isdigit():
            return queryset.filter(member_no=term.upper()), False
        return queryset.filter(name__startswith=term), False

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    # ------------------------------------------------------------------ the counter

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("export/", view(self.export_view), name="members_member_export"),
            path(
                "<path:object_id>/counter/<slug:name>/",
                view(self.counter_view),
                name="members_member_counter",
            ),
            *super().get_urls(),
        ]

    def buttons_for(self, request, member):
        return [b for b in self.counter_buttons if b.allowed(request, member)]

    def counter_view(self, request, object_id, name):
        """The page of one member-page button, for a member the user may see."""
        member = self.get_object(request, unquote(object_id))
        if member is None or not self.has_view_permission(request, member):
            raise Http404(_("No such member."))
        button = next((b for b in self.counter_buttons if b.name == name), None)
        if button is None:
            raise Http404(_("No such operation."))
        if not button.allowed(request, member):
            raise PermissionDenied
        return button.view(request, member)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = dict(extra_context or {})
        member = self.get_object(request, unquote(object_id))
        if member is not None:
            extra_context["counter_buttons"] = [
                {
                    "name": b.name,
                    "label": b.label,
                    "url": reverse("admin:members_member_counter", args=[member.pk, b.name]),
                }
                for b in self.buttons_for(request, member)
            ]
        return super().change_view(request, object_id, form_url, extra_context)

    def changelist_view(self, request, extra_context=None):
        extra_context = dict(extra_context or {})
        if self.has_view_permission(request):
            extra_context["export_url"] = reverse("admin:members_member_export")
        if request.user.has_perm("members.add_member"):
            extra_context["import_url"] = reverse("admin:members_importjob_add")
        return super().changelist_view(request, extra_context)

    def export_view(self, request):
        """The member list as it is filtered and searched now, as .xlsx (no selecting)."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        try:
            changelist = self.get_changelist_instance(request)
        except IncorrectLookupParameters:
            return HttpResponseRedirect(reverse("admin:members_member_changelist") + "?e=1")
        return self._xlsx(request, changelist.get_queryset(request))

    def _xlsx(self, request, queryset):
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
        response = excel.attachment(f"members-{stamp}.xlsx")
        export_members_xlsx(queryset, response, full_phone=can_see_full_phone(request.user))
        return response

    def has_delete_permission(self, request, obj=None):
        # Members carry ledgers; they are closed (status), never deleted from the admin.
        return False

    # ------------------------------------------------------------------ columns

    @admin.display(description=gettext_lazy("mobile phone"), ordering="phone")
    def phone_shown(self, obj):
        return getattr(obj, "shown_phone", None) or obj.masked_phone

    @admin.display(description=gettext_lazy("card no"))
    def card_no_shown(self, obj):
        return getattr(obj, "card_no", None) or "-"

    # ------------------------------------------------------------------ saving

    def save_model(self, request, obj, form, change):
        changes = {
            name: form.cleaned_data[name]
            for name in form.changed_data
            if name in (*PROFILE_FIELDS, "tier", "home_store", "commission_staff")
        }
        update_member_profile(member=obj, source=Source.ADMIN, actor=request.user, **changes)

    def add_view(self, request, form_url="", extra_context=None):
        """开卡: a plain form whose only effect is one call of open_member."""
        if not self.has_add_permission(request):
            return self.changeform_view(request, None, form_url, extra_context)
        form = OpenMemberForm(request.POST or None, user=request.user)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                member = open_member(
                    phone=data["phone"],
                    home_store=data["home_store"],
                    source=Source.ADMIN,
                    actor=request.user,
                    name=data["name"],
                    gender=data["gender"],
                    birthday=data["birthday"],
                    email=data["email"],
                    address=data["address"],
                    tier=data["tier"],
                    initial_points=data["initial_points"],
                    initial_stored_value=data["initial_stored_value"],
                    commission_staff=data["commission_staff"],
                    referrer_phone=data["referrer_phone"],
                    card_no=data["card_no"],
                    notes=data["notes"],
                )
            except DomainError as error:
                apply_domain_error(request, form, error)
            else:
                self.log_addition(request, member, [{"added": {}}])
                messages.success(
                    request, _("Member %(member)s opened.") % {"member": member.member_no}
                )
                return HttpResponseRedirect(
                    reverse("admin:members_member_change", args=[member.pk])
                )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Open a member card"),
            "form": form,
            "media": self.media + form.media,
        }
        return TemplateResponse(request, "admin/members/open_member.html", context)

    # ------------------------------------------------------------------ actions

    @admin.action(description=gettext_lazy("Freeze selected members"), permissions=["change"])
    def freeze(self, request, queryset):
        started = start_background_job(request, "freeze", {})
        if started is not None:
            return started
        count = set_members_status(
            members=queryset, status=Member.Status.FROZEN, source=Source.ADMIN, actor=request.user
        )
        messages.success(request, _("%(count)d members frozen.") % {"count": count})

    @admin.action(description=gettext_lazy("Unfreeze selected members"), permissions=["change"])
    def unfreeze(self, request, queryset):
        started = start_background_job(request, "unfreeze", {})
        if started is not None:
            return started
        count = set_members_status(
            members=queryset, status=Member.Status.ACTIVE, source=Source.ADMIN, actor=request.user
        )
        messages.success(request, _("%(count)d members unfrozen.") % {"count": count})

    def _intermediate(self, request, queryset, form, title, action):
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": title,
            "form": form,
            "action": action,
            "queryset": queryset,
            "count": queryset.count(),
            "selected": request.POST.getlist(admin.helpers.ACTION_CHECKBOX_NAME),
            "select_across": request.POST.get("select_across", "0"),
        }
        return TemplateResponse(request, "admin/members/action_form.html", context)

    @admin.action(
        description=gettext_lazy("Change tier of selected members"), permissions=["change"]
    )
    def change_tier(self, request, queryset):
        form = TierForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            started = start_background_job(
                request, "change_tier", {"tier": form.cleaned_data["tier"].pk}
            )
            if started is not None:
                return started
            count = change_members_tier(
                members=queryset,
                tier=form.cleaned_data["tier"],
                source=Source.ADMIN,
                actor=request.user,
            )
            messages.success(request, _("%(count)d members moved.") % {"count": count})
            return None
        return self._intermediate(request, queryset, form, _("Change tier"), "change_tier")

    @admin.action(description=gettext_lazy("Add a tag to selected members"), permissions=["change"])
    def add_tag(self, request, queryset):
        form = TagForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            started = start_background_job(request, "tag", {"tag": form.cleaned_data["tag"]})
            if started is not None:
                return started
            try:
                count = tag_members(
                    members=queryset,
                    tag=form.cleaned_data["tag"],
                    source=Source.ADMIN,
                    actor=request.user,
                )
            except DomainError as error:
                messages.error(request, error.message)
                return None
            messages.success(request, _("%(count)d members tagged.") % {"count": count})
            return None
        return self._intermediate(request, queryset, form, _("Add a tag"), "add_tag")

    @admin.action(
        description=gettext_lazy("Export selected members to Excel"), permissions=["view"]
    )
    def export_selected(self, request, queryset):
        return self._xlsx(request, queryset)


# --- members' own buttons on the member page --------------------------------------------------


def _active_card(member):
    return Card.objects.filter(member=member, status=Card.Status.ACTIVE).first()


def replace_lost_card_view(request, member):
    """补卡: the member's active card is reported lost and an unissued card takes its place;
    every balance stays with the member."""
    card = _active_card(member)
    form = ReplaceLostCardForm(request.POST if card is not None else None)
    if card is not None and request.method == "POST" and form.is_valid():
        done = run_counter_service(
            request,
            form,
            member,
            lambda: report_card_lost_and_replace(
                card=card,
                new_card_no=form.cleaned_data["new_card_no"],
                source=Source.ADMIN,
                actor=request.user,
            ),
            lambda new: _("Card %(old)s reported lost; the member now holds %(new)s.")
            % {"old": card.card_no, "new": new.card_no},
        )
        if done:
            return done
    return counter_form_page(
        request,
        member,
        title=_("Replace a lost card"),
        form=form,
        facts=[(_("card now"), card.card_no if card else "-")],
        submit_label=_("Report lost and replace"),
        note="" if card else _("This member holds no active card."),
    )


def _status_view(request, member, *, status, title, submit_label, done_message, note=""):
    form = CounterTokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        set_members_status(
            members=Member.objects.filter(pk=member.pk),
            status=status,
            source=Source.ADMIN,
            actor=request.user,
        )
        messages.success(request, done_message)
        return HttpResponseRedirect(reverse("admin:members_member_change", args=[member.pk]))
    return counter_form_page(
        request, member, title=title, form=form, submit_label=submit_label, note=note
    )


def freeze_view(request, member):
    return _status_view(
        request,
        member,
        status=Member.Status.FROZEN,
        title=_("Freeze the member"),
        submit_label=_("Freeze"),
        done_message=_("Member %(member)s frozen.") % {"member": member.member_no},
        note=_(
            "A frozen member can neither earn nor spend points or stored value at any till "
            "until unfrozen. Balances are kept."
        ),
    )


def unfreeze_view(request, member):
    return _status_view(
        request,
        member,
        status=Member.Status.ACTIVE,
        title=_("Unfreeze the member"),
        submit_label=_("Unfreeze"),
        done_message=_("Member %(member)s unfrozen.") % {"member": member.member_no},
    )


def _may_change(request, member):
    return request.user.has_perm("members.change_member")


MemberAdmin.extend(
    buttons=[
        CounterButton(
            name="replace-card",
            label=gettext_lazy("Replace a lost card"),
            view=replace_lost_card_view,
            allowed=lambda request, member: request.user.has_perm("members.change_card"),
        ),
        CounterButton(
            name="freeze",
            label=gettext_lazy("Freeze"),
            view=freeze_view,
            allowed=lambda request, member: (
                _may_change(request, member) and member.status == Member.Status.ACTIVE
            ),
        ),
        CounterButton(
            name="unfreeze",
            label=gettext_lazy("Unfreeze"),
            view=unfreeze_view,
            allowed=lambda request, member: (
                _may_change(request, member) and member.status == Member.Status.FROZEN
            ),
        ),
    ]
)


def _before(items, anchor, item):
    items = list(items)
    index = items.index(anchor) if anchor in items else len(items)
    items.insert(index, item)
    return items


def _add_to_fieldset(cls, title, name, before=None):
    fieldsets = []
    for label, options in cls.fieldsets:
        fields = list(options["fields"])
        if label is title:
            fields = _before(fields, before, name) if before else [*fields, name]
        fieldsets.append((label, {**options, "fields": fields}))
    cls.fieldsets = fieldsets


def _as_method(fn, *, takes="obj", empty_on_add=False):
    """`fn(member)` (or `fn(request)`) as a ModelAdmin method, keeping its admin.display
    attributes (description, ordering, boolean)."""
    if takes == "request":

        def method(self, request):
            return fn(request)

    else:

        def method(self, obj):
            if empty_on_add and not obj.pk:
                return "-"
            return fn(obj)

    for attribute in ("short_description", "admin_order_field", "boolean", "empty_value_display"):
        if hasattr(fn, attribute):
            setattr(method, attribute, getattr(fn, attribute))
    method.__name__ = getattr(fn, "__name__", "extension")
    return method
