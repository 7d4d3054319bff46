from django.utils.translation import gettext as _
from import_export import fields, resources, widgets

from .models import Staff


class YesNoWidget(widgets.BooleanWidget):
    """是 / 否 in the export (the library writes 1 / 0, a number in a text column)."""

    def render(self, value, obj=None, **kwargs):
        if value is None:
            return ""
        return _("yes") if value else _("no")


class StaffResource(resources.ModelResource):
    # Column titles as head office reads them (the export's headers and the field choices).
    employee_no = fields.Field(attribute="employee_no", column_name="工号")
    name = fields.Field(attribute="name", column_name="姓名")
    store = fields.Field(attribute="store__code", column_name="门店")
    # The role as the admin names it (店长, 收银员), not its stored value.
    role = fields.Field(attribute="get_role_display", column_name="岗位")
    is_active = fields.Field(attribute="is_active", column_name="在职", widget=YesNoWidget())

    class Meta:
        model = Staff
        fields = ("employee_no", "name", "store", "role", "is_active")
        export_order = fields
