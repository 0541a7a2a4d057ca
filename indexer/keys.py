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
# Their names in French, one value chosen ("Pilier : Cohésion sociale").
FILTER_NAMES = {
    "piliers": "Pilier",
    "thematiques": "Thématique",
    "dispositifs": "Dispositif",
    "publics": "Public",
    "type": "Type",
    "format": "Format",
    "mode": "Mode",
    "centre": "Centre",
    "region": "Région",
    "departement": "Département",
    "commune": "Commune",
    "epci": "Intercommunalité",
    "qpv": "Quartier prioritaire",
    "annee": "Année",
}

SORTS = ("pertinence", "date", "ajout")
