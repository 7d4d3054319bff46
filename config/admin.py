"""The admin site: titled for the product, apps ordered the way head office works, a console
title that says whose stores it shows, and change history that reads in the user's language."""

from django.contrib import admin
from django.core.exceptions import FieldDoesNotExist
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.utils.translation import override as translation_override

from stores.access import allowed_store_ids
from stores.models import Store

# Head office thinks members first, then sales, points, stored value, count cards, campaigns,
# stores, and settings last.
APP_ORDER = [
    "members",
    "sales",
    "loyalty",
    "wallet",
    "countcards",
    "campaigns",
    "stores",
    "auth",
    "django_celery_beat",
    "axes",
]


def _untranslated_labels(form, names):
    """The msgids of the changed fields' names ("birthday"), so that the history page can
    translate them when it shows them. Django keeps the form label ("Birthday"), which no
    catalogue has: the history read "已修改Birthday。"."""
    model = getattr(getattr(form, "_meta", None), "model", None)
    labels = []
    with translation_override(None):
        for name in names:
            try:
                model_field = model._meta.get_field(name) if model is not None else None
            except FieldDoesNotExist:
                model_field = None
            form_field = form.fields.get(name)
            if model_field is not None and getattr(model_field, "verbose_name", None):
                labels.append(str(model_field.verbose_name))
            elif form_field is not None and form_field.label:
                labels.append(str(form_field.label))
            else:
                labels.append(name)
    return labels


class TranslatableHistoryMixin:
    """Keeps the msgid of each changed field in the admin's change history (LogEntry)."""

    def construct_change_message(self, request, form, formsets, add=False):
        message = super().construct_change_message(request, form, formsets, add)
        for part in message:
            changed = part.get("changed")
            if changed is not None and "name" not in changed:
                changed["fields"] = _untranslated_labels(form, form.changed_data)
        inline_parts = [
            part["changed"] for part in message if "name" in part.get("changed", {})
        ]
        inline_forms = [
            (formset.forms[0], fields)
            for formset in formsets or ()
            for _obj, fields in formset.changed_objects
        ]
        for changed, (inline_form, fields) in zip(inline_parts, inline_forms, strict=False):
            changed["fields"] = _untranslated_labels(inline_form, fields)
        return message


class LoyaltyAdminSite(admin.AdminSite):
    site_header = _("Chain membership and loyalty")
    site_title = _("Membership back-office")
    index_title = _("Head-office console")

    def register(self, model_or_iterable, admin_class=None, **options):
        # Every registered admin, ours and third-party ones alike, records change history the
        # history page can translate.
        admin_class = admin_class or admin.ModelAdmin
        if not issubclass(admin_class, TranslatableHistoryMixin):
            admin_class = type(
                admin_class.__name__,
                (TranslatableHistoryMixin, admin_class),
                {"__module__": admin_class.__module__, "__doc__": admin_class.__doc__},
            )
        super().register(model_or_iterable, admin_class, **options)

    def console_title(self, request):
        """总部控制台 for head office; a store's staff see their own stores' console."""
        ids = allowed_store_ids(request.user)
        if ids is None:
            return self.index_title
        stores = [str(store) for store in Store.objects.filter(pk__in=ids).order_by("code")]
        if not stores:
            return gettext("Store console")
        return gettext("Store console: %(stores)s") % {"stores": gettext(", ").join(stores)}

    def index(self, request, extra_context=None):
        extra_context = {"title": self.console_title(request), **(extra_context or {})}
        return super().index(request, extra_context)

    def get_app_list(self, request, app_label=None):
        apps = super().get_app_list(request, app_label)

        def position(app):
            label = app["app_label"]
            return APP_ORDER.index(label) if label in APP_ORDER else len(APP_ORDER)

        return sorted(apps, key=position)
