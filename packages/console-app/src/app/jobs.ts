import { jobProgress } from "@koine/overview";
import { html } from "htm/preact";
import { useEffect, useState } from "preact/hooks";
import type { Session } from "./session.ts";

const KINDS = ["load", "free", "rebalance"] as const;
type Job = Record<string, unknown> & { id: string; kind: string; alias?: string; state: string };

/** The admin API's load, free and rebalance jobs (and the AIS API's running ones), live: progress, throughput, failures; start, stop, resume. */
export function Jobs({ session }: { session: Session }) {
  const [jobs, setJobs] = useState<Job[]>([]);
  const [message, setMessage] = useState("");
  const refresh = async () => {
    const lists = await Promise.all(KINDS.map((kind) => session.call("GET", `/api/v1/${kind}`)));
    // The AIS API's jobs (delete, copy, move, ...) have no list of their own here: the running ones, from the overview.
    const running = ((await session.call("GET", "/api/v1/overview")).json.jobs as Job[] | undefined) ?? [];
    const others = running.filter((job) => !(KINDS as readonly string[]).includes(job.kind));
    setJobs([...lists.flatMap(({ json }) => (json.results as Job[] | undefined) ?? []), ...others].sort((a, b) => (a.id < b.id ? 1 : -1)));
  };
  useEffect(() => {
    refresh();
    const timer = setInterval(refresh, 1_000);
    return () => clearInterval(timer);
  }, [session]);
  /** An admin API call whose refusal is shown as the API words it. */
  const act = async (method: string, path: string, body: unknown, done: string) => {
    const { status, json } = await session.call(method, path, body);
    setMessage(status === 200 ? done : String(json.status ?? `HTTP ${status}`));
    await refresh();
  };
  const submitLoad = (e: Event) => {
    e.preventDefault();
    const form = new FormData(e.target as HTMLFormElement);
    const paths = String(form.get("path"))
      .split(/\s*,\s*/)
      .filter(Boolean);
    return act("POST", `/api/v1/${form.get("kind")}`, { paths }, `${form.get("kind")} job started`);
  };
  return html`<section class="jobs">
    <form class="start" onSubmit=${submitLoad}>
      <select name="kind"><option value="load">load</option><option value="free">free</option></select>
      <input name="path" placeholder="/data or s3://bucket/prefix (comma-separated)" required />
      <button type="submit">Start</button>
      <button type="button" onClick=${() => act("POST", "/api/v1/rebalance", { target: "ALL" }, "rebalance started")}>Rebalance</button>
    </form>
    ${message && html`<p class="message" role="status">${message}</p>`}
    <table>
      <thead><tr><th>kind</th><th>alias</th><th>progress</th><th>state</th><th></th></tr></thead>
      <tbody>${jobs.map((job) => {
        const { share, detail } = jobProgress(job);
        const failures = (job.failures as { path: string; message: string }[] | undefined) ?? [];
        return html`<tr data-job=${job.id} data-state=${job.state}>
          <td>${job.kind}</td><td>${job.alias}</td>
          <td><progress max="100" value=${Math.round(share * 100)}></progress> <span class="percent">${Math.round(share * 100)} %</span>
            <div class="detail">${detail}</div>
            ${failures.map((f) => html`<div class="error">${f.path}: ${f.message}</div>`)}</td>
          <td>${job.state}</td>
          <td>${
            job.state === "RUNNING"
              ? html`<button onClick=${() => act("DELETE", `/api/v1/${job.kind}`, { id: job.id }, "stopped")}>Stop</button>`
              : job.state === "STOPPED" && job.kind !== "rebalance"
                ? html`<button onClick=${() => act("POST", `/api/v1/${job.kind}`, job.index ? { index: job.index } : { paths: job.paths, alias: job.alias }, "resumed")}>Resume</button>`
                : ""
          }</td>
        </tr>`;
      })}</tbody>
    </table>
  </section>`;
}
