import { XMLBuilder, XMLParser, XMLValidator } from "fast-xml-parser";
import { s3Error } from "./errors.ts";

const S3_NS = "http://s3.amazonaws.com/doc/2006-03-01/";

const builder = new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: "@", processEntities: true, suppressEmptyNode: false });
/** Elements that may repeat: always parsed as arrays. */
const ARRAYS = new Set(["Object", "Part", "Tag", "CORSRule", "AllowedMethod", "AllowedOrigin", "AllowedHeader", "ExposeHeader"]);
const parser = new XMLParser({
  ignoreAttributes: true,
  parseTagValue: false,
  trimValues: false,
  // Numeric character references (Go clients send ETags as &#34;...&#34;).
  htmlEntities: true,
  isArray: (name) => ARRAYS.has(name),
});

/** An S3 XML document: `<root xmlns=...>body</root>` with the XML declaration. */
export function s3Xml(root: string, body: Record<string, unknown>, namespaced = true): string {
  const content = namespaced ? { "@xmlns": S3_NS, ...body } : body;
  return `<?xml version="1.0" encoding="UTF-8"?>\n${builder.build({ [root]: content })}`;
}

/**
 * Parses an XML request body; anything malformed, nested past the parser's
 * limits, or with a DTD (no entity expansion of untrusted input), is MalformedXML.
 */
export function parseS3Xml(body: Buffer, root: string): Record<string, unknown> {
  const text = body.toString("utf8");
  let doc: Record<string, unknown>;
  try {
    if (/<!DOCTYPE|<!ENTITY/i.test(text) || XMLValidator.validate(text) !== true) throw s3Error("MalformedXML");
    doc = parser.parse(text) as Record<string, unknown>;
  } catch {
    // The parser's own limits (nesting depth among them) are malformed input too.
    throw s3Error("MalformedXML");
  }
  const top = doc[root];
  if (top === undefined || top === null || typeof top !== "object") {
    if (top === "") return {};
    throw s3Error("MalformedXML");
  }
  return top as Record<string, unknown>;
}
