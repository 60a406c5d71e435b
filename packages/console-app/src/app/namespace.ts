import { mib } from "@koine/overview";
import { html } from "htm/preact";
import { useEffect, useState } from "preact/hooks";
import { follow } from "./links.ts";
import type { Session } from "./session.ts";

interface Listing {
  folders: string[];
  objects: { key: string; size: number; modified: string }[];
}

/** S3's path of a key: each name percent-encoded, the slashes kept. */
const keyPath = (bucket: string, key: string) => `/s3/${encodeURIComponent(bucket)}/${key.split("/").map(encodeURIComponent).join("/")}`;

/** The tree through S3 (buckets, then a prefix at a time), mounts marked; an object's detail; upload and download. */
export function Namespace({ session }: { session: Session }) {
  const [bucket, setBucket] = useState<string | undefined>(undefined);
  const [prefix, setPrefix] = useState("");
  const [buckets, setBuckets] = useState<string[]>([]);
  const [mounts, setMounts] = useState<string[]>([]);
  const [listing, setListing] = useState<Listing>({ folders: [], objects: [] });
  const [selected, setSelected] = useState<string | undefined>(undefined);
  const [message, setMessage] = useState("");
  const [version, setVersion] = useState(0);
  useEffect(() => {
    (async () => {
      if (session.admin) {
        const mounted = await session.call("GET", "/api/v1/mount");
        setMounts(((mounted.json.results as { path: string }[] | undefined) ?? []).map((m) => m.path));
      }
      if (bucket === undefined) {
        const xml = await xmlOf(await session.fetch("/s3/"));
        setBuckets([...xml.querySelectorAll("Bucket > Name")].map((n) => n.textContent ?? ""));
        return;
      }
      const query = new URLSearchParams({ "list-type": "2", delimiter: "/", prefix });
      const xml = await xmlOf(await session.fetch(`/s3/${encodeURIComponent(bucket)}?${query}`));
      setListing({
        folders: [...xml.querySelectorAll("CommonPrefixes > Prefix")].map((n) => n.textContent ?? ""),
        objects: [...xml.querySelectorAll("Contents")].map((c) => ({
          key: c.querySelector("Key")?.textContent ?? "",
          size: Number(c.querySelector("Size")?.textContent ?? 0),
          modified: c.querySelector("LastModified")?.textContent ?? "",
        })),
      });
    })().catch((err: Error) => setMessage(err.message));
  }, [session, bucket, prefix, version]);
  const mounted = (path: string) => mounts.includes(path.replace(/\/$/, ""));
  const open = (b: string | undefined, p: string) => {
    setBucket(b);
    setPrefix(p);
    setSelected(undefined);
  };
  const upload = async (e: Event) => {
    e.preventDefault();
    const file = (new FormData(e.target as HTMLFormElement).get("file") as File | null) ?? undefined;
    if (!bucket || !file || file.name === "") return;
    const res = await session.fetch(keyPath(bucket, prefix + file.name), {
      method: "PUT",
      body: file,
      headers: { "x-amz-content-sha256": "UNSIGNED-PAYLOAD", "content-type": file.type || "application/octet-stream" },
    });
    setMessage(res.ok ? `uploaded ${prefix}${file.name}` : `upload refused: ${await res.text()}`);
    setVersion((v) => v + 1);
  };
  const crumbs = prefix.split("/").slice(0, -1);
  return html`<section class="namespace">
    <nav class="crumbs">
      <a href="#" onClick=${follow(() => open(undefined, ""))}>buckets</a>
      ${bucket !== undefined && html` / <a href="#" onClick=${follow(() => open(bucket, ""))}>${bucket}</a>`}
      ${crumbs.map((c, i) => html` / <a href="#" onClick=${follow(() => open(bucket, `${crumbs.slice(0, i + 1).join("/")}/`))}>${c}</a>`)}
    </nav>
    ${message && html`<p class="message" role="status">${message}</p>`}
    ${
      bucket === undefined
        ? html`<ul class="entries">${buckets.map(
            (b) => html`<li><a href="#" data-entry=${b} onClick=${follow(() => open(b, ""))}>${b}/</a>
            ${mounted(`/${b}`) && html` <span class="badge">mount</span>`}</li>`,
          )}</ul>`
        : html`<form class="upload" onSubmit=${upload}><input type="file" name="file" /><button type="submit">Upload here</button></form>
        <ul class="entries">
          ${listing.folders.map(
            (f) => html`<li><a href="#" data-entry=${f} onClick=${follow(() => open(bucket, f))}>${f.slice(prefix.length)}</a>
              ${mounted(`/${bucket}/${f}`) && html` <span class="badge">mount</span>`}</li>`,
          )}
          ${listing.objects.map(
            (
              o,
            ) => html`<li><a href="#" data-entry=${o.key} onClick=${follow(() => setSelected(o.key))}>${o.key.slice(prefix.length) || o.key}</a>
              <span class="detail">${mib(o.size)}, ${o.modified}</span></li>`,
          )}
        </ul>`
    }
    ${bucket !== undefined && selected !== undefined && html`<${ObjectDetail} session=${session} bucket=${bucket} objectKey=${selected} />`}
  </section>`;
}

