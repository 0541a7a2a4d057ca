"""What partners and machines read: feeds, JSON API, OAI-PMH, sitemap, embeddable list."""
