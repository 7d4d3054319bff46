"""Extra views that exercise the API infrastructure itself (idempotency, 500s) with real writes.

Mounted on top of the real URLconf with `@pytest.mark.urls("tests.api.urls_for_tests")`.
"""

import time

from django.db import connection
from django.urls import include, path
from django.utils.translation import gettext_lazy as _
from rest_framework.response import Response

from core.errors import DomainError
from stores.api.views import IdempotentTillAPIView
from stores.models import Region


class RegionExists(DomainError):
    code = "region_exists"
    status = 409
    default_message = _("exists")


class CreateRegionView(IdempotentTillAPIView):
    """Creates a Region (a real write); "boom" fails unexpectedly after writing."""

    def create(self, request):
        code = request.data["code"]
        if Region.objects.filter(code=code).exists():
            raise RegionExists(fields={"code": ["taken"]})
        region = Region.objects.create(code=code, name=code)
        time.sleep(float(request.data.get("sleep", 0)))
        if code == "boom":
            raise RuntimeError("secret internals")
        return Response({"id": region.pk, "code": code}, status=201)


class WriteThenRefuseView(IdempotentTillAPIView):
    """Writes, then refuses: the refusal is answered and kept, the write is not."""

    def create(self, request):
        Region.objects.create(code=request.data["code"], name="half")
        raise RegionExists(fields={"code": ["refused after writing"]})


class RawCollisionView(IdempotentTillAPIView):
    """Its first try inserts with plain SQL, no savepoint of its own, and collides with a row
    already there (as a till racing another till would); its second try sees the row."""

    tries = 0

    def create(self, request):
        code = request.data["code"]
        type(self).tries += 1
        if type(self).tries > 1 and Region.objects.filter(code=code).exists():
            raise RegionExists(fields={"code": ["taken"]})
        with connection.cursor() as cursor:
            cursor.execute("INSERT INTO stores_region (code, name) VALUES (%s, %s)", [code, code])
        return Response({"code": code}, status=201)


urlpatterns = [
    path("api/v1/test/regions", CreateRegionView.as_view()),
    path("api/v1/test/half", WriteThenRefuseView.as_view()),
    path("api/v1/test/collision", RawCollisionView.as_view()),
    path("", include("config.urls")),
]
