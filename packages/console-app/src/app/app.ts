import { html } from "htm/preact";
import { useState } from "preact/hooks";
import { Jobs } from "./jobs.ts";
import { follow } from "./links.ts";
import { Namespace } from "./namespace.ts";
import { Overview } from "./overview.ts";
import { Policies } from "./policies.ts";
import { type Session, signIn } from "./session.ts";

const PAGES = { overview: "Overview", jobs: "Jobs", namespace: "Namespace", policies: "Mounts and policies" } as const;
type Page = keyof typeof PAGES;

const VIEWS: Record<Page, (props: { session: Session }) => unknown> = {
  overview: (props) => html`<${Overview} ...${props} />`,
  jobs: (props) => html`<${Jobs} ...${props} />`,
  namespace: (props) => html`<${Namespace} ...${props} />`,
  policies: (props) => html`<${Policies} ...${props} />`,
};

/** The pages that are the admin API's. */
const ADMIN_PAGES: readonly Page[] = ["overview", "jobs", "policies"];

export function App() {
  const [session, setSession] = useState<Session | undefined>(undefined);
  const [page, setPage] = useState<Page>("overview");
  const signedIn = (s: Session) => {
    setSession(s);
    setPage(s.admin ? "overview" : "namespace");
  };
  if (!session) return html`<${Login} onSignedIn=${signedIn} />`;
  const view =
    ADMIN_PAGES.includes(page) && !session.admin
      ? html`<p class="error" role="alert">This page is the admin API's: ${session.accessKey} is no admin. The namespace is yours to browse.</p>`
      : VIEWS[page]({ session });
  return html`<header>
      <strong>koine</strong>
      <nav>
        ${(Object.keys(PAGES) as Page[]).map(
          (p) => html`<a href="#" data-page=${p} class=${p === page ? "current" : ""} onClick=${follow(() => setPage(p))}>${PAGES[p]}</a>`,
        )}
      </nav>
      <span class="who">${session.accessKey} <a href="#" onClick=${follow(() => setSession(undefined))}>sign out</a></span>
    </header>
    <main>${view}</main>`;
}

function Login({ onSignedIn }: { onSignedIn: (s: Session) => void }) {
  const [error, setError] = useState("");
  const submit = async (e: Event) => {
    e.preventDefault();
    const form = new FormData(e.target as HTMLFormElement);
    const signedIn = await signIn(String(form.get("accessKey")), String(form.get("secretKey"))).catch((err: Error) => err.message);
    if (typeof signedIn === "string") setError(signedIn);
    else onSignedIn(signedIn);
  };
  return html`<form class="login" onSubmit=${submit}>
    <h1>koine console</h1>
    <label>Access key <input name="accessKey" autocomplete="username" required /></label>
    <label>Secret key <input name="secretKey" type="password" autocomplete="current-password" required /></label>
    <button type="submit">Sign in</button>
    ${error && html`<p class="error" role="alert">${error}</p>`}
  </form>`;
}
