"""The importable resources, registered by the apps that own them (``AppConfig.ready()``), the way
``admin.site.register`` works: the imports app never names them."""

_specs: dict = {}


def register(spec_class):
    """Make a resource importable (a subclass of ``imports.spec.ImportSpec``); usable as a decorator."""
    if spec_class.name in _specs and _specs[spec_class.name] is not spec_class:
        raise ValueError(f"An import named {spec_class.name!r} is registered already.")
    _specs[spec_class.name] = spec_class
    return spec_class


def spec_class(name: str):
    try:
        return _specs[name]
    except KeyError:
        raise LookupError(f"No import of {name!r} is registered.") from None


def new_spec(name: str, *, create_missing: bool = False):
    """A fresh spec of the resource for one import (it may hold what that import reads once);
    ``create_missing``: create what rows refer to and doesn't exist yet (categories of products)."""
    return spec_class(name)(create_missing=create_missing)


def resource_choices() -> list[tuple[str, str]]:
    """The ``ImportJob.resource`` choices: every registered resource."""
    return [(name, spec.label) for name, spec in _specs.items()]
