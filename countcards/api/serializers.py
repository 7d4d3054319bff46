"""Till API serializers for count cards: validate everything, decide nothing."""

from django.utils.translation import gettext_lazy
from rest_framework import serializers

from members.api.serializers import ID_IN, MemberRefSerializer


class CountCardSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text=gettext_lazy("Give this as card_id to use a visit."))
    package = serializers.CharField()
    name = serializers.CharField()
    visits_left = serializers.IntegerField()
    expires_at = serializers.DateTimeField()


class CountCardVisitSerializer(serializers.Serializer):
    member = MemberRefSerializer()
    card_id = serializers.IntegerField(**ID_IN)
    visits = serializers.IntegerField(min_value=1, max_value=100, default=1)


class CountCardVisitResultSerializer(serializers.Serializer):
    card_id = serializers.IntegerField()
    name = serializers.CharField()
    visits_used = serializers.IntegerField()
    visits_left = serializers.IntegerField()
    expires_at = serializers.DateTimeField()
