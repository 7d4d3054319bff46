from axes.apps import AppConfig as AxesBaseConfig
from django.contrib.admin.apps import AdminConfig
from django.utils.translation import gettext_lazy as _
from rest_framework_api_key.apps import RestFrameworkApiKeyConfig


class LoyaltyAdminConfig(AdminConfig):
    default_site = "config.admin.LoyaltyAdminSite"

    def ready(self):
        super().ready()  # autodiscover: every app's admin module is registered now
        from . import admin_thirdparty

        admin_thirdparty.localize()


# Third-party apps whose names the admin shows untranslated ("Axes", "API Key Permissions"):
# the same apps under a translated name.


class AxesConfig(AxesBaseConfig):
    verbose_name = _("Login lockout")


class APIKeyConfig(RestFrameworkApiKeyConfig):
    verbose_name = _("API keys (library)")
