"""The admin site: titled for the product, apps ordered the way head office works."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

# Head office thinks members first, then sales, points, stored value, count cards, campaigns,
# stores, and settings last.
APP_ORDER = [
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

    def get_app_list(self, request, app_label=None):
        apps = super().get_app_list(request, app_label)

        def position(app):
            label = app["app_label"]
            return APP_ORDER.index(label) if label in APP_ORDER else len(APP_ORDER)

        return sorted(apps, key=position)
