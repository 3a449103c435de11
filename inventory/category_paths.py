"""What a product import reads in its category and picture cells, and the categories it creates when
asked to ("create missing categories"): planned while the file is checked, created in the first
batch's transaction, parents first, each with its history row in the import's change set."""

import re

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator

from imports.cells import CellError, text_of
from imports.readers import printable

from .models import Category
from .selectors import CategoryIndex, category_path_key
from .services import category_create

MAX_PICTURES = 50
URL_MAX_LENGTH = 200  # ProductImage.url
_LEVELS = re.compile(r"\s*[>/]\s*")
_validate_url = URLValidator(schemes=["http", "https"])


def category_reference(text: str) -> str:
    """``Clothing > Tshirts`` (WooCommerce) or ``Clothing/Tshirts`` -> ``Clothing/Tshirts``; a slug as
    it is."""
    if ">" not in text and "/" not in text:
        return text
    return "/".join(part for part in _LEVELS.split(text) if part.strip())


def parse_image_urls(value) -> tuple[str, ...]:
    """Picture URLs separated by commas (or spaces, or lines), each http(s) and at most 200 characters."""
    urls = [url for url in re.split(r"[\s,]+", text_of(value)) if url]
    if len(urls) > MAX_PICTURES:
        raise CellError(f"has {len(urls)} pictures (at most {MAX_PICTURES})")
    for url in urls:
        if len(url) > URL_MAX_LENGTH:
            raise CellError(f"“{printable(url)}” is longer than {URL_MAX_LENGTH} characters")
        try:
            _validate_url(url)
        except ValidationError:
            raise CellError(f"“{printable(url)}” is not a picture URL (https://…)") from None
    return tuple(urls)


class MissingCategories:
    """Category paths a file names that don't exist yet, planned level by level."""

    def __init__(self, index: CategoryIndex):
        self.index = index
        self.nodes: dict[str, tuple[int, str]] = {}  # path key -> (depth, name), for new levels
        self.names: dict[str, str] = {}  # name (lower-case) -> the path key of the new level with it
        self.done = False

    def plan(self, reference: str) -> str:
        """The path key of ``reference`` (``Clothing/Tshirts``), its missing levels planned; a level
        whose name another category has already is refused (names are unique in a shop)."""
        parts = [part.strip() for part in reference.split("/") if part.strip()]
        key = ""
        for depth, name in enumerate(parts):
            key = f"{key}/{category_path_key(name)}" if key else category_path_key(name)
            if key in self.index.by_path or key in self.nodes:
                continue
            lower = name.lower()
            existing = self.index.by_name.get(lower)
            if existing is not None:
                raise CellError(
                    f"“{printable(name)}” names the category {self.index.path_of[existing]} already: "
                    f"names are unique, so “{printable(reference)}” can't be created; use that category, or "
                    "rename one of them"
                )
            if self.names.get(lower, key) != key:
                raise CellError(
                    f"“{printable(name)}” would be created twice (under two parents): names are unique; "
                    "rename one of them"
                )
            self.names[lower] = key
            self.nodes[key] = (depth, name)
        return key

    def shown(self, key: str) -> str:
        """A path as the file wrote it (``Clothing/Tshirts``)."""
        parts, prefix = [], ""
        for part in key.split("/"):
            prefix = f"{prefix}/{part}" if prefix else part
            node = self.nodes.get(prefix)
            found = self.index.by_path.get(prefix)
            parts.append(node[1] if node else self.index.path_of[found].rsplit("/", 1)[-1] if found else part)
        return "/".join(parts)

    def tree(self) -> list[tuple[int, str, bool]]:
        """(depth, name, new) of the new categories and the existing ones above them, in tree order."""
        keys = set(self.nodes)
        for key in self.nodes:
            parts = key.split("/")
            keys.update("/".join(parts[:n]) for n in range(1, len(parts)))
        return [
            (key.count("/"), self.shown(key).rsplit("/", 1)[-1], key in self.nodes) for key in sorted(keys)
        ]

    def create(self, *, reason: str, user) -> int:
        """Create the planned categories (once, inside the batch's transaction); how many."""
        if self.done:
            return 0
        self.done = True
        created = 0
        for key, (_, name) in sorted(self.nodes.items(), key=lambda item: (item[1][0], item[0])):
            if key in self.index.by_path:
                continue  # created meanwhile (a retried import)
            parent_key = key.rsplit("/", 1)[0] if "/" in key else None
            category = Category(name=name, parent_id=self.index.by_path[parent_key] if parent_key else None)
            self.index.add(category_create(category=category, reason=reason, user=user))
            created += 1
        return created

    def created_id(self, key: str) -> int:
        return self.index.by_path[key]
