"""The agenda: events and training cycles by date (page, iCalendar, Atom, JSON API)."""

from . import views  # noqa: F401  (the blueprint, registered by create_app)
