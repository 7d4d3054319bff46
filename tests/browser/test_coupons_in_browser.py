"""Coupons in a real browser: head office tries a basket on a template's preview, reads the
issued coupons and exports them, and finds a member's coupons on the member page."""

from decimal import Decimal

from openpyxl import load_workbook

from core.models import Source
from coupons.models import CouponTemplate
from coupons.services import issue_coupon, save_coupon_template
from members.services import open_member


def make_cash10():
    template = CouponTemplate(code="CASH10", name="满50减10")
    save_coupon_template(
        template=template, terms={"face_value": Decimal("10"), "threshold": Decimal("50")}
    )
    return template


def test_head_office_previews_a_basket_and_exports_the_coupons(tmp_path, login, head_office, chain):
    template = make_cash10()
    member = open_member(
        phone="13812345678", name="张三", home_store=chain["SH001"], source=Source.ADMIN
    )
    coupon = issue_coupon(template=template, member=member, occasion="t", source=Source.ADMIN)
    page = login(head_office)
    base = page.url.split("/admin/")[0]

    page.goto(f"{base}/admin/coupons/coupontemplate/{template.pk}/change/")
    assert "满50减10" in page.content()  # the terms, described in Chinese
    page.click("text=用购物篮试算")
    page.fill("#id_lines", "A, fresh, 1, 1200.00\nB, grocery, 2, 34.56")
    page.click("input[type=submit]")
    result = page.locator("#preview-result")
    assert "此券可用" in result.inner_text()
    assert "1,224.56" in result.inner_text()  # what is left to pay, with separators
    assert "10.00" in result.locator("tfoot").inner_text()

    page.fill("#id_lines", "A, fresh, 1, 49.99")
    page.click("input[type=submit]")
    assert "未达使用门槛" in page.locator("#preview-result").inner_text()
    assert "0.01" in page.locator("#preview-result").inner_text()

    page.goto(f"{base}/admin/coupons/coupon/")
    assert coupon.code in page.content()
    with page.expect_download() as download:
        page.click("a.export-link")
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    rows = list(load_workbook(saved).active.iter_rows(values_only=True))
    assert rows[1][0] == coupon.code and rows[1][5] == "可用"

    page.goto(f"{base}/admin/members/member/{member.pk}/change/")
    panel = page.locator(".coupons-panel")
    assert coupon.code in panel.inner_text() and "满50减10" in panel.inner_text()
