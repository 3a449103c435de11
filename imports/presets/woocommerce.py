"""WooCommerce's product export (Products > Export, its 51 columns), as WooCommerce writes it.

- Simple products are products; a **variable** product is sold through its **variations** (rows of
  type ``variation`` naming it in ``Parent``, by ``id:44`` or by SKU), each with its own SKU and price:
  the variations are imported, the variable product is skipped with the reason, and each variation
  takes its parent's category, description and pictures where it has none of its own, and its
  "featured" flag (WooCommerce features products, not variations).
  Grouped and external products are skipped too (no price of their own; sold on another site).
- ``Categories`` holds paths (``Clothing > Tshirts``), several of them comma-separated: a product
  here has one category, the deepest one named.
- ``Published`` is 1 (published), 0 (private) or -1 (draft); ``Is featured?`` is 1 or 0.
- ``Images`` is a comma-separated list of picture URLs; ``Description`` is HTML, kept as written.
"""

from .base import Preset, deepest_path, flag_word, is_blank_row, joined, refused, set_aside

PUBLISHED = {"1": True, "0": False, "-1": False}  # published, private, draft


class WooCommerceProducts(Preset):
    name = "woocommerce"
    label = "WooCommerce product export"
    resource = "products"
    summary = (
        "Simple products and each variation (with its own SKU and price) become products; variable, "
        "grouped and external products are skipped with the reason. Variations take their parent's "
        "category, description and pictures; “Clothing > Tshirts” is a category path."
    )
    signature = ("ID", "Type", "SKU", "Name", "Published", "Is featured?", "Regular price", "Parent")
    columns = {
        "SKU": "sku",
        "Name": "name",
        "Categories": "category",
        "Regular price": "price",
        "Stock": "stock",
        "Low stock amount": "low_stock_threshold",
        "Published": "is_published",
        "Is featured?": "is_featured",
        "Description": "description",
        "Images": "images",
    }
    uses = {
        "Type": "variable, grouped and external products are skipped; variations are imported",
        "ID": "finds a variation's parent",
        "Parent": "a variation takes its parent's category, description and pictures",
        "Attribute 1 value(s)": "names a variation that has no name",
    }
    notes = {
        "Sale price": "no sale prices here: the regular price is the price",
        "Date sale price starts": "no sale prices here",
        "Date sale price ends": "no sale prices here",
        "Short description": "the description is imported",
        "Tags": "products have no tags here",
        "Visibility in catalog": "Published says whether a product shows",
        "In stock?": "stock is a quantity here: the Stock column",
        "Backorders allowed?": "no backorders here",
        "Tax status": "tax is set per shop here",
        "Tax class": "tax is set per shop here",
        "Shipping class": "no shipping classes here",
        "Upsells": "no related products here",
        "Cross-sells": "no related products here",
        "Grouped products": "grouped products are skipped",
    }

    def __init__(self):
        self._parents = None

    def rows(self, layout):
        parents = self._parents_of(layout)
        for cells in layout.source_rows():
            if is_blank_row(cells):
                yield cells
                continue
            kinds = {kind.strip().lower() for kind in layout.cell(cells, "type").split(",")}
            if "variable" in kinds:
                yield set_aside(
                    "a variable product: its variations are imported, each with its own SKU and price; the "
                    "product that groups them is not"
                )
            elif "grouped" in kinds:
                yield set_aside("a grouped product: a set of other products, with no price of its own")
            elif "external" in kinds:
                yield set_aside("an external product: sold on another site")
            else:
                values = self._values(layout, cells)
                if "variation" in kinds:
                    values = self._inherit(layout, cells, values, parents)
                yield values if not isinstance(values, dict) else layout.row(values)

    def _values(self, layout, cells) -> dict:
        values = layout.values(cells)
        if layout.comes_from("category", "categories"):
            values["category"] = deepest_path(str(values["category"] or ""))
        if layout.comes_from("is_published", "published"):
            published = str(values["is_published"] or "").strip()
            if published in PUBLISHED:
                values["is_published"] = flag_word(PUBLISHED[published])
        return values

    def _inherit(self, layout, cells, values, parents):
        """A variation's values, with its parent's where it has none of its own."""
        reference = layout.cell(cells, "parent")
        parent = parents.get(reference.lower(), {})
        for target, header in (
            ("category", "categories"),
            ("description", "description"),
            ("images", "images"),
        ):
            if layout.comes_from(target, header) and not str(values.get(target) or "").strip():
                values[target] = parent.get(header, "")
        if parent and layout.comes_from("is_featured", "is featured"):
            values["is_featured"] = parent["is featured"]  # a variation is featured with its product
        if layout.comes_from("name", "name") and not str(values.get("name") or "").strip() and parent:
            attributes = [layout.cell(cells, f"attribute {n} value s") for n in (1, 2, 3)]
            values["name"] = joined(
                parent.get("name", ""), joined(*attributes, separator=", "), separator=" - "
            )
        if layout.comes_from("category", "categories") and not values.get("category"):
            return refused(
                "category",
                f"a variation of “{reference or '?'}”, which isn't in the file: a variation takes its "
                "parent's category; give it one, or export its parent with it",
            )
        return values

    def _parents_of(self, layout) -> dict[str, dict]:
        """The variable products of the file by ``id:<ID>`` and by SKU (lower-case): what their
        variations take from them. Read once per import."""
        if self._parents is None:
            self._parents = {}
            for cells in layout.source_rows():
                if "variable" not in layout.cell(cells, "type").lower():
                    continue
                parent = {
                    "name": layout.cell(cells, "name"),
                    "categories": deepest_path(layout.cell(cells, "categories")),
                    "description": layout.cell(cells, "description"),
                    "images": layout.cell(cells, "images"),
                    "is featured": layout.cell(cells, "is featured"),
                }
                identifier, sku = layout.cell(cells, "id"), layout.cell(cells, "sku")
                if identifier:
                    self._parents[f"id:{identifier}".lower()] = parent
                if sku:
                    self._parents[sku.lower()] = parent
        return self._parents
