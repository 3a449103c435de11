"""Shopify's product and customer exports, as Shopify writes them.

Products: the rows of one product share its ``Handle``, one after the other. The first row carries
the product (Title, Body (HTML), Type, Tags, Published, the option names) and its first variant; the
next rows carry more variants (options, Variant SKU, Variant Price, Variant Inventory Qty) and more
pictures (``Image Src`` at ``Image Position``), or a picture only. Each variant becomes a product of
its own, named "Title - Small, Red" (no suffix for Shopify's "Default Title"), with the product's
description, category (its Type) and pictures; a picture-only row is skipped with the reason; a
variant without a SKU is a row to fix (products here are found by their SKU). A draft or archived
product is imported unpublished.

Customers: the name is "First Name Last Name"; the default address's parts make the address.
"""

from .base import Preset, flag_word, is_blank_row, joined, refused, set_aside

MAX_GROUP = 5000  # rows of one handle held at once (Shopify allows 2,048 variants and 250 pictures)
PRODUCT_LEVEL = (
    "title",
    "body html",
    "vendor",
    "product category",
    "type",
    "tags",
    "published",
    "status",
    "seo title",
    "seo description",
    "option1 name",
    "option2 name",
    "option3 name",
)
OPTION_VALUES = ("option1 value", "option2 value", "option3 value")
UNPUBLISHED_STATUSES = {"draft", "archived"}


class ShopifyProducts(Preset):
    name = "shopify"
    label = "Shopify product export"
    resource = "products"
    summary = (
        "Each variant with its SKU becomes a product (“Title - Small, Red”) with its product's "
        "description, Type as its category and pictures; rows that only add a picture are skipped with "
        "the reason; draft and archived products are imported unpublished."
    )
    signature = ("Handle", "Title", "Body (HTML)", "Variant SKU", "Variant Price")
    group_by = "Handle"
    columns = {
        "Variant SKU": "sku",
        "Title": "name",
        "Body (HTML)": "description",
        "Type": "category",
        "Variant Price": "price",
        "Variant Inventory Qty": "stock",
        "Published": "is_published",
        "Image Src": "images",
    }
    uses = {
        "Handle": "groups a product's rows: its variants and its extra pictures",
        "Option1 Value": "names each variant",
        "Option2 Value": "names each variant",
        "Option3 Value": "names each variant",
        "Status": "a draft or archived product is imported unpublished",
        "Variant Image": "a variant's own picture comes first",
        "Image Position": "orders the pictures",
    }
    notes = {
        "Variant Compare At Price": "no sale prices here: the variant price is the price",
        "Vendor": "no vendors here",
        "Tags": "products have no tags here",
        "Product Category": "the Type is the category (map this column instead for Shopify's taxonomy)",
        "Option1 Name": "each variant's name says its options",
        "Variant Barcode": "no barcodes here",
        "Cost per item": "no costs here",
    }

    def rows(self, layout):
        group: list = []
        handle = None
        for cells in layout.source_rows():
            this = "" if is_blank_row(cells) else layout.cell(cells, "handle")
            if group and ((this and this != handle) or len(group) >= MAX_GROUP):
                yield from self._group(layout, handle, group)
                group = []
            if this:
                handle = this
            group.append(cells)
        if group:
            yield from self._group(layout, handle, group)

    def _group(self, layout, handle, rows):
        """One product's rows, in their order: its variants as products, the rest set aside."""
        product = dict.fromkeys(PRODUCT_LEVEL, "")
        pictures: list[tuple[int, int, str]] = []
        for order, cells in enumerate(rows):
            if is_blank_row(cells):
                continue
            for header in PRODUCT_LEVEL:
                product[header] = product[header] or layout.cell(cells, header)
            source = layout.cell(cells, "image src")
            if source:
                position = layout.cell(cells, "image position")
                pictures.append((int(position) if position.isdigit() else 10_000, order, source))
        images = [source for *_, source in sorted(pictures)]
        for cells in rows:
            if is_blank_row(cells):
                yield cells
            elif not layout.cell(cells, "handle"):
                yield refused("", "has no Handle: every row of a Shopify export names its product")
            elif not any(
                layout.cell(cells, header) for header in ("variant sku", "variant price", *OPTION_VALUES)
            ):
                yield set_aside(f"an extra picture of “{handle}”: added to the pictures of its variants")
            else:
                yield self._variant(layout, handle, cells, product, images)

    def _variant(self, layout, handle, cells, product, images):
        values = layout.values(cells)
        for target, source in layout.source_of.items():
            if source in PRODUCT_LEVEL and not str(values.get(target) or "").strip():
                values[target] = product[source]
        if layout.comes_from("sku", "variant sku") and not str(values.get("sku") or "").strip():
            return refused(
                "sku",
                f"a variant of “{handle}” without a Variant SKU: products here are found by their SKU; give "
                "it one",
            )
        if layout.comes_from("name", "title"):
            options = [layout.cell(cells, header) for header in OPTION_VALUES]
            options = [option for option in options if option and option != "Default Title"]
            values["name"] = joined(product["title"], ", ".join(options), separator=" - ")
        if (
            layout.comes_from("is_published", "published")
            and product["status"].lower() in UNPUBLISHED_STATUSES
        ):
            values["is_published"] = flag_word(False)
        if layout.comes_from("images", "image src"):
            own = layout.cell(cells, "variant image")
            values["images"] = ", ".join(dict.fromkeys([own, *images] if own else images))
        return layout.row(values)


