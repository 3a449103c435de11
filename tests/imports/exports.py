"""Product and customer exports as WooCommerce and Shopify write them, for the presets' tests.

WooCommerce (Products > Export): its 51 columns, PHP's ``fputcsv`` quoting (a cell with a space, a
comma, a quote or a line end is quoted), a UTF-8 byte order mark; simple, variable, variation,
grouped and external products; ``Published`` 1 / 0 / -1; categories as ``A > B`` paths, several
comma-separated; pictures as a comma-separated list; descriptions in HTML.

Shopify (Products > Export): a product's rows one after the other under its Handle: the first with
the product and its first variant, then more variants, then rows that only add a picture.
"""

WOOCOMMERCE_HEADERS = [
    "ID", "Type", "SKU", "Name", "Published", "Is featured?", "Visibility in catalog", "Short description",
    "Description", "Date sale price starts", "Date sale price ends", "Tax status", "Tax class", "In stock?",
    "Stock", "Backorders allowed?", "Sold individually?", "Weight (lbs)", "Length (in)", "Width (in)",
    "Height (in)", "Allow customer reviews?", "Purchase note", "Sale price", "Regular price", "Categories",
    "Tags", "Shipping class", "Images", "Download limit", "Download expiry days", "Parent",
    "Grouped products", "Upsells", "Cross-sells", "External URL", "Button text", "Position",
    "Attribute 1 name", "Attribute 1 value(s)", "Attribute 1 visible", "Attribute 1 global",
    "Attribute 2 name", "Attribute 2 value(s)", "Attribute 2 visible", "Attribute 2 global",
    "Meta: _wpcom_is_markdown", "Download 1 name", "Download 1 URL", "Download 2 name", "Download 2 URL",
]  # fmt: skip
MEDIA = "https://shop.example.com/wp-content/uploads/2026/01"
TEE_TEXT = "<p>A <strong>V-neck</strong> tee in organic cotton.</p>\n<ul><li>Machine wash</li></ul>"

WOOCOMMERCE_ROWS = [
    # A variable product: sold through its variations below (a parent with no price of its own).
    {"ID": "44", "Type": "variable", "SKU": "woo-vneck-tee", "Name": "V-Neck T-Shirt", "Published": "1",
     "Is featured?": "1", "Short description": "This is a variable product.", "Description": TEE_TEXT,
     "In stock?": "1", "Categories": "Clothing > Tshirts, Clothing", "Tags": "cotton, summer",
     "Images": f"{MEDIA}/vneck-tee.jpg, {MEDIA}/vneck-tee-back.jpg", "Attribute 1 name": "Color",
     "Attribute 1 value(s)": "Blue, Red", "Attribute 1 visible": "1", "Attribute 1 global": "1",
     "Attribute 2 name": "Size", "Attribute 2 value(s)": "Large, Small"},
    {"ID": "45", "Type": "simple", "SKU": "woo-hoodie-logo", "Name": "Hoodie with Logo", "Published": "1",
     "Is featured?": "0", "Description": "<p>Hoodie, 80% cotton.</p>", "In stock?": "1", "Stock": "12",
     "Sale price": "42", "Regular price": "45", "Categories": "Clothing > Hoodies",
     "Images": f"{MEDIA}/hoodie-logo.jpg"},
    {"ID": "46", "Type": "simple", "SKU": "woo-beanie", "Name": "Beanie", "Published": "-1",
     "Is featured?": "0", "Description": "Warm, \"woolly\" and soft.", "In stock?": "1", "Stock": "30",
     "Regular price": "20", "Categories": "Clothing > Accessories", "Images": f"{MEDIA}/beanie.jpg"},
    {"ID": "47", "Type": "simple, downloadable, virtual", "SKU": "woo-album", "Name": "Album",
     "Published": "0", "Is featured?": "1", "Description": "A music album.", "In stock?": "1",
     "Regular price": "15", "Categories": "Music", "Download 1 name": "Single 1",
     "Download 1 URL": f"{MEDIA}/single.jpg"},
    {"ID": "48", "Type": "grouped", "SKU": "logo-collection", "Name": "Logo Collection", "Published": "1",
     "Categories": "Clothing", "Grouped products": "woo-hoodie-logo, woo-beanie"},
    {"ID": "49", "Type": "external", "SKU": "wp-pennant", "Name": "WordPress Pennant", "Published": "1",
     "Regular price": "11.05", "Categories": "Decor", "External URL": "https://mercantile.example.org/pennant",
     "Button text": "Buy on the WordPress swag store!"},
    # Its variations: each with its own SKU and price; category, description and featured from "id:44".
    {"ID": "76", "Type": "variation", "SKU": "woo-vneck-tee-red", "Name": "V-Neck T-Shirt - Red, Large",
     "Published": "1", "Is featured?": "0", "In stock?": "1", "Stock": "7", "Regular price": "20",
     "Sale price": "18", "Images": f"{MEDIA}/vneck-tee-red.jpg", "Parent": "id:44", "Position": "1",
     "Attribute 1 name": "Color", "Attribute 1 value(s)": "Red", "Attribute 1 global": "1",
     "Attribute 2 name": "Size", "Attribute 2 value(s)": "Large"},
    {"ID": "77", "Type": "variation", "SKU": "woo-vneck-tee-blue", "Name": "V-Neck T-Shirt - Blue, Small",
     "Published": "1", "Is featured?": "0", "In stock?": "1", "Stock": "3", "Regular price": "18",
     "Parent": "woo-vneck-tee", "Position": "2", "Attribute 1 name": "Color",
     "Attribute 1 value(s)": "Blue", "Attribute 2 name": "Size", "Attribute 2 value(s)": "Small"},
]  # fmt: skip


