// The query page: replace the plain form with the vendored YASGUI, configured for this
// server's /sparql only. Result IRIs link to the pages of this site, the download and
// "link to this query" links follow the editor, and grouped counts become a bar chart
// (chart.js). Without JavaScript, or when YASGUI fails to load, the plain form stays.
(function () {
  "use strict";

  const app = document.getElementById("query-app");
  const form = document.getElementById("plain-query-form");
  if (!app || !form || typeof window.Yasgui !== "function") {
    return;
  }

  const settings = {
    endpoint: new URL(app.dataset.endpoint, window.location.href).href,
    queryPage: app.dataset.queryPage,
    baseIri: app.dataset.baseIri,
    idPath: app.dataset.idPath,
    resourcePath: app.dataset.resourcePath,
  };
  const SELECT_FORMATS = ["json", "xml", "csv", "tsv"];
  const GRAPH_FORMATS = ["turtle", "ntriples", "jsonld", "rdfxml"];
  // CSV and TSV have no form for the boolean result of an ASK query.
  const ASK_FORMATS = ["json", "xml"];

  // The page of an IRI on this site: /id/… under the base IRI, else /resource?iri=….
  // Mirrors entity_url in service/views/common.py.
  function pageUrl(iri) {
    if (iri.startsWith(settings.baseIri)) {
      const rest = iri.slice(settings.baseIri.length);
      if (rest && !rest.startsWith("/") && !/[#?]|\/\//.test(rest)) {
        return settings.idPath + rest.split("/").map(encodeURIComponent).join("/");
      }
    }
    return settings.resourcePath + "?iri=" + encodeURIComponent(iri);
  }

  function escapeAttribute(text) {
    return text.replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;");
  }

  // YASR 4.6 has no public option for the link target of an IRI cell, so this wraps the
  // table plugin's method that writes the link and swaps in the local page's URL.
  const Table = window.Yasgui.Yasr.plugins.table;
  const writeLink = Table.prototype.getUriLinkFromBinding;
  Table.prototype.getUriLinkFromBinding = function (binding, prefixes) {
    const html = writeLink.call(this, binding, prefixes);
    // DOMPurify, which YASR runs over the link, writes the attributes in double quotes.
    // The local page opens in the same tab, so the target and rel attributes go.
    return html
      .replace(/href=(["'])[^"']*\1/, 'href="' + escapeAttribute(pageUrl(binding.value)) + '"')
      .replace(/\s(target|rel)=(["'])[^"']*\2/g, "");
  };

  const initialQuery = document.getElementById("plain-query").value;
  const yasgui = new window.Yasgui(document.getElementById("yasgui"), {
    requestConfig: { endpoint: settings.endpoint, method: "POST" },
    endpointCatalogueOptions: {
      ...window.Yasgui.defaults.endpointCatalogueOptions,
      getData: () => [{ endpoint: settings.endpoint }],
    },
    copyEndpointOnNewTab: true,
    persistenceId: null,
    populateFromUrl: false,
    autofocus: false,
    yasr: {
      prefixes: {
        id: settings.baseIri,
        nk: "https://notekg.example/ontology#",
        skos: "http://www.w3.org/2004/02/skos/core#",
        schema: "https://schema.org/",
        foaf: "http://xmlns.com/foaf/0.1/",
        dcterms: "http://purl.org/dc/terms/",
        rdf: "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
        rdfs: "http://www.w3.org/2000/01/rdf-schema#",
      },
    },
  });

  app.hidden = false;
  form.hidden = true;

  function currentTab() {
    return yasgui.getTab();
  }

  function currentQuery() {
    const tab = currentTab();
    return tab && tab.getYasqe() ? tab.getYasqe().getValue() : initialQuery;
  }

  function downloadFormats() {
    const tab = currentTab();
    const type = tab && tab.getYasqe() ? tab.getYasqe().getQueryType() : "";
    if (type === "CONSTRUCT" || type === "DESCRIBE") {
      return GRAPH_FORMATS;
    }
    return type === "ASK" ? ASK_FORMATS : SELECT_FORMATS;
  }

  // Point the download links and the "link to this query" link at the editor's query.
  function updateLinks() {
    const query = currentQuery();
    const formats = downloadFormats();
    const holder = document.getElementById("download-links");
    holder.replaceChildren();
    formats.forEach((name, index) => {
      const link = document.createElement("a");
      link.href = app.dataset.endpoint + "?" + new URLSearchParams({ query: query, format: name });
      link.dataset.format = name;
      link.textContent = name;
      if (index > 0) {
        holder.append(", ");
      }
      holder.append(link);
    });
    document.getElementById("reopen-link").href =
      settings.queryPage + "?" + new URLSearchParams({ query: query });
  }

  function updateChart() {
    const tab = currentTab();
    const yasr = tab && tab.getYasr();
    const results = yasr && yasr.results;
    const target = document.getElementById("results-chart");
    if (!results || !results.getVariables || !results.getBindings()) {
      window.notekgChart.clear(target);
      return;
    }
    window.notekgChart.draw(target, results.getVariables(), results.getBindings());
  }

  // Start the results table in YASR's "simple view", which writes literals without their
  // datatype ("17", not "17"^^xsd:integer). The table's own checkbox turns it off.
  function preferSimpleView(tab) {
    const yasr = tab && tab.getYasr();
    const table = yasr && yasr.config.plugins.table;
    if (table && !table.dynamicConfig) {
      table.dynamicConfig = { compact: true, isEllipsed: false };
    }
  }

  // YASGUI's endpoint box and CodeMirror's input area have no label of their own.
  function labelControls() {
    document.querySelectorAll("#yasgui .autocomplete").forEach((input) => {
      input.setAttribute("aria-label", "SPARQL endpoint");
    });
    document.querySelectorAll("#yasgui .CodeMirror textarea").forEach((area) => {
      area.setAttribute("aria-label", "SPARQL query");
    });
  }

  const tab = currentTab();
  preferSimpleView(tab);
  labelControls();
  tab.setQuery(initialQuery);
  updateLinks();

  yasgui.on("tabChange", updateLinks);
  yasgui.on("tabSelect", () => {
    window.setTimeout(() => {
      preferSimpleView(currentTab());
      labelControls();
      updateLinks();
    }, 0);
  });
  yasgui.on("queryResponse", () => window.setTimeout(updateChart, 0));

  // Example links load their query into the editor and run it, in place of a page load.
  document.querySelectorAll(".query-examples a[data-query]").forEach((link) => {
    link.addEventListener("click", (event) => {
      event.preventDefault();
      const active = currentTab();
      active.setQuery(link.dataset.query);
      updateLinks();
      active.getYasqe().query();
      document.getElementById("yasgui").scrollIntoView({ block: "start" });
    });
  });
})();
