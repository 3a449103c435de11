// Django's autocompletes (select2) name their box by the text shown in it, and their text box by
// nothing: an empty one has no name for screen readers. Each gets its field's label once select2 has
// drawn it (after the page's load; in a row added to an inline, when the row is added).
(function () {
  "use strict";

  function nameAutocompletes(root) {
    root.querySelectorAll("select.admin-autocomplete[id]").forEach(function (select) {
      const label = document.querySelector('label[for="' + select.id + '"]');
      const shown = document.getElementById("select2-" + select.id + "-container");
      if (label && shown) {
        shown.setAttribute("aria-label", label.textContent.replace(/\*/g, "").trim());
      }
    });
  }

  window.addEventListener("load", function () {
    // jQuery's ready handlers (select2's start) may run just after "load": name them after both.
    nameAutocompletes(document);
    window.setTimeout(function () {
      nameAutocompletes(document);
    });
  });
  document.addEventListener("formset:added", function (event) {
    window.setTimeout(function () {
      nameAutocompletes(event.target);
    });
  });

  // A list's filter panel is fetched when it is first shown (templates/admin/change_list_filter_panel.html):
  // its drop-downs with a search box (select2) and its calendars start as they would on a page's load.
  document.addEventListener("htmx:load", function (event) {
    const panel = event.target;
    if (!(panel instanceof Element) || !panel.matches("[data-filter-panel]")) {
      return;
    }
    const jQuery = window.django && window.django.jQuery;
    if (jQuery && jQuery.fn.djangoFilterSelect2) {
      jQuery(panel).find(".unfold-filter-autocomplete").djangoFilterSelect2();
    }
    if (window.DateTimeShortcuts) {
      panel.querySelectorAll("input.vDateField").forEach(function (input) {
        window.DateTimeShortcuts.addCalendar(input);
        window.DateTimeShortcuts.addTimezoneWarning(input);
      });
    }
    nameAutocompletes(panel);
  });
})();
