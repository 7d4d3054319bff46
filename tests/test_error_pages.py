"""What a user sees when something is wrong, with DEBUG off as in production and the demo:
the admin's look, Chinese (English when chosen), and nothing of the error itself."""

import pytest
from django.test import Client

SECRET = "secret detail"


@pytest.fixture(autouse=True)
def production(settings):
    settings.DEBUG = False


def test_a_mistyped_url_gets_the_chinese_404(client):
    response = client.get("/adimn/members/")

    page = response.content.decode()
    assert response.status_code == 404
    assert "页面不存在" in page and 'lang="zh-hans"' in page
    assert "URLconf" not in page and "Using the" not in page
    assert 'href="/static/admin/css/base.css"' in page  # the admin's look
    assert 'value="en"' in page  # and English one click away


def test_the_404_page_is_english_for_who_chose_english(client):
    client.cookies["django_language"] = "en"

    page = client.get("/adimn/").content.decode()

    assert "Page not found" in page and "页面不存在" not in page


@pytest.mark.urls("tests.urls_for_error_pages")
def test_a_page_that_fails_gets_the_chinese_500_and_no_detail():
    response = Client(raise_request_exception=False).get("/boom/")

    page = response.content.decode()
    assert response.status_code == 500
    assert "服务器错误" in page
    assert SECRET not in page and "Traceback" not in page and "RuntimeError" not in page


def test_an_expired_form_gets_the_chinese_403(db):
    response = Client(enforce_csrf_checks=True).post(
        "/admin/login/", {"username": "x", "password": "y"}
    )

    page = response.content.decode()
    assert response.status_code == 403
    assert "表单已过期" in page and "CSRF" not in page
