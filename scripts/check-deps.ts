#!/usr/bin/env -S pnpm exec tsx
// The dependency rules of the layout, checked on the sources (npm test runs it):
//   - every import of a workspace package is declared in its package.json
//     (dependencies; devDependencies serve its tests only);
//   - packages/* never import services (nor the launcher, which composes them);
//   - a service never imports another service;
//   - only composition roots (launcher/, test/, scripts/) import several services.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { builtinModules } from "node:module";
import { join, relative } from "node:path";

/** One import that breaks a rule. */
export interface Violation {
  /** File and line, relative to the root. */
  at: string;
  message: string;
}

interface Workspace {
  dir: string;
  name: string;
  kind: "package" | "service" | "root";
  dependencies: Set<string>;
  devDependencies: Set<string>;
}

const IMPORT = /(?:^|[\s;])(?:import|export)\s[^'"]*?from\s*["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)|^import\s+["']([^"']+)["']/gm;
const BUILTINS = new Set(builtinModules);

function packageOf(specifier: string): string | undefined {
  if (specifier.startsWith(".") || specifier.startsWith("/") || specifier.startsWith("node:")) return undefined;
  const parts = specifier.split("/");
  const name = specifier.startsWith("@") ? parts.slice(0, 2).join("/") : (parts[0] as string);
  return BUILTINS.has(name) ? undefined : name;
}

function sourcesBelow(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true })
    .map((p) => join(dir, String(p)))
    .filter((p) => p.endsWith(".ts") && !p.includes("node_modules") && statSync(p).isFile());
}

function workspace(dir: string, kind: Workspace["kind"]): Workspace {
  const json = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as {
    name: string;
    dependencies?: Record<string, string>;
    devDependencies?: Record<string, string>;
  };
  return {
    dir,
    name: json.name,
    kind,
    dependencies: new Set(Object.keys(json.dependencies ?? {})),
    devDependencies: new Set(Object.keys(json.devDependencies ?? {})),
  };
}

function workspacesOf(root: string): Workspace[] {
  const found: Workspace[] = [];
  for (const [folder, kind] of [
    ["packages", "package"],
    ["services", "service"],
  ] as const) {
    if (!existsSync(join(root, folder))) continue;
    for (const name of readdirSync(join(root, folder)).sort()) {
      if (existsSync(join(root, folder, name, "package.json"))) found.push(workspace(join(root, folder, name), kind));
    }
  }
  if (existsSync(join(root, "launcher", "package.json"))) found.push(workspace(join(root, "launcher"), "root"));
  return found;
}

/** Every violation of the rules in the tree at `root`. */
export function checkDependencies(root: string): Violation[] {
  const workspaces = workspacesOf(root);
  const byName = new Map(workspaces.map((w) => [w.name, w]));
  const rootPackage = workspace(root, "root");
  const violations: Violation[] = [];
  const sources: [Workspace, string][] = [
    ...workspaces.flatMap((w) => sourcesBelow(join(w.dir, "src")).map((f) => [w, f] as [Workspace, string])),
    ...["test", "scripts"].flatMap((d) => sourcesBelow(join(root, d)).map((f) => [rootPackage, f] as [Workspace, string])),
  ];
  for (const [owner, file] of sources) {
    const text = readFileSync(file, "utf8");
    const isTest = file.endsWith(".test.ts");
    for (const match of text.matchAll(IMPORT)) {
      const specifier = match[1] ?? match[2] ?? match[3] ?? "";
      const name = packageOf(specifier);
      if (!name || name === owner.name) continue;
      const line = text.slice(0, match.index + match[0].lastIndexOf(specifier)).split("\n").length;
      const at = `${relative(root, file)}:${line}`;
      const declared = owner.dependencies.has(name) || ((isTest || owner.kind === "root") && owner.devDependencies.has(name));
      if (!declared) violations.push({ at, message: `${owner.name} imports ${name} without declaring it in its package.json` });
      const target = byName.get(name);
      if (!target) continue;
      if (owner.kind === "package" && target.kind !== "package") {
        violations.push({ at, message: `package ${owner.name} imports ${name}: packages never import services or the launcher` });
      }
      if (owner.kind === "service" && target.kind === "service") {
        violations.push({ at, message: `service ${owner.name} imports service ${name}: a service never imports another` });
      }
    }
  }
  return violations;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const violations = checkDependencies(new URL("..", import.meta.url).pathname);
  for (const v of violations) console.error(`${v.at}: ${v.message}`);
  if (violations.length > 0) {
    console.error(`check-deps: ${violations.length} broken dependency rules`);
    process.exit(1);
  }
  console.log("check-deps: every import is declared and follows the layout's rules");
}
