from import_export import fields, resources

from .models import Staff


class StaffResource(resources.ModelResource):
    store = fields.Field(attribute="store__code", column_name="门店")

    class Meta:
        model = Staff
        fields = ("employee_no", "name", "store", "role", "is_active")
        export_order = fields
