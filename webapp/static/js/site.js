/* Progressive enhancement only: every page works without this file.
   - On small screens, the filter panel of the search page starts folded.
   - A "Copier le lien" button next to a resource's permanent link. */
(function () {
  "use strict";

  function foldFiltersOnSmallScreens() {
    var filters = document.querySelector("details.filters");
    if (!filters || !window.matchMedia) {
      return;
    }
    var small = window.matchMedia("(max-width: 61.99em)");
    // Active filters stay visible as removable chips above the results.
    if (small.matches) {
      filters.open = false;
    }
  }

  function addCopyButton() {
    var link = document.querySelector(".permalink-url");
    if (!link || !navigator.clipboard) {
      return;
    }
    var button = document.createElement("button");
    button.type = "button";
    button.className = "copy-button";
    button.textContent = "Copier le lien";
    var status = document.createElement("span");
    status.className = "copy-status";
    status.setAttribute("role", "status");
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(link.href).then(
        function () {
          status.textContent = "Lien copié";
        },
        function () {
          status.textContent = "Copie impossible : sélectionnez le lien";
        }
      );
    });
    var paragraph = link.parentNode;
    paragraph.appendChild(document.createElement("br"));
    paragraph.appendChild(button);
    paragraph.appendChild(status);
  }

  function start() {
    foldFiltersOnSmallScreens();
    addCopyButton();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
