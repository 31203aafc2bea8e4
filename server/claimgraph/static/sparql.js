// The query page's script (a file, not inline: the CSP allows no inline script). Progressive:
// without it the plain form works; with it, YASGUI (vendored in static/yasgui/) takes the
// form's place as editor and result view, and the example picker fills whichever is shown.
(function () {
  var pick = document.getElementById("example-pick");
  var textarea = document.getElementById("query");
  var yasgui = null;
  var host = document.getElementById("yasgui");
  var form = textarea && textarea.form;
  if (window.Yasgui && host && form) {
    host.hidden = false;
    document.getElementById("plain-query").hidden = true;
    if (pick) {  // the picker stays in view, above the editor
      var p = document.createElement("p");
      p.appendChild(document.querySelector("label[for=example-pick]"));
      p.appendChild(pick);
      host.parentNode.insertBefore(p, host);
    }
    yasgui = new window.Yasgui(host, {
      requestConfig: { endpoint: form.action, method: "POST" },
      copyEndpointOnNewTab: false,
      populateFromUrl: false,
      persistenceId: null,  // no state kept in the browser: a shared link shows its query
      endpointCatalogueOptions: { getData: function () { return []; } },
      yasqe: { value: textarea.value },
    });
    var tab = yasgui.getTab();
    // IRIs under the data's base open in this browser, as in the plain form's table
    var base = host.getAttribute("data-base");
    tab.getYasr().on("drawn", function () {
      host.querySelectorAll(".yasr a[href^='" + base + "']").forEach(function (a) {
        a.setAttribute("href", "/" + a.getAttribute("href").slice(base.length));
        a.removeAttribute("target");
      });
      // names for what YASR's table leaves unnamed: the row-number column, the page size
      host.querySelectorAll(".yasr th").forEach(function (th) {
        if (th.textContent.trim()) return;
        var name = document.createElement("span");
        name.className = "visually-hidden";
        name.textContent = "row";
        th.appendChild(name);
      });
      host.querySelectorAll(".yasr select.tableSizer").forEach(function (select) {
        select.setAttribute("aria-label", "Rows per page");
      });
    });
    // a shared link (?query=…) shows its results, as the plain page does
    if (new URLSearchParams(location.search).has("query")) tab.getYasqe().query();
    // name the editor's own text field for assistive technology, as the plain form's label does
    var input = host.querySelector(".CodeMirror textarea");
    if (input) input.setAttribute("aria-label", "SPARQL query");
  }
  if (!pick) return;
  pick.hidden = false;
  pick.addEventListener("change", function () {
    var t = document.getElementById("example-" + pick.value);
    if (!t) return;
    if (yasgui) yasgui.getTab().setQuery(t.content.textContent);
    else textarea.value = t.content.textContent;
  });
})();
