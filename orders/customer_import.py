"""Customers as an importable resource, keyed by e-mail address (compared lower-case, as stored).

Every column of the file sets its value: an empty phone or address cell clears it, so a file exported
from the list imports back unchanged.
"""

from imports.cells import parse_email, text
from imports.spec import CLEAR, Column, ImportSpec

from .models import Customer


class CustomerImport(ImportSpec):
    name = "customers"
    label = "Customers"
    model = Customer
    key = "email"
    key_label = "e-mail address"
    permissions = ("orders.add_customer", "orders.change_customer")
    view_permission = "orders.view_customer"
    columns = (
        Column(
            "email",
            parse=parse_email,
            required=True,
            missing="is empty: every customer needs one",
            synonyms=("e-mail", "email address", "e-mail address", "mail"),
            example="ada@example.com",
        ),
        Column(
            "name",
            parse=text(max_length=200, what="a name"),
            required=True,
            synonyms=("full name", "customer name", "customer", "contact"),
            example="Ada Lovelace",
        ),
        Column(
            "phone",
            parse=text(max_length=40, what="a phone number"),
            when_empty=CLEAR,
            synonyms=("telephone", "phone number", "mobile", "tel"),
            example="+44 20 7946 0000",
        ),
        Column(
            "default_shipping_address",
            parse=text(max_length=20_000, what="an address"),
            when_empty=CLEAR,
            synonyms=("address", "shipping address", "delivery address", "street address"),
            example="12 St James's Square, London SW1Y 4JH",
            help="the address orders are shipped to (lines kept)",
        ),
    )
