"""The catalogue's exports (django-import-export resources): the columns its imports read, so an
exported file imports back unchanged (``inventory.product_import``, ``inventory.category_import``)."""

from import_export import fields, resources, widgets

from .models import Category, Product
from .selectors import CategoryIndex


class CategoryPathWidget(widgets.Widget):
    """A category as its path (``Electronics/Phones``), from one read of the categories per export."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.index = None

    def render(self, value, obj=None, **kwargs):
        if value is None:
            return ""
        if self.index is None:
            self.index = CategoryIndex()
        return self.index.path_of.get(value, "")


class CategoryResource(resources.ModelResource):
    name = fields.Field(attribute="name", column_name="name")
    slug = fields.Field(attribute="slug", column_name="slug")
    parent = fields.Field(attribute="parent_id", column_name="parent", widget=CategoryPathWidget())
    description = fields.Field(attribute="description", column_name="description")

    class Meta:
        model = Category
        fields = ["name", "slug", "parent", "description"]

    def get_queryset(self):
        return Category.objects.all()

    def export(self, queryset=None, **kwargs):
        dataset = super().export(queryset=queryset, **kwargs)
        if "parent" in dataset.headers and "name" in dataset.headers:
            # Parents first, so the file imports back in one go.
            dataset = dataset.sort("parent")
        return dataset


class ProductResource(resources.ModelResource):
    sku = fields.Field(attribute="sku", column_name="sku")
    name = fields.Field(attribute="name", column_name="name")
    category = fields.Field(attribute="category_id", column_name="category", widget=CategoryPathWidget())
    price = fields.Field(attribute="price", column_name="price", widget=widgets.DecimalWidget())
    stock = fields.Field(attribute="stock", column_name="stock", widget=widgets.IntegerWidget())
    low_stock_threshold = fields.Field(
        attribute="low_stock_threshold", column_name="low_stock_threshold", widget=widgets.IntegerWidget()
    )
    is_published = fields.Field(
        attribute="is_published", column_name="is_published", widget=widgets.BooleanWidget()
    )
    is_featured = fields.Field(
        attribute="is_featured", column_name="is_featured", widget=widgets.BooleanWidget()
    )
    description = fields.Field(attribute="description", column_name="description")

    class Meta:
        model = Product
        fields = [
            "sku",
            "name",
            "category",
            "price",
            "stock",
            "low_stock_threshold",
            "is_published",
            "is_featured",
            "description",
        ]

    def get_queryset(self):
        return Product.objects.all()
