"""A promotion's page in a real browser: weekdays are seven checkboxes 周一…周日, and the store
and tier pickers (filter_horizontal) speak Chinese (issue 12)."""

from loyalty.models import EarningRule


def test_a_member_day_is_ticked_not_typed(admin_page, head_office, chain):  # noqa: F811
    page = admin_page(head_office)

    page.goto(f"{page.base_url}/admin/loyalty/earningrule/add/")
    labels = page.locator("#id_weekdays label").all_inner_texts()
    assert [label.strip() for label in labels] == ["周一", "周二", "周三", "周四", "周五", "周六",
                                                   "周日"]
    picker = page.locator("#id_stores_from").locator("xpath=ancestor::div[@class='selector']")
    picker_text = picker.inner_text()
    assert "Choose" not in picker_text and "Remove" not in picker_text
    assert "全部" in picker_text  # 选择全部 / 移除全部

    page.fill("#id_name", "周三会员日")
    page.select_option("#id_kind", "multiplier")
    page.check("#id_weekdays input[value='3']")
    page.click("input[name=_save]")
    page.wait_for_url("**/admin/loyalty/earningrule/")

    assert EarningRule.objects.get(name="周三会员日").weekdays == "3"
    assert "周三" in page.locator("#result_list").inner_text()
