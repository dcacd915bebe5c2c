// A paged, filterable, sortable list of API objects, paged by the API itself
// (page, page_size, name, use_regex, sort, sort_reverse): nothing loads a whole collection.

import { api, ApiError } from "./api.js";
import { h, replaceChildren, fmtNumber } from "./dom.js";

const PAGE_SIZES = [20, 50, 100, 500];
const remembered = new Map();

function validRegex(text) {
  try {
    new RegExp(text);
    return true;
  } catch {
    return false;
  }
} // list id -> its state, kept while the page is open

export class PagedList {
  /**
   * id: remembers filter/page/sort across visits; url(): the API path; columns:
   * [{label, sort (API sort key) | null, cell(item), num, cls}]; rowName(item): data-name;
   * fields: the API columns to ask for (keeps pages of big objects small).
   */
  constructor({ id, url, columns, rowName, fields = null, sort = "name", empty = "Nothing here." }) {
    this.url = url;
    this.columns = columns;
    this.rowName = rowName;
    this.fields = fields;
    this.empty = empty;
    this.state = remembered.get(id) || { page: 1, pageSize: 100, name: "", regex: false, sort, reverse: false };
    remembered.set(id, this.state);
    this.el = this.build();
  }

  build() {
    const st = this.state;
    this.filter = h("input", { class: "filter", type: "search", placeholder: "Filter", value: st.name, "aria-label": "Filter by name" });
    let typing;
    this.filter.addEventListener("input", () => {
      clearTimeout(typing);
      typing = setTimeout(() => { st.name = this.filter.value; st.page = 1; this.refresh(); }, 250);
    });
    const regex = h("input", { type: "checkbox", class: "filter-regex" });
    regex.checked = st.regex;
    regex.addEventListener("change", () => { st.regex = regex.checked; st.page = 1; this.refresh(); });
    this.pageSize = h("select", { class: "page-size", "aria-label": "Page size" },
      PAGE_SIZES.map((n) => h("option", { value: n, selected: n === st.pageSize }, `${n} per page`)));
    this.pageSize.addEventListener("change", () => { st.pageSize = Number(this.pageSize.value); st.page = 1; this.refresh(); });
    this.prev = h("button", { type: "button", class: "page-prev", "aria-label": "Previous page", onclick: () => this.go(-1) }, "‹ Prev");
    this.next = h("button", { type: "button", class: "page-next", "aria-label": "Next page", onclick: () => this.go(1) }, "Next ›");
    this.info = h("span", { class: "page-info" }, "…");
    this.head = h("thead", {}, this.headRow());
    this.body = h("tbody");
    return h("div", { class: "paged-list" },
      h("div", { class: "list-tools" },
        h("div", { class: "filters" }, this.filter, h("label", { class: "muted" }, regex, " Regex")),
        h("div", { class: "pager" }, this.pageSize, this.prev, this.info, this.next)),
      h("div", { class: "table-wrap" }, h("table", { class: "list" }, this.head, this.body)));
  }

  /** The columns shown now (a column's `when()` may hide it). */
  visible() {
    return this.columns.filter((c) => !c.when || c.when());
  }

  headRow() {
    const st = this.state;
    this.shown = this.visible();
    return h("tr", {}, this.shown.map((c) => {
      const classes = [c.num ? "num" : "", c.sort ? "sortable" : "", c.sort && c.sort === st.sort ? "sorted" : "",
        c.sort === st.sort && st.reverse ? "reverse" : ""].filter(Boolean).join(" ");
      const th = h("th", { class: classes || null, tabindex: c.sort ? 0 : null, "aria-sort": c.sort === st.sort ? (st.reverse ? "descending" : "ascending") : null }, c.label);
      if (c.sort) {
        const sortBy = () => {
          st.reverse = st.sort === c.sort ? !st.reverse : false;
          st.sort = c.sort;
          st.page = 1;
          this.head.replaceChildren(this.headRow());
          this.refresh();
        };
        th.addEventListener("click", sortBy);
        th.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); sortBy(); } });
      }
      return th;
    }));
  }

  go(delta) {
    this.state.page = Math.max(1, this.state.page + delta);
    this.refresh();
  }

  query() {
    const st = this.state;
    const q = { page: st.page, page_size: st.pageSize, name: st.name, use_regex: String(st.regex), pagination: "true" };
    if (st.sort) { q.sort = st.sort; q.sort_reverse = String(st.reverse); }
    if (this.fields) q.columns = this.fields.join(",");
    return q;
  }

  /** Fetch the current page and redraw the rows (the tools are never rebuilt). */
  async refresh() {
    if (this.state.regex && !validRegex(this.state.name)) {
      this.info.textContent = "Not a regular expression";
      return; // (a half-typed one: the API would answer 400)
    }
    const asked = JSON.stringify(this.query());
    this.lastAsked = asked;
    let data;
    try {
      data = await api.get(this.url(), this.query());
    } catch (error) {
      if (error instanceof ApiError && error.status === 400 && this.state.page > 1) {
        this.state.page = 1; // (the page ran out: objects went away, or a new filter)
        return this.refresh();
      }
      throw error;
    }
    if (asked !== this.lastAsked) return; // a newer request is on its way
    this.render(data);
  }

  render(data) {
    const st = this.state;
    const items = data.items || [];
    const first = items.length ? (data.page - 1) * data.page_size + 1 : 0;
    const filtered = data.filtered_count;
    const of = filtered === data.total_count ? fmtNumber(filtered) : `${fmtNumber(filtered)} (of ${fmtNumber(data.total_count)})`;
    this.info.textContent = `${fmtNumber(first)}–${fmtNumber(first ? first + items.length - 1 : 0)} of ${of}`;
    this.prev.disabled = st.page <= 1;
    this.next.disabled = st.page >= (data.page_count || 1);
    const columns = this.visible();
    if (columns.length !== this.shown.length) this.head.replaceChildren(this.headRow());
    const rows = items.map((item) => h("tr", { dataset: { name: this.rowName(item) } },
      columns.map((c) => h("td", { class: c.cls || (c.num ? "num" : null) }, c.cell(item)))));
    if (!rows.length) rows.push(h("tr", {}, h("td", { class: "empty", colspan: columns.length }, st.name ? "No names match the filter." : this.empty)));
    replaceChildren(this.body, rows);
  }
}
