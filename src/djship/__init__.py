"""djship: the container setup experienced teams build by hand for a Django project,
generated into the project and then operated (dev, prod, and beyond)."""

__version__ = "0.1.0"
