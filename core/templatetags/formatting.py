"""`{% load formatting %}`: `{{ amount|money }}` -> 14,154.24, `{{ amount|yuan }}` ->
¥14,154.24, `{{ seconds|duration }}` -> 1 分 5 秒."""

from django import template

from core.formatting import format_duration, format_money

register = template.Library()


@register.filter
def money(value):
    return format_money(value)


@register.filter
def yuan(value):
    return format_money(value, currency=True)


@register.filter
def duration(value):
    return format_duration(value)
