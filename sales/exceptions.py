from django.utils.translation import gettext_lazy as _

from core.errors import DomainError


class InvalidSale(DomainError):
    code = "invalid"
    status = 400
    default_message = _("The sale is not valid.")


class DuplicateReceipt(DomainError):
    code = "duplicate_receipt"
    status = 409
    default_message = _("This receipt was already posted with different content.")


class RefundExceedsSale(DomainError):
    code = "refund_exceeds_sale"
    default_message = _("The refund is more than what is left of the sale.")


class DuplicateRefund(DomainError):
    code = "duplicate_refund"
    status = 409
    default_message = _("This refund no was already used with different content.")


class SaleNotFound(DomainError):
    code = "sale_not_found"
    status = 404
    default_message = _("No sale with this receipt number in this store.")
