"""The base of every domain error.

Services raise a subclass with a stable machine `code`; the till API turns the code into an
HTTP status and the `{"code", "detail", "fields"}` body, the admin shows `message`.
"""


class DomainError(Exception):
    code = "error"
    status = 422
    default_message = ""

    def __init__(self, message=None, *, code=None, fields=None):
        self.message = str(message or self.default_message or self.code)
        if code:
            self.code = code
        self.fields = fields or {}
        super().__init__(self.message)