def fputcsv(rows: list[list[str]]) -> str:
    """CSV as PHP's fputcsv writes it (what WooCommerce's exporter calls): quoted when a cell has a
    space, a comma, a quote or a line end; quotes doubled; lines ended by a newline."""

    def cell(value: str) -> str:
        if any(ch in value for ch in ' ,"\n\r\t'):
            return '"' + value.replace('"', '""') + '"'
        return value

    return "".join(",".join(cell(value) for value in row) + "\n" for row in rows)


def woocommerce_export(rows=WOOCOMMERCE_ROWS) -> bytes:
    table = [WOOCOMMERCE_HEADERS] + [[row.get(header, "") for header in WOOCOMMERCE_HEADERS] for row in rows]
    return b"\xef\xbb\xbf" + fputcsv(table).encode("utf-8")


SHOPIFY_HEADERS = [
    "Handle", "Title", "Body (HTML)", "Vendor", "Product Category", "Type", "Tags", "Published",
    "Option1 Name", "Option1 Value", "Option2 Name", "Option2 Value", "Option3 Name", "Option3 Value",
    "Variant SKU", "Variant Grams", "Variant Inventory Tracker", "Variant Inventory Qty",
    "Variant Inventory Policy", "Variant Fulfillment Service", "Variant Price", "Variant Compare At Price",
    "Variant Requires Shipping", "Variant Taxable", "Variant Barcode", "Image Src", "Image Position",
    "Image Alt Text", "Gift Card", "SEO Title", "SEO Description",
    "Google Shopping / Google Product Category",
    "Google Shopping / Gender", "Google Shopping / Age Group", "Google Shopping / MPN",
    "Google Shopping / Condition", "Google Shopping / Custom Product", "Variant Image", "Variant Weight Unit",
    "Variant Tax Code", "Cost per item", "Included / United States", "Price / United States",
    "Compare At Price / United States", "Status",
]  # fmt: skip
CDN = "https://cdn.shopify.com/s/files/1/0000/0001/products"


def _variant(sku, qty, price, **more):
    return {"Variant SKU": sku, "Variant Grams": "200", "Variant Inventory Tracker": "shopify",
            "Variant Inventory Qty": qty, "Variant Inventory Policy": "deny",
            "Variant Fulfillment Service": "manual", "Variant Price": price,
            "Variant Requires Shipping": "TRUE", "Variant Taxable": "TRUE", "Variant Weight Unit": "kg",
            **more}  # fmt: skip


