"""The admin site: titled for the product, apps ordered the way head office works, the
dashboard as its home page and the reports menu in its app list, a console title that says
whose stores it shows, and change history that reads in the user's language."""

from django.contrib import admin
from django.core.exceptions import FieldDoesNotExist
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.utils.translation import override as translation_override

from stores.access import allowed_store_ids
from stores.models import Store

# Head office thinks reports first (the home page is the dashboard), then members, sales,
# points, stored value, count cards, campaigns, stores, and settings last.
APP_ORDER = [
    "reports",
    "members",
    "sales",
    "loyalty",
    "wallet",
    "countcards",
    "coupons",
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

    def get_urls(self):
        from reports.views import admin_urls

        return admin_urls(self) + super().get_urls()

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

    def whose_stores(self, request):
        """None for head office (the chain); else the user's stores, named for a title."""
        ids = allowed_store_ids(request.user)
        if ids is None:
            return None
        stores = [str(store) for store in Store.objects.filter(pk__in=ids).order_by("code")]
        return gettext(", ").join(stores)

    def console_title(self, request):
        """总部控制台 for head office; a store's staff see their own stores' console."""
        stores = self.whose_stores(request)
        if stores is None:
            return self.index_title
        if not stores:
            return gettext("Store console")
        return gettext("Store console: %(stores)s") % {"stores": stores}

    def index(self, request, extra_context=None):
        """The dashboard for anyone who may see reports; Django's app list otherwise."""
        from reports.views import can_view, dashboard

        if can_view(request.user):
            return dashboard(request, self)
        extra_context = {"title": self.console_title(request), **(extra_context or {})}
        return super().index(request, extra_context)

    def get_app_list(self, request, app_label=None):
        from reports.views import menu

        apps = super().get_app_list(request, app_label)
        if app_label in (None, "reports"):
            _add_reports_menu(apps, menu(request.user))

        def position(app):
            label = app["app_label"]
            return APP_ORDER.index(label) if label in APP_ORDER else len(APP_ORDER)

        return sorted(apps, key=position)


def _add_reports_menu(apps, items):
    """The reports (pages, not models) lead the Reports app in the sidebar and app list."""
    if not items:
        return
    from django.apps import apps as registry
    from django.urls import reverse

    entry = next((app for app in apps if app["app_label"] == "reports"), None)
    if entry is None:
        config = registry.get_app_config("reports")
        entry = {
            "name": config.verbose_name,
            "app_label": "reports",
            "app_url": reverse("admin:reports_index"),
            "has_module_perms": True,
            "models": [],
        }
        apps.append(entry)
    entry["models"] = [
        {
            "model": None,
            "name": item["title"],
            "object_name": item["slug"],
            "perms": {"view": True},
            "admin_url": item["url"],
            "add_url": None,
            "view_only": True,
        }
        for item in items
    ] + entry["models"]
