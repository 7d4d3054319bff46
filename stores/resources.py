from import_export import fields, resources

from .models import Staff


class StaffResource(resources.ModelResource):
    # Column titles as head office reads them (the export's headers and the field choices).
    employee_no = fields.Field(attribute="employee_no", column_name="工号")
    name = fields.Field(attribute="name", column_name="姓名")
    store = fields.Field(attribute="store__code", column_name="门店")
    role = fields.Field(attribute="role", column_name="岗位")
    is_active = fields.Field(attribute="is_active", column_name="在职")

    class Meta:
        model = Staff
        fields = ("employee_no", "name", "store", "role", "is_active")
        export_order = fields
