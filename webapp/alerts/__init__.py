"""Email alerts on the site: the subscription form and the pages of the emails' links."""

from . import views  # noqa: F401  (the blueprint, registered by create_app)
