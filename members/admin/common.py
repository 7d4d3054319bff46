"""Helpers shared by the member admin pages, and by the member actions the apps above members
add (recharge, sell a count card, ...): an intermediate form, then a service per member."""

import uuid

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _

from core.admin import EstimatedCountPaginator  # noqa: F401  (members' lists use it)
from core.errors import DomainError
from stores.access import scope_queryset
from stores.models import Store


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
