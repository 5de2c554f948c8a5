// Suggestions under the header search box, from /search.json, as the reader types.
// Without JavaScript the box is a plain search form, and Enter still submits the form
// unless a suggestion is selected with the arrow keys.
(function () {
  "use strict";

  const DELAY_MS = 150;
  const form = document.querySelector("form.site-search[data-suggest-url]");
  const input = form && form.querySelector("input[name=q]");
  if (!input) {
    return;
  }

  const list = document.createElement("ul");
  list.id = "site-search-suggestions";
  list.className = "suggestions-list";
  list.setAttribute("role", "listbox");
  list.setAttribute("aria-label", "Suggestions");
  list.hidden = true;
  form.append(list);

  input.setAttribute("role", "combobox");
  input.setAttribute("aria-autocomplete", "list");
  input.setAttribute("aria-controls", list.id);
  input.setAttribute("aria-expanded", "false");
  input.setAttribute("autocomplete", "off");

  let timer = 0;
  let active = -1;
  let latestRequest = 0;

  function options() {
    return Array.from(list.querySelectorAll("[role=option]"));
  }

  function close() {
    list.hidden = true;
    list.replaceChildren();
    active = -1;
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
  }

  function highlight(index) {
    const items = options();
    items.forEach((item, position) => item.setAttribute("aria-selected", String(position === index)));
    active = index;
    if (index >= 0 && items[index]) {
      input.setAttribute("aria-activedescendant", items[index].id);
    } else {
      input.removeAttribute("aria-activedescendant");
    }
  }

  function render(results) {
    list.replaceChildren();
    results.forEach((result, index) => {
      const item = document.createElement("li");
      item.id = `site-search-suggestion-${index}`;
      item.setAttribute("role", "option");
      item.setAttribute("aria-selected", "false");
      const link = document.createElement("a");
      link.href = result.url;
      link.tabIndex = -1;
      link.textContent = result.label;
      item.append(link);
      if (result.class) {
        const kind = document.createElement("span");
        kind.className = "suggestion-class";
        kind.textContent = ` (${result.class})`;
        item.append(kind);
      }
      list.append(item);
    });
    list.hidden = results.length === 0;
    input.setAttribute("aria-expanded", String(results.length > 0));
    active = -1;
  }

  async function fetchSuggestions(text) {
    const request = ++latestRequest;
    const url = `${form.dataset.suggestUrl}?${new URLSearchParams({ q: text })}`;
    try {
      const response = await fetch(url, { headers: { Accept: "application/json" } });
      if (!response.ok || request !== latestRequest) {
        return;
      }
      render(await response.json());
    } catch (error) {
      close();
    }
  }

  input.addEventListener("input", () => {
    window.clearTimeout(timer);
    const text = input.value.trim();
    if (text.length < 2) {
      close();
      return;
    }
    timer = window.setTimeout(() => fetchSuggestions(text), DELAY_MS);
  });

  input.addEventListener("keydown", (event) => {
    const items = options();
    if (list.hidden || items.length === 0) {
      return;
    }
    if (event.key === "ArrowDown") {
      event.preventDefault();
      highlight((active + 1) % items.length);
    } else if (event.key === "ArrowUp") {
      event.preventDefault();
      highlight(active <= 0 ? items.length - 1 : active - 1);
    } else if (event.key === "Enter" && active >= 0) {
      event.preventDefault();
      window.location.href = items[active].querySelector("a").href;
    } else if (event.key === "Escape") {
      close();
    }
  });

  document.addEventListener("click", (event) => {
    if (!form.contains(event.target)) {
      close();
    }
  });
})();
