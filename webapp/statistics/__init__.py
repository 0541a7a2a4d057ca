"""Statistics and annual reviews: `/statistiques` with its exports (CSV, ODS, JSON) and
`/centres/<id>/bilan/<année>`, computed by indexer/statistics.py."""
