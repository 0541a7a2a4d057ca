"""Screenshots of the home, search and resource pages (desktop 1280 px, mobile 375 px).

    python3 scripts/screenshots.py [--sortie docs/images] [--pleine-page]

Serves the demo content (./content, or $KB_CONTENT) from a temporary index on a free port,
and drives Debian's Chromium (/usr/bin/chromium, or $CHROMIUM) with Playwright.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playwright.sync_api import sync_playwright  # noqa: E402

from webapp import create_app  # noqa: E402
from webapp.serving import ServerThread  # noqa: E402

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PAGES = {
    "accueil": "/",
    "recherche": "/recherche?q=renouvellement+urbain&piliers=cadre-de-vie",
    "ressource": "/ressources/crpv-demo-nord/gusp-diagnostic-en-marchant",
}
VIEWPORTS = {
    "bureau": {"width": 1280, "height": 900},
    "mobile": {"width": 375, "height": 812},
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sortie", default=str(ROOT / "docs" / "images"), help="dossier de sortie")
    parser.add_argument(
        "--pleine-page", action="store_true", help="capturer toute la hauteur des pages"
    )
    args = parser.parse_args()
    output = Path(args.sortie)
    output.mkdir(parents=True, exist_ok=True)
    content = os.environ.get("KB_CONTENT") or str(ROOT / "content")
    executable = os.environ.get("CHROMIUM", "/usr/bin/chromium")

    with tempfile.TemporaryDirectory(prefix="kb-captures-") as index:
        app = create_app({"KB_CONTENT": content, "KB_INDEX": index})
        with ServerThread(app) as base_url, sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=executable, args=CHROMIUM_ARGS, headless=True
            )
            try:
                for viewport_name, viewport in VIEWPORTS.items():
                    context = browser.new_context(viewport=viewport, locale="fr-FR")
                    page = context.new_page()
                    for page_name, path in PAGES.items():
                        page.goto(base_url + path, wait_until="load")
                        target = output / f"{page_name}-{viewport_name}.png"
                        page.screenshot(path=str(target), full_page=args.pleine_page)
                        print(f"Capture enregistrée : {target}")
                    context.close()
            finally:
                browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
