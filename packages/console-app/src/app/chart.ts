import { html } from "htm/preact";
import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";

/** A live line chart (uPlot): `times` in seconds, one array of values per series. */
export function Chart({
  title,
  series,
  times,
  values,
  unit,
}: {
  title: string;
  series: string[];
  times: number[];
  values: (number | null)[][];
  unit: string;
}) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | undefined>(undefined);
  const key = series.join("\n");
  useEffect(() => {
    if (!box.current) return;
    plot.current = new uPlot(
      {
        width: 520,
        height: 180,
        series: [{}, ...series.map((label, i) => ({ label, stroke: COLORS[i % COLORS.length] as string, width: 1.5, spanGaps: true }))],
        axes: [{}, { values: (_u, ticks) => ticks.map((v) => `${+v.toPrecision(3)} ${unit}`), size: 70 }],
        legend: { live: false },
      },
      [times, ...values],
      box.current,
    );
    return () => plot.current?.destroy();
  }, [key]);
  useEffect(() => plot.current?.setData([times, ...values]), [times, values]);
  return html`<figure class="chart"><figcaption>${title}</figcaption><div ref=${box}></div></figure>`;
}

const COLORS = ["#2f6fdf", "#d9480f", "#2b8a3e", "#862e9c", "#e67700", "#0b7285", "#c2255c"];
