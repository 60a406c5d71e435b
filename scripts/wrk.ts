// wrk, the load generator of the bench and the profile script: a run
// against one URL, and the script that PUTs to many keys.
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { presignUrl } from "@koine/testkit/clients";
import { $ } from "zx";

const KiB = 1024;
const MiB = 1024 * KiB;

/** wrk against one URL: requests/s, bytes/s and the requests made. */
export async function wrk(
  url: string,
  connections: number,
  seconds: number,
  script?: string,
): Promise<{ rps: number; bps: number; requests: number }> {
  const out = (await $`wrk -t2 -c${connections} -d${seconds}s ${script ? ["-s", script] : []} ${url}`).stdout;
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 0);
  const m = /Transfer\/sec:\s+([\d.]+)(\w+)/.exec(out);
  const unit: Record<string, number> = { B: 1, KB: KiB, MB: MiB, GB: 1024 * MiB };
  const bps = m ? Number(m[1]) * (unit[m[2] as string] ?? 1) : 0;
  if (/Non-2xx/.test(out)) throw new Error(`wrk saw errors for ${url}:\n${out}`);
  return { rps, bps, requests: Number(/(\d+) requests in/.exec(out)?.[1] ?? 0) };
}

/** A wrk script whose threads PUT 4 KiB to 4000 keys under `prefix` by presigned URLs, each walking its own half. */
export async function putManyScript(
  home: string,
  name: string,
  endpoint: string,
  prefix: string,
  credentials: { accessKeyId: string; secretAccessKey: string },
): Promise<string> {
  const keyUrls: string[] = [];
  for (let i = 0; i < 4000; i++) {
    const url = new URL(await presignUrl(endpoint, "PUT", `${prefix}/${i}`, credentials));
    keyUrls.push(url.pathname + url.search);
  }
  const script = join(home, `${name}.lua`);
  await writeFile(
    script,
    [
      `paths = { ${keyUrls.map((u) => JSON.stringify(u)).join(", ")} }`,
      `body = string.rep("x", 4096)`,
      `local count = 0`,
      `setup = function(thread) thread:set("first", count * ${keyUrls.length / 2}); count = count + 1 end`,
      `init = function() n = first end`,
      `request = function() n = n + 1; return wrk.format("PUT", paths[(n % #paths) + 1], nil, body) end`,
      "",
    ].join("\n"),
  );
  return script;
}
