import { execFile } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import type { Tls } from "@koine/config";
import { type TestContext, tempDir } from "./mod.ts";

const execute = promisify(execFile);

/** openssl, or an error that says how to get it. */
async function run(command: string, args: string[]) {
  return execute(command, args).catch((err: NodeJS.ErrnoException) => {
    throw err.code === "ENOENT" ? new Error("openssl is not installed (apt-get install openssl); .ci/run installs it") : err;
  });
}

/** A CA made for one test, and a server certificate it signed for localhost and 127.0.0.1: as PEM, and as files. */
export interface TestTls {
  /** What koine serves with (cert, key) and trusts (ca). */
  tls: Tls & { ca: Buffer };
  caFile: string;
  certFile: string;
  keyFile: string;
}

/** Makes a CA and a server certificate with openssl (EC P-256, valid two days), removed when the test ends. */
export async function testTls(t: TestContext): Promise<TestTls> {
  const dir = await tempDir(t, "koine-tls-");
  const file = (name: string) => join(dir, name);
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  await run("openssl", [
    "req",
    "-x509",
    ...ec,
    "-keyout",
    file("ca.key"),
    "-out",
    file("ca.pem"),
    "-days",
    "2",
    "-subj",
    "/CN=koine test CA",
  ]);
  await run("openssl", ["req", ...ec, "-keyout", file("server.key"), "-out", file("server.csr"), "-subj", "/CN=localhost"]);
  await writeFile(
    file("server.ext"),
    "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n",
  );
  await run("openssl", [
    "x509",
    "-req",
    "-in",
    file("server.csr"),
    "-CA",
    file("ca.pem"),
    "-CAkey",
    file("ca.key"),
    "-CAcreateserial",
    "-out",
    file("server.pem"),
    "-days",
    "2",
    "-extfile",
    file("server.ext"),
  ]);
  return {
    tls: { cert: await readFile(file("server.pem")), key: await readFile(file("server.key")), ca: await readFile(file("ca.pem")) },
    caFile: file("ca.pem"),
    certFile: file("server.pem"),
    keyFile: file("server.key"),
  };
}
