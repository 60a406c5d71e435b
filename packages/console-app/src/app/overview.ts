import { age, mib, type Rates, ratesBetween, type Overview as Snapshot } from "@koine/overview";
import { html } from "htm/preact";
import { useEffect, useState } from "preact/hooks";
import { Chart } from "./chart.ts";
import type { Session } from "./session.ts";

const POLL_MS = 2_000;
/** Points kept in the browser: five minutes. */
const KEPT = 150;

interface Point {
  t: number;
  rates: Rates;
}

/** Services, cache nodes and live charts, from the admin API's overview every 2 s (rates between two). */
export function Overview({ session }: { session: Session }) {
  const [now, setNow] = useState<Snapshot | undefined>(undefined);
  const [points, setPoints] = useState<Point[]>([]);
  const [error, setError] = useState("");
  useEffect(() => {
    let before: Snapshot | undefined;
    let stopped = false;
    const poll = async () => {
      const { status, json } = await session.call("GET", "/api/v1/overview");
      if (stopped) return;
      if (status !== 200) return setError(String(json.status));
      const snapshot = json as unknown as Snapshot;
      setError("");
      setNow(snapshot);
      if (before) {
        const point = { t: snapshot.takenMs / 1000, rates: ratesBetween(before, snapshot) };
        setPoints((kept) => [...kept.slice(-(KEPT - 1)), point]);
      }
      before = snapshot;
    };
    poll();
    const timer = setInterval(poll, POLL_MS);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, [session]);
  if (!now) return html`<p>${error || "Loading…"}</p>`;
  const times = points.map((p) => p.t);
  const dialects = [...new Set(points.flatMap((p) => Object.keys(p.rates.dialects)))].sort();
  const perDialect = (pick: (r: Rates["dialects"][string]) => number | undefined) =>
    dialects.map((d) =>
      points.map((p) => {
        const r = p.rates.dialects[d];
        return r ? (pick(r) ?? null) : null;
      }),
    );
  const up = now.services.filter((s) => s.state === "UP").length;
  return html`<section class="overview">
    ${error && html`<p class="error">${error}</p>`}
    <h2>Services <small>${up} up, ${now.services.length - up} down</small></h2>
    <table class="services">
      <thead><tr><th>role</th><th>id</th><th>state</th><th>address</th><th>host</th><th>up for</th></tr></thead>
      <tbody>${now.services.map(
        (s) =>
          html`<tr class=${s.state === "DOWN" ? "down" : ""}><td>${s.role}</td><td>${s.id}</td><td>${s.state}</td><td>${s.url ?? s.opsUrl ?? "-"}</td><td>${s.host}</td><td>${age(now.takenMs - s.startedMs)}</td></tr>`,
      )}</tbody>
    </table>
    <h2>Cache nodes <small>${now.nodes.length}</small></h2>
    <table class="nodes">
      <thead><tr><th>node</th><th>state</th><th>address</th><th>use</th><th>up for</th><th>hit ratio</th></tr></thead>
      <tbody>${now.nodes.map((n) => {
        const hits = points.at(-1)?.rates.nodes[n.id]?.hitRatio;
        const share = n.capacityBytes > 0 ? n.usedBytes / n.capacityBytes : 0;
        return html`<tr data-node=${n.id}><td>${n.id}</td><td>${n.state}</td><td>${n.url}</td>
          <td><meter min="0" max="1" value=${share}></meter> ${mib(n.usedBytes)} of ${mib(n.capacityBytes)}</td>
          <td>${age(now.takenMs - n.startedMs)}</td><td>${hits === undefined ? "-" : `${(hits * 100).toFixed(1)} %`}</td></tr>`;
      })}</tbody>
    </table>
    <h2>Last minutes</h2>
    <div class="charts">
      <${Chart} title="Requests per second, by dialect" unit="/s" series=${dialects} times=${times} values=${perDialect((r) => r.requestsPerSecond)} />
      <${Chart} title="Latency p50, by dialect" unit="ms" series=${dialects} times=${times} values=${perDialect((r) => r.p50Ms)} />
      <${Chart} title="Latency p99, by dialect" unit="ms" series=${dialects} times=${times} values=${perDialect((r) => r.p99Ms)} />
      <${Chart} title="Cache hit ratio" unit="%" series=${["all nodes"]} times=${times}
        values=${[points.map((p) => (p.rates.cache.hitRatio === undefined ? null : p.rates.cache.hitRatio * 100))]} />
      <${Chart} title="Bytes served (MiB/s)" unit="MiB/s" series=${["memory", "disk", "under-store"]} times=${times}
        values=${[
          points.map((p) => p.rates.cache.memoryBytesPerSecond / 2 ** 20),
          points.map((p) => p.rates.cache.diskBytesPerSecond / 2 ** 20),
          points.map((p) => p.rates.cache.ufsBytesPerSecond / 2 ** 20),
        ]} />
    </div>
  </section>`;
}
