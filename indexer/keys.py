"""Names shared by every way of searching (no engine import: the `kb` command loads fast)."""

# The filter keys, everywhere: `kb search --filter`, the web app's parameters, the API.
FILTER_KEYS = (
    "piliers",
    "thematiques",
    "dispositifs",
    "publics",
    "type",
    "centre",
    "region",
    "departement",
    "commune",
    "epci",
    "qpv",
    "annee",
)

SORTS = ("pertinence", "date")
