import "uplot/dist/uPlot.min.css";
import "./style.css";
import { html } from "htm/preact";
import { render } from "preact";
import { App } from "./app.ts";

render(html`<${App} />`, document.getElementById("app") as HTMLElement);
