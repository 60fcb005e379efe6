// Reading and writing the expanded JSON-LD the server speaks, for the few properties the app shows.

export const VITAL = "http://vital.ai/ontology/vital#";
export const CORE = "http://vital.ai/ontology/vital-core#";
export const HALEY = "http://vital.ai/ontology/haley-ai-kg#";
export const VG = "http://vitalgraph.ai/ontology/vitalgraph#";
export const XSD = "http://www.w3.org/2001/XMLSchema#";

export const FILE_NODE = VITAL + "FileNode";
export const KG_ENTITY = HALEY + "KGEntity";
export const ORGANIZATION = HALEY + "OrganizationEntity";

export const P = {
  name: CORE + "hasName",
  fileName: VITAL + "hasFileName",
  fileType: VITAL + "hasFileType",
  fileLength: VITAL + "hasFileLength",
  sha256: VG + "hasFileSHA256",
  modified: VG + "hasContentUpdateTime",
  entityType: HALEY + "hasKGEntityType",
};

export function value(node, property) {
  const values = node && node[property];
  if (!Array.isArray(values) || values.length === 0) return null;
  const first = values[0];
  return "@value" in first ? first["@value"] : first["@id"];
}

export function setString(node, property, text) {
  if (text === null || text === undefined || text === "") delete node[property];
  else node[property] = [{ "@type": XSD + "string", "@value": text }];
}

export function graphOf(document) {
  if (!document) return [];
  if (Array.isArray(document)) return document;
  if (Array.isArray(document["@graph"])) return document["@graph"];
  return [document];
}

export function newUri(kind) {
  // crypto.randomUUID needs a secure context; getRandomValues works on plain http too.
  const hex = Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0"));
  return `urn:vitalgraph:${kind}:${hex.join("")}`;
}

export function fileNode(uri, name) {
  return { "@id": uri, "@type": FILE_NODE, [P.name]: [{ "@type": XSD + "string", "@value": name }] };
}

export function organization(uri, name) {
  return {
    "@id": uri,
    "@type": KG_ENTITY,
    [P.name]: [{ "@type": XSD + "string", "@value": name }],
    [P.entityType]: [{ "@id": ORGANIZATION }],
  };
}
