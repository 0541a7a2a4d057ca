"""HTML pages for people: one blueprint per module, templates in `templates/<blueprint>/`."""