SHOPIFY_ROWS = [
    {"Handle": "ocean-blue-shirt", "Title": "Ocean Blue Shirt",
     "Body (HTML)": "<p>Ocean blue cotton shirt with a narrow collar.</p>", "Vendor": "partners-demo",
     "Product Category": "Apparel & Accessories > Clothing > Shirts & Tops", "Type": "Shirts",
     "Tags": "men", "Published": "TRUE", "Option1 Name": "Size", "Option1 Value": "xs",
     **_variant("OBS-XS", "5", "50.00", **{"Variant Compare At Price": "60.00"}),
     "Image Src": f"{CDN}/ocean-blue-shirt.jpg?v=1", "Image Position": "1", "Image Alt Text": "Front",
     "Gift Card": "FALSE", "Status": "active"},
    {"Handle": "ocean-blue-shirt", "Option1 Value": "s", **_variant("OBS-S", "8", "50.00")},
    {"Handle": "ocean-blue-shirt", "Option1 Value": "m", **_variant("OBS-M", "0", "52.00"),
     "Variant Image": f"{CDN}/ocean-blue-shirt-m.jpg?v=1"},
    {"Handle": "ocean-blue-shirt", "Image Src": f"{CDN}/ocean-blue-shirt-back.jpg?v=1", "Image Position": "2",
     "Image Alt Text": "Back"},
    {"Handle": "classic-leather-jacket", "Title": "Classic Leather Jacket",
     "Body (HTML)": "<p>Leather, <em>lined</em>.</p>", "Vendor": "partners-demo", "Type": "Jackets",
     "Tags": "women", "Published": "TRUE", "Option1 Name": "Title", "Option1 Value": "Default Title",
     **_variant("CLJ-1", "2", "80.00"), "Image Src": f"{CDN}/jacket.jpg?v=1", "Image Position": "1",
     "Gift Card": "FALSE", "Status": "active"},
    {"Handle": "classic-leather-jacket", "Image Src": f"{CDN}/jacket-side.jpg?v=1", "Image Position": "2"},
    {"Handle": "winter-hat", "Title": "Winter Hat", "Body (HTML)": "Wool.", "Type": "Hats",
     "Published": "TRUE", "Option1 Name": "Color", "Option1 Value": "Grey", "Option2 Name": "Size",
     "Option2 Value": "One size", **_variant("HAT-GREY", "9", "25.00"), "Status": "draft"},
]  # fmt: skip


def shopify_export(rows=SHOPIFY_ROWS) -> bytes:
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(SHOPIFY_HEADERS)
    writer.writerows([row.get(header, "") for header in SHOPIFY_HEADERS] for row in rows)
    return buffer.getvalue().encode("utf-8")


SHOPIFY_CUSTOMER_HEADERS = [
    "Customer ID", "First Name", "Last Name", "Email", "Accepts Email Marketing", "Default Address Company",
    "Default Address Address1", "Default Address Address2", "Default Address City",
    "Default Address Province Code", "Default Address Country Code", "Default Address Zip",
    "Default Address Phone", "Phone", "Accepts SMS Marketing", "Total Spent", "Total Orders", "Note",
    "Tax Exempt", "Tags",
]  # fmt: skip


def shopify_customers_export() -> bytes:
    rows = [
        ["'7001", "Ada", "Lovelace", "ada@example.com", "yes", "Analytical Ltd", "12 St James's Square", "",
         "London", "", "GB", "SW1Y 4JH", "+44 20 7946 0000", "", "no", "120.00", "2", "", "no", "vip"],
        ["'7002", "Grace", "Hopper", "GRACE@example.com", "no", "", "1 Navy Way", "Apt 3", "Arlington", "VA",
         "US", "22201", "", "+1 703 555 0100", "no", "0.00", "0", "", "no", ""],
    ]  # fmt: skip
    return fputcsv([SHOPIFY_CUSTOMER_HEADERS, *rows]).encode("utf-8")
