"""Till API serializers for count cards: validate everything, decide nothing."""

from django.utils.translation import gettext_lazy
from rest_framework import serializers

from members.api.serializers import DOCUMENT_NO, ID_IN, MemberRefSerializer


class CountCardSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text=gettext_lazy("Give this as card_id to use a visit."))
    package = serializers.CharField()
    name = serializers.CharField()
    visits_left = serializers.IntegerField()
    expires_at = serializers.DateTimeField()


class CountCardVisitSerializer(serializers.Serializer):
    visit_no = serializers.CharField(
        max_length=40,
        required=False,
        allow_blank=True,
        default="",
        validators=[DOCUMENT_NO],
        help_text=gettext_lazy(
            "Unique per store for ever; a repeat answers the first visit. Optional for tills "
            "written before it existed (then only as safe as the Idempotency-Key)."
        ),
    )
    member = MemberRefSerializer()
    card_id = serializers.IntegerField(**ID_IN)
    visits = serializers.IntegerField(min_value=1, max_value=100, default=1)


class CountCardVisitResultSerializer(serializers.Serializer):
    visit_no = serializers.CharField(allow_blank=True)
    card_id = serializers.IntegerField()
    name = serializers.CharField()
    visits_used = serializers.IntegerField()
    visits_left = serializers.IntegerField()
    expires_at = serializers.DateTimeField()