class ShopifyCustomers(Preset):
    name = "shopify-customers"
    label = "Shopify customer export"
    resource = "customers"
    summary = "The name is “First Name Last Name”; the default address's parts make the address."
    signature = ("First Name", "Last Name", "Email", "Total Spent")
    columns = {
        "Email": "email",
        "First Name": "name",
        "Phone": "phone",
        "Default Address Address1": "default_shipping_address",
        "Address1": "default_shipping_address",
    }
    uses = {
        "Last Name": "joined to the first name",
        "Default Address Company": "part of the address",
        "Default Address Address2": "part of the address",
        "Default Address City": "part of the address",
        "Default Address Province Code": "part of the address",
        "Default Address Country Code": "part of the address",
        "Default Address Zip": "part of the address",
        "Default Address Phone": "the phone when Phone is empty",
        "Company": "part of the address",
        "Address2": "part of the address",
        "City": "part of the address",
        "Province Code": "part of the address",
        "Country Code": "part of the address",
        "Zip": "part of the address",
    }
    notes = {
        "Customer ID": "customers are found by their e-mail address here",
        "Accepts Email Marketing": "no marketing consent here",
        "Accepts Marketing": "no marketing consent here",
        "Accepts SMS Marketing": "no marketing consent here",
        "Total Spent": "counted from orders here",
        "Total Orders": "counted from orders here",
        "Tags": "customers have no tags here",
        "Note": "customers have no notes here",
        "Tax Exempt": "tax is set per shop here",
    }

    def rows(self, layout):
        for cells in layout.source_rows():
            if is_blank_row(cells):
                yield cells
                continue
            values = layout.values(cells)
            if layout.comes_from("name", "first name"):
                values["name"] = joined(layout.cell(cells, "first name"), layout.cell(cells, "last name"))
            if layout.comes_from("phone", "phone") and not layout.cell(cells, "phone"):
                values["phone"] = layout.cell(cells, "default address phone")
            source = layout.source_of.get("default_shipping_address", "")
            if source in ("default address address1", "address1"):
                values["default_shipping_address"] = self._address(
                    layout, cells, source.removesuffix("address1")
                )
            yield layout.row(values)

    @staticmethod
    def _address(layout, cells, prefix: str) -> str:
        def part(name):
            return layout.cell(cells, prefix + name)

        province = part("province code") or part("province")
        country = part("country code") or part("country")
        lines = [part("company"), part("address1"), part("address2"), joined(part("zip"), part("city"))]
        return "\n".join(line for line in [*lines, joined(province, country)] if line)
