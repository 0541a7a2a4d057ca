"""Load profile for `python -m bench.load`: what project teams do on the site."""

from __future__ import annotations

import json
import os
import random
from urllib.parse import urlencode

from locust import HttpUser, between, task

from bench.run import QUERIES

RESOURCES = json.loads(os.environ.get("KB_BENCH_RESOURCES", "[]"))


class ProjectTeam(HttpUser):
    wait_time = between(0.0, 0.1)  # close to saturation: we measure throughput

    @task(6)
    def search(self) -> None:
        text, filters = random.choice(QUERIES)
        self.client.get("/recherche?" + urlencode({"q": text, **filters}), name="/recherche")

    @task(3)
    def resource(self) -> None:
        if RESOURCES:
            self.client.get(random.choice(RESOURCES), name="/ressources/[id]")

    @task(1)
    def home(self) -> None:
        self.client.get("/", name="/")
