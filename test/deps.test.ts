import assert from "node:assert/strict";
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { tempDir } from "@koine/testkit";
import { checkDependencies } from "../scripts/check-deps.ts";

async function files(root: string, tree: Record<string, unknown>): Promise<void> {
  for (const [path, content] of Object.entries(tree)) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), typeof content === "string" ? content : JSON.stringify(content));
  }
}

test("check-deps - the repository follows the layout's dependency rules", () => {
  assert.deepEqual(checkDependencies(join(import.meta.dirname, "..")), []);
});

test("check-deps - catches a package importing a service, a service importing a service, and undeclared imports", async (t) => {
  const root = await tempDir(t, "koine-deps-");
  await files(root, {
    "package.json": { name: "root", devDependencies: { "@k/lib": "workspace:*" } },
    "packages/lib/package.json": { name: "@k/lib", dependencies: { "@k/svc": "workspace:*" } },
    "packages/lib/src/mod.ts": 'import { start } from "@k/svc";\nexport const x = start;\n',
    "packages/lib/src/mod.test.ts": 'import { helper } from "@k/kit";\n',
    "packages/kit/package.json": { name: "@k/kit" },
    "services/svc/package.json": { name: "@k/svc", dependencies: { "@k/other": "workspace:*" } },
    "services/svc/src/mod.ts":
      'import { other } from "@k/other";\nimport Fastify from "fastify";\nimport { readFile } from "node:fs";\nexport const start = 1;\n',
    "services/other/package.json": { name: "@k/other" },
    "services/other/src/mod.ts": "export const other = 1;\n",
    "test/a.test.ts": 'import { x } from "@k/lib";\nimport { other } from "@k/other";\n',
  });
  const found = checkDependencies(root).map((v) => `${v.at}: ${v.message}`);
  assert.deepEqual(found.sort(), [
    "packages/lib/src/mod.test.ts:1: @k/lib imports @k/kit without declaring it in its package.json",
    "packages/lib/src/mod.ts:1: package @k/lib imports @k/svc: packages never import services or the launcher",
    "services/svc/src/mod.ts:1: service @k/svc imports service @k/other: a service never imports another",
    "services/svc/src/mod.ts:2: @k/svc imports fastify without declaring it in its package.json",
    "test/a.test.ts:2: root imports @k/other without declaring it in its package.json",
  ]);
});
