import { html } from "htm/preact";
import { useEffect, useState } from "preact/hooks";
import type { Session } from "./session.ts";

type Row = Record<string, unknown>;

/** What each rule form sends, from its fields; the admin API checks it and says what is wrong. */
const RULES = {
  ttl: {
    title: "TTL (pages dropped once cached this long)",
    fields: ["path", "time"],
    shown: (r: Row) => `${r.path}: ${Number(r.ttlMs) / 1000} s`,
  },
  quota: { title: "Quota (pages kept under a path, per node)", fields: ["path", "size"], shown: (r: Row) => `${r.path}: ${r.bytes} bytes` },
  priority: { title: "Priority (eviction order)", fields: ["path", "priority"], shown: (r: Row) => `${r.path}: ${r.priority}` },
  "cache-filter": {
    title: "Cache filters (skipCache, immutable, maxAge)",
    fields: ["pattern", "type", "time"],
    shown: (r: Row) =>
      `${r.path === "" ? "(default)" : r.path}: ${r.filter}${r.maxAgeMs === undefined ? "" : ` ${Number(r.maxAgeMs) / 1000} s`}`,
  },
} as const;
type RuleName = keyof typeof RULES;

/** Mounts, and the cache policies: add and remove, with the admin API's validation messages shown inline. */
export function Policies({ session }: { session: Session }) {
  const [mounts, setMounts] = useState<Row[]>([]);
  const [rules, setRules] = useState<Record<string, Row[]>>({});
  const [messages, setMessages] = useState<Record<string, string>>({});
  const refresh = async () => {
    setMounts(((await session.call("GET", "/api/v1/mount")).json.results as Row[] | undefined) ?? []);
    const lists = await Promise.all(
      (Object.keys(RULES) as RuleName[]).map(async (name) => [name, (await session.call("GET", `/api/v1/${name}`)).json.results]),
    );
    setRules(Object.fromEntries(lists));
  };
  useEffect(() => {
    refresh();
  }, [session]);
  const act = async (form: string, method: string, path: string, body: unknown, done: string) => {
    const { status, json } = await session.call(method, path, body);
    setMessages((m) => ({ ...m, [form]: status === 200 ? done : String(json.status ?? `HTTP ${status}`) }));
    await refresh();
  };
  const fieldsOf = (e: Event) => {
    e.preventDefault();
    return Object.fromEntries([...new FormData(e.target as HTMLFormElement)].map(([k, v]) => [k, String(v)]));
  };
  const addMount = (e: Event) => {
    const f = fieldsOf(e);
    const options = Object.fromEntries(
      (f.options ?? "")
        .split("\n")
        .map((line) => line.trim())
        .filter(Boolean)
        .map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]),
    );
    return act("mount", "POST", "/api/v1/mount", { path: f.path, ufs: f.ufs, readOnly: f.readOnly === "on", options }, `mounted ${f.path}`);
  };
  const addRule = (name: RuleName) => (e: Event) => {
    const f = fieldsOf(e);
    const body =
      name === "cache-filter"
        ? { ...(f.pattern ? { pattern: f.pattern } : { default: true }), type: f.type, ...(f.time ? { time: f.time } : {}) }
        : Object.fromEntries(Object.entries(f).filter(([, v]) => v !== ""));
    return act(name, "POST", `/api/v1/${name}`, body, `${name} rule added`);
  };
  const removeRule = (name: RuleName, r: Row) =>
    act(
      name,
      "DELETE",
      `/api/v1/${name}`,
      name === "cache-filter" ? (r.path === "" ? { default: true } : { pattern: r.path }) : { path: r.path },
      "removed",
    );
  const said = (form: string) => messages[form] && html`<p class="message" data-message=${form} role="status">${messages[form]}</p>`;
  return html`<section class="policies">
    <h2>Mounts</h2>
    <table class="mounts">
      <thead><tr><th>path</th><th>under-store</th><th>read-only</th><th>options</th><th></th></tr></thead>
      <tbody>${mounts.map(
        (m) => html`<tr data-mount=${m.path}><td>${m.path}</td><td>${m.ufs}</td><td>${m.readOnly ? "yes" : "no"}</td>
          <td>${Object.entries((m.options as Record<string, string> | undefined) ?? {})
            .map(([k, v]) => `${k}=${v}`)
            .join(", ")}</td>
          <td>${m.path === "/" ? "" : html`<button onClick=${() => act("mount", "DELETE", "/api/v1/mount", { path: m.path }, `unmounted ${m.path}`)}>Unmount</button>`}</td></tr>`,
      )}</tbody>
    </table>
    <form class="rule" data-form="mount" onSubmit=${addMount}>
      <input name="path" placeholder="/data" required />
      <input name="ufs" placeholder="file:///srv/data or s3://bucket/prefix" required />
      <label><input type="checkbox" name="readOnly" /> read-only</label>
      <textarea name="options" rows="1" placeholder="option=value, one a line"></textarea>
      <button type="submit">Mount</button>
    </form>
    ${said("mount")}
    ${(Object.keys(RULES) as RuleName[]).map(
      (name) => html`<h2>${RULES[name].title}</h2>
        <ul class="entries">${(rules[name] ?? []).map(
          (r) => html`<li data-rule=${name}>${RULES[name].shown(r)} <button onClick=${() => removeRule(name, r)}>Remove</button></li>`,
        )}</ul>
        <form class="rule" data-form=${name} onSubmit=${addRule(name)}>
          ${RULES[name].fields.map((field) =>
            field === "priority"
              ? html`<select name="priority"><option>HIGH</option><option selected>MEDIUM</option><option>LOW</option></select>`
              : field === "type"
                ? html`<select name="type"><option>skipCache</option><option>immutable</option><option>maxAge</option></select>`
                : html`<input name=${field} placeholder=${PLACEHOLDERS[field]} />`,
          )}
          <button type="submit">Add</button>
        </form>
        ${said(name)}`,
    )}
  </section>`;
}

const PLACEHOLDERS: Record<string, string> = {
  path: "/data (or a mounted URI)",
  time: "1h, 30s, 5min",
  size: "10GiB",
  pattern: "^/data/logs/ (empty: the default)",
};