interface Block {
  index: number;
  offset: number;
  length: number;
  owner?: string;
  holders: string[];
}

/** What metadata knows of one object, where its blocks are cached, and its name in each dialect. */
function ObjectDetail({ session, bucket, objectKey }: { session: Session; bucket: string; objectKey: string }) {
  const [detail, setDetail] = useState<Record<string, unknown> | undefined>(undefined);
  useEffect(() => {
    if (session.admin) {
      session.call("GET", `/api/v1/object?${new URLSearchParams({ path: `/${bucket}/${objectKey}` })}`).then(({ json }) => setDetail(json));
      return;
    }
    // Not an admin: what S3 tells of the object (no persistence, no block locations: those are the admin API's).
    session.fetch(keyPath(bucket, objectKey), { method: "HEAD" }).then((res) =>
      setDetail(
        res.ok
          ? {
              size: res.headers.get("content-length"),
              etag: res.headers.get("etag"),
              modified: res.headers.get("last-modified"),
              persistence: "-",
            }
          : { status: `HTTP ${res.status}` },
      ),
    );
  }, [session, bucket, objectKey]);
  const download = async () => {
    const res = await session.fetch(keyPath(bucket, objectKey));
    const link = document.createElement("a");
    link.href = URL.createObjectURL(await res.blob());
    link.download = objectKey.split("/").at(-1) || "object";
    link.click();
    URL.revokeObjectURL(link.href);
  };
  if (!detail) return html`<p>Loading…</p>`;
  if (detail.status) return html`<p class="error">${String(detail.status)}</p>`;
  const blocks = (detail.blocks as Block[] | undefined) ?? [];
  const [ozoneBucket, ...ozoneKey] = objectKey.split("/");
  const names = [
    ["S3", `s3://${bucket}/${objectKey}`],
    ["Alluxio", `/${bucket}/${objectKey}`],
    ["AIS", `ais://${bucket}/${objectKey}`],
    [
      "Ozone",
      ozoneKey.length > 0
        ? `/${bucket}/${ozoneBucket}/${ozoneKey.join("/")} (volume, bucket, key)`
        : "— (a key at the volume's top: no Ozone bucket)",
    ],
  ];
  const checksums = Object.entries((detail.checksums as Record<string, string> | undefined) ?? {});
  return html`<article class="object">
    <h2>${objectKey} <button onClick=${download}>Download</button></h2>
    <dl>
      <dt>size</dt><dd>${Number(detail.size)} bytes</dd>
      <dt>ETag</dt><dd>${String(detail.etag)}</dd>
      <dt>checksums</dt><dd>${checksums.length ? checksums.map(([k, v]) => `${k} ${v}`).join(", ") : "-"}</dd>
      <dt>persistence</dt><dd class="persistence">${String(detail.persistence)}</dd>
      <dt>modified</dt><dd>${String(detail.modified)}</dd>
      <dt>under-store</dt><dd>${String((detail.ufs as { uri?: string } | undefined)?.uri ?? "-")}</dd>
      ${names.map(([dialect, name]) => html`<dt>${dialect} name</dt><dd class="name">${name}</dd>`)}
    </dl>
    <table class="blocks">
      <thead><tr><th>block</th><th>bytes</th><th>owner on the ring</th><th>cached on</th></tr></thead>
      <tbody>${blocks.map(
        (b) => html`<tr data-block=${b.index}><td>${b.index}</td><td>${b.offset}–${b.offset + b.length - 1}</td><td>${b.owner ?? "-"}</td>
          <td class="holders">${b.holders.length ? b.holders.join(", ") : "not cached"}</td></tr>`,
      )}</tbody>
    </table>
  </article>`;
}

async function xmlOf(res: Response): Promise<Document> {
  const text = await res.text();
  if (!res.ok) throw new Error(/<Message>([^<]*)</.exec(text)?.[1] ?? `HTTP ${res.status}`);
  return new DOMParser().parseFromString(text, "application/xml");
}
