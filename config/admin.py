"""The admin site: titled for the product, apps ordered the way head office works, the
dashboard as its home page and the reports menu in its app list."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

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


class LoyaltyAdminSite(admin.AdminSite):
    site_header = _("Chain membership and loyalty")
    site_title = _("Membership back-office")
    index_title = _("Head-office console")

    def get_urls(self):
        from reports.views import admin_urls

        return admin_urls(self) + super().get_urls()

    def index(self, request, extra_context=None):
        """The dashboard for anyone who may see reports; Django's app list otherwise."""
        from reports.views import can_view, dashboard

        if can_view(request.user):
            return dashboard(request, self)
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
