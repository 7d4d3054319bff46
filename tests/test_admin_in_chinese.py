"""Every admin page reads in Chinese: third-party apps' pages and widgets included.

Head office walks every page the admin has (generated from the admin site, see
tests/admin_walk.py) in zh-hans; no page may show an English UI word that a translation
should have replaced. The data is Chinese, so an English word on a page is untranslated UI.
"""

import json
import re

import pytest
from axes.models import AccessAttempt, AccessLog
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from members.models import Member
from tests.admin_walk import build_world, response_text, walk

pytestmark = pytest.mark.django_db

# UI words seen untranslated before issue 12, and the stock admin's own. Matched as whole
# words, case-sensitively: codes and data (SH001, POS77, gold) do not match.
ENGLISH_UI = [
    "Add", "Change", "Delete", "Save", "Search", "Filter", "History", "Choose", "Remove all",
    "Select", "Action", "Yes", "No", "Unknown", "Name", "Prefix", "Created", "Revoked",
    "Expires", "Has expired", "Need not be unique", "Can add", "Can change", "Can delete",
    "Can view", "Access attempts", "Access failures", "Access logs", "Access attempt",
    "API Key", "API key", "Periodic", "Interval", "Crontab", "Clocked", "Solar", "Schedule",
    "Arguments", "Execution Options", "Task", "Enabled", "Description", "Birthday", "Changed",
    "After you", "Locked Out", "Meta Data", "Form Data", "IP Address", "User Agent",
    "Page not found", "Server error", "Forbidden", "Export", "Import", "Submit", "Resource",
    "Format", "Chain total", "Head-office console", "Balances", "seconds", "Points",
    "Stored value", "Store", "Member", "Tier", "Confirm", "Cancel", "Back",
]  # fmt: skip
WORD = re.compile(r"(?<![A-Za-z])(" + "|".join(map(re.escape, ENGLISH_UI)) + r")(?![A-Za-z])")


def english_words(text):
    return sorted(set(WORD.findall(text)))


@pytest.fixture
def world(chain, head_office, bj001_manager):
    markers = build_world(chain, head_office=head_office, bj001_manager=bj001_manager)
    # A change in a member's history, as the admin records it when a birthday is edited.
    member = Member.objects.order_by("pk").first()
    LogEntry.objects.create(
        user=head_office,
        content_type=ContentType.objects.get_for_model(Member),
        object_id=str(member.pk),
        object_repr=str(member),
        action_flag=CHANGE,
        change_message=json.dumps([{"changed": {"fields": ["birthday"]}}]),
    )
    # One of each third-party record the admin lists: a periodic task on a crontab, a
    # failed login and a login log.
    crontab = CrontabSchedule.objects.create(minute="10", hour="0")
    PeriodicTask.objects.create(name="积分过期", task="loyalty.expire_points", crontab=crontab)
    AccessAttempt.objects.create(
        username="someone", ip_address="10.0.0.1", user_agent="ua", http_accept="*/*",
        path_info="/admin/login/", get_data="", post_data="", failures_since_start=3,
    )
    AccessLog.objects.create(
        username="admin", ip_address="10.0.0.1", user_agent="ua", http_accept="*/*",
        path_info="/admin/login/",
    )
    return markers


def test_every_admin_page_reads_in_chinese_for_head_office(client, world, admin_user):
    # The demo's head-office login is a superuser in the 总部 group: it sees every page,
    # the user, group, login-lockout and periodic-task pages included.
    client.force_login(admin_user)

    # Words come from the page's kind, not its row: two objects of each model suffice.
    pages = walk(client, per_model=2)

    untranslated = {url: english_words(text) for url, text in pages if english_words(text)}
    assert untranslated == {}
    assert len(pages) > 200  # every page of every registered admin, not a handful


def test_the_walk_finds_english_when_the_third_party_catalogue_is_missing(
    client, world, admin_user, settings
):
    # Without locale/overrides, django-axes' pages are English again: the walk must say so.
    settings.LOCALE_PATHS = [settings.BASE_DIR / "locale"]
    client.force_login(admin_user)

    pages = walk(client, models={AccessAttempt})

    assert any(english_words(text) for _url, text in pages)


def test_a_members_history_names_the_changed_field_in_chinese(client, head_office, chain):
    from core.models import Source
    from members.services import open_member

    member = open_member(phone="13812345678", home_store=chain["SH001"], source=Source.ADMIN)
    client.force_login(head_office)
    page = client.get(reverse("admin:members_member_change", args=[member.pk]))
    form = page.context["adminform"].form
    data = {name: form[name].value() or "" for name in form.fields}
    data.update(birthday="1990-05-01", tags=[])

    client.post(reverse("admin:members_member_change", args=[member.pk]), data)

    entry = LogEntry.objects.get(object_id=str(member.pk))
    assert "birthday" in entry.change_message  # the msgid, not the label "Birthday"
    history = response_text(
        client.get(reverse("admin:members_member_history", args=[member.pk]))
    )
    # The history page (django-simple-history) lists each change by the field's Chinese name.
    assert "生日:" in history.replace(" ", "") and "1990" in history
    assert "Birthday" not in history and "birthday" not in history


def test_the_group_page_names_permissions_in_chinese(client, admin_user, head_office):
    client.force_login(admin_user)
    group_id = head_office.groups.get().pk

    page = response_text(client.get(reverse("admin:auth_group_change", args=[group_id])))

    assert "可以增加会员" in page.replace(" ", "")
    assert not re.search(r"Can (add|change|delete|view) ", page)


def test_the_filter_widget_and_calendar_speak_chinese(client, head_office):
    """The strings of the admin's JavaScript (filter_horizontal, calendar) come from the
    JavaScript catalogue, which the walk above cannot see rendered."""
    client.force_login(head_office)

    script = client.get(reverse("admin:jsi18n")).content.decode()

    catalogue = json.loads(re.search(r"const newcatalog = (\{.*?\});", script, re.S).group(1))
    for msgid in ("Choose all %s", "Remove all %s", "Choose selected %s", "Remove selected %s",
                  'Choose %s by selecting them and then select the "Choose" arrow button.'):
        assert re.search(r"[\u4e00-\u9fff]", catalogue[msgid]), msgid
    assert catalogue["one letter Wednesday\x04W"] == "三"


@pytest.mark.parametrize(
    "template", ["400.html", "403.html", "403_csrf.html", "404.html", "500.html"]
)
def test_the_error_pages_are_in_chinese(template):
    with translation.override("zh-hans"):
        page = render_to_string(template)

    assert re.search(r"[\u4e00-\u9fff]{4}", page)
    assert english_words(response_text_of(page)) == []


def response_text_of(page):
    from tests.admin_walk import visible_text

    return visible_text(page)


def test_the_404_page_of_the_admin_is_chinese(client, head_office):
    client.force_login(head_office)

    response = client.get("/admin/no/such/page/")

    assert response.status_code == 404
    assert english_words(response_text(response)) == []
