"""Email alerts: subscriptions to a search or to the agenda, confirmed by email, and the
digests that `kb alertes envoyer` sends (no Flask here: the web pages are in
webapp/alerts/).

Modules, in the order of a subscription's life: `searches` (what is followed), `store`
(SQLite), `tokens` (signed links), `links` (their addresses), `messages` (the emails),
`mailer` (SMTP), `digest` (the sending run), `commands` (`kb alertes`).
"""
