import { html } from "htm/preact";
import { useState } from "preact/hooks";
import { Jobs } from "./jobs.ts";
import { follow } from "./links.ts";
import { Namespace } from "./namespace.ts";
import { Overview } from "./overview.ts";
import { type Session, signIn } from "./session.ts";

const PAGES = { overview: "Overview", jobs: "Jobs", namespace: "Namespace" } as const;
type Page = keyof typeof PAGES;

const VIEWS: Record<Page, (props: { session: Session }) => unknown> = {
  overview: (props) => html`<${Overview} ...${props} />`,
  jobs: (props) => html`<${Jobs} ...${props} />`,
  namespace: (props) => html`<${Namespace} ...${props} />`,
};

export function App() {
  const [session, setSession] = useState<Session | undefined>(undefined);
  const [page, setPage] = useState<Page>("overview");
  if (!session) return html`<${Login} onSignedIn=${setSession} />`;
  return html`<header>
      <strong>koine</strong>
      <nav>
        ${(Object.keys(PAGES) as Page[]).map(
          (p) => html`<a href="#" data-page=${p} class=${p === page ? "current" : ""} onClick=${follow(() => setPage(p))}>${PAGES[p]}</a>`,
        )}
      </nav>
      <span class="who">${session.accessKey} <a href="#" onClick=${follow(() => setSession(undefined))}>sign out</a></span>
    </header>
    <main>${VIEWS[page]({ session })}</main>`;
}

function Login({ onSignedIn }: { onSignedIn: (s: Session) => void }) {
  const [error, setError] = useState("");
  const submit = async (e: Event) => {
    e.preventDefault();
    const form = new FormData(e.target as HTMLFormElement);
    const session = signIn(String(form.get("accessKey")), String(form.get("secretKey")));
    // The console's views are the admin API's: an admin's key opens them.
    const { status, json } = await session
      .call("GET", "/api/v1/services")
      .catch((err: Error) => ({ status: 0, json: { status: err.message } }));
    if (status === 200) onSignedIn(session);
    else setError(String(json.status ?? `HTTP ${status}`));
  };
  return html`<form class="login" onSubmit=${submit}>
    <h1>koine console</h1>
    <label>Access key <input name="accessKey" autocomplete="username" required /></label>
    <label>Secret key <input name="secretKey" type="password" autocomplete="current-password" required /></label>
    <button type="submit">Sign in</button>
    ${error && html`<p class="error" role="alert">${error}</p>`}
  </form>`;
}
