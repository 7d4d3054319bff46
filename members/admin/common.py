"""Helpers shared by the member admin pages, and by the member actions the apps above members
add (recharge, sell a count card, ...): an intermediate form, then a service per member."""

import contextlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from core.admin import EstimatedCountPaginator  # noqa: F401  (members' lists use it)
from core.errors import DomainError
from stores.access import scope_queryset
from stores.models import Store


def members_named(term):
    """Ids of the members a search term names exactly: member no, full phone or active card
    no, each through its own unique index (never a join that a planner might turn into a scan
    of a ledger)."""
    from members.importing.normalize import RowError, normalize_phone
    from members.models import Card, Member

    term = (term or "").strip()
    if not term:
        return []
    ids = set(Member.objects.filter(member_no=term.upper()).values_list("pk", flat=True))
    with contextlib.suppress(RowError):
        ids.update(Member.objects.filter(phone=normalize_phone(term)).values_list("pk", flat=True))
    ids.update(
        Card.objects.filter(card_no=term, member__isnull=False).values_list("member_id", flat=True)
    )
    return sorted(ids)


class MemberSearchMixin:
    """Admin mixin for lists of a member's rows (ledgers, sales): the search box takes a member
    no, phone or card no, resolved to member ids first, so a list of ten million entries is
    read through its (member or account, time) index. `member_search_path` is the lookup from
    the row to its member's id."""

    member_search_path = "member_id"
    search_help_text = _("Member no, full phone or card no.")

    def get_search_results(self, request, queryset, search_term):
        if not search_term.strip():
            return queryset, False
        members = members_named(search_term)
        found = self.search_other(queryset, search_term.strip())
        if found is not None and not members:
            return found, False
        return queryset.filter(**{f"{self.member_search_path}__in": members}), False

    def search_other(self, queryset, term):
        """Another exact match for what is not a member (a receipt no), or None."""
        return None


def apply_domain_error(request, form, error: DomainError):
    """Show a service's error on the form fields it names, or as a page message."""
    shown = False
    for field, problems in (error.fields or {}).items():
        for problem in problems:
            if form is not None and field in form.fields:
                form.add_error(field, str(problem))
                shown = True
    if form is not None and not shown:
        form.add_error(None, error.message)
    elif form is None:
        messages.error(request, error.message)


# --- member actions with intermediate forms --------------------------------------------------


def start_background_job(request, kind, params):
    """When an action applies to every member of the list's filter (the admin's "select all"
    across pages), start it as a bulk job over that filter and answer with the job's page;
    else None (a page of ticked members is done right away)."""
    if request.POST.get("select_across") != "1":
        return None
    from django.http import HttpResponseRedirect
    from django.urls import reverse
    from django.utils.translation import gettext

    from members.bulk import start_filter_job

    job = start_filter_job(request=request, kind=kind, params=params, actor=request.user)
    messages.info(
        request,
        gettext("Started in the background as bulk job #%(id)d; its progress is shown here.")
        % {"id": job.pk},
    )
    return HttpResponseRedirect(reverse("admin:members_bulkjob_change", args=[job.pk]))


def stores_for(user):
    return scope_queryset(Store.objects.filter(is_active=True), user, "id")


class MemberActionForm(forms.Form):
    # A token per rendered form makes a double click (or a resubmitted page) a no-op: it goes
    # into the services' idempotency keys.
    token = forms.CharField(widget=forms.HiddenInput)
    store = forms.ModelChoiceField(queryset=Store.objects.none(), label=_("store"))

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["store"].queryset = stores_for(user)
        if not self.is_bound:
            self.initial["token"] = uuid.uuid4().hex


def action_form_page(request, queryset, form, title, action):
    return TemplateResponse(
        request,
        "admin/members/member_action.html",
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


def run_for_member(request, member, fn):
    try:
        fn()
    except DomainError as exc:
        detail = "; ".join(f"{k}: {', '.join(map(str, v))}" for k, v in exc.fields.items())
        messages.error(request, f"{member}: {exc.message} {detail}".strip())
        return False
    return True


def for_each_member(request, queryset, form, title, action, call, done_message):
    """The shape of a per-member action: the intermediate form until it is valid, then the
    service once per selected member (a refusal becomes a message), then one summary."""
    if not form.is_valid():
        return action_form_page(request, queryset, form, title, action)
    data = form.cleaned_data
    done = sum(
        run_for_member(request, member, lambda m=member: call(m, data)) for member in queryset
    )
    if done:
        messages.success(request, done_message % {"count": done})
    return None


# --- the member page as a counter: one button per operation, each with its own form ---------


@dataclass(frozen=True)
class CounterButton:
    """A button on the member page (调整积分, 充值, 售次卡, ...).

    `view(request, member)` answers the button's page: a form (see `counter_form_page`) that
    calls one service and goes back to the member page. `allowed(request, member)` says
    whether the user sees and may use it. Apps above members add theirs through
    `MemberAdmin.extend(buttons=...)`.
    """

    name: str
    label: str
    view: Callable
    allowed: Callable


def member_page_url(member):
    return reverse("admin:members_member_change", args=[member.pk])


def back_to_member(member):
    return HttpResponseRedirect(member_page_url(member))


def counter_form_page(request, member, *, title, form, facts=(), submit_label=None, note=""):
    """The page of a member-page button: who the member is, the facts the operator needs
    before deciding (balances, the approval threshold), the form, and a way back.

    `facts` is [(label, value)], shown above the form.
    """
    from members.models import Member

    return TemplateResponse(
        request,
        "admin/members/counter_form.html",
        {
            **admin.site.each_context(request),
            "title": title,
            "member": member,
            "facts": list(facts),
            "form": form,
            "note": note,
            "submit_label": submit_label or _("Confirm"),
            "member_url": member_page_url(member),
            "opts": Member._meta,
            "media": form.media,
        },
    )


def run_counter_service(request, form, member, fn, done_message):
    """Call the service of a member-page form: its refusal goes onto the form, its success
    back to the member page with `done_message` (a string, or fn(result) -> string)."""
    try:
        result = fn()
    except DomainError as error:
        apply_domain_error(request, form, error)
        return None
    message = done_message(result) if callable(done_message) else done_message
    messages.success(request, message)
    return back_to_member(member)
