// Query: a read-only SPARQL box over the space, results in a table, the server's errors in its words.

import { describeError, request } from "./api.js";
import { errorBox, field, h } from "./dom.js";
import { spaceTabs } from "./layout.js";

const PREFIXES = `PREFIX core:  <http://vital.ai/ontology/vital-core#>
PREFIX vital: <http://vital.ai/ontology/vital#>
PREFIX haley: <http://vital.ai/ontology/haley-ai-kg#>
PREFIX vg:    <http://vitalgraph.ai/ontology/vitalgraph#>
`;

const EXAMPLES = [
  ["Files, largest first", `${PREFIXES}
SELECT ?file ?name ?bytes ?type WHERE {
  ?file a vital:FileNode ; core:hasName ?name .
  OPTIONAL { ?file vital:hasFileLength ?bytes }
  OPTIONAL { ?file vital:hasFileType ?type }
}
ORDER BY DESC(?bytes)
LIMIT 100`],
  ["Organizations and their files", `${PREFIXES}
SELECT ?org ?orgName ?file WHERE {
  ?org haley:hasKGEntityType haley:OrganizationEntity ; core:hasName ?orgName .
  OPTIONAL {
    ?frameEdge a haley:Edge_hasEntityKGFrame ; core:hasEdgeSource ?org ; core:hasEdgeDestination ?frame .
    ?slotEdge a haley:Edge_hasKGSlot ; core:hasEdgeSource ?frame ; core:hasEdgeDestination ?slot .
    ?slot haley:hasUriSlotValue ?file .
  }
}
LIMIT 100`],
  ["Count of objects by type", `SELECT ?type (COUNT(?s) AS ?count) WHERE { ?s a ?type }
GROUP BY ?type
ORDER BY DESC(?count)`],
  ["Is there any PDF?", `${PREFIXES}
ASK { ?file vital:hasFileType "application/pdf" }`],
];

export function queryView(main, spaceId) {
  const error = errorBox();
  const results = h("div", { "aria-live": "polite" });
  const text = field("SPARQL query (read-only)", "textarea", { class: "sparql", spellcheck: "false", name: "query" });
  text.input.value = EXAMPLES[0][1];
  const examples = field("Example queries", "select", {}, h("option", { value: "" }, "Choose an example…"), EXAMPLES.map(([label], i) => h("option", { value: i }, label)));
  examples.input.addEventListener("change", () => {
    if (examples.input.value !== "") text.input.value = EXAMPLES[Number(examples.input.value)][1];
  });
  const form = h("form", { "aria-label": "SPARQL query" }, examples.wrap, text.wrap, h("div", { class: "toolbar" }, h("button", { type: "submit", class: "primary" }, "Run query"), h("span", { class: "hint" }, "Ctrl+Enter runs it too.")));
  text.input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) form.requestSubmit();
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    results.replaceChildren(h("p", { class: "hint" }, "Running…"));
    try {
      const answer = await request(`api/graphs/sparql/${encodeURIComponent(spaceId)}/query`, {
        method: "POST",
        body: text.input.value,
        headers: { "Content-Type": "application/sparql-query", Accept: "application/sparql-results+json, application/n-triples;q=0.9" },
      });
      results.replaceChildren(...render(answer));
    } catch (failure) {
      results.replaceChildren();
      error.textContent = describeError(failure);
    }
  });
  main.replaceChildren(spaceTabs(spaceId, "query"), h("h1", {}, `Query '${spaceId}'`), form, error, results);
}

function render(answer) {
  if (typeof answer === "string") return [h("pre", {}, answer)]; // CONSTRUCT / DESCRIBE: N-Triples
  if ("boolean" in answer) return [h("p", { class: "answer" }, `Answer: ${answer.boolean ? "yes" : "no"}`)];
  const vars = answer.head.vars;
  const rows = answer.results.bindings;
  return [
    h("p", { class: "hint" }, `${rows.length} ${rows.length === 1 ? "row" : "rows"}`),
    h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        { "aria-label": "Query results" },
        h("thead", {}, h("tr", {}, vars.map((v) => h("th", { scope: "col" }, v)))),
        h("tbody", {}, rows.map((row) => h("tr", {}, vars.map((v) => h("td", { class: row[v] && row[v].type === "uri" ? "uri" : null }, row[v] ? row[v].value : ""))))),
      ),
    ),
  ];
}
