"""Names shared by every way of searching (no engine import: the `kb` command loads fast)."""

# The filter keys, everywhere: `kb search --filter`, the web app's parameters, the API.
FILTER_KEYS = (
    "piliers",
    "thematiques",
    "dispositifs",
    "publics",
    "type",
    "format",  # events and training cycles
    "mode",
    "centre",
    "region",
    "departement",
    "commune",
    "epci",
    "qpv",
    "annee",
)

# `date`: the date written in the sheet (of the action or document); `ajout`: when the
# resource entered the base (first publication), newest first.
SORTS = ("pertinence", "date", "ajout")
