// The collector page of step01 (support code): each button calls one collector, and its JSON
// report is drawn as a timeline, one bar per source from `started_ms` to `started_ms +
// elapsed_ms`. The last call of each collector stays, all on one time scale.
"use strict";

const buttons = [...document.querySelectorAll(".collectors button")];
const timelines = document.getElementById("timelines");
// Collector name -> its last call: { report } or { problem }, and `running` while it is called.
const calls = new Map();
// At most this many ticks on the time axis.
const MAX_TICKS = 6;

for (const button of buttons) {
  button.addEventListener("click", () => collect(button));
}

async function collect(button) {
  const name = button.dataset.collector;
  button.disabled = true;
  calls.set(name, { ...calls.get(name), running: true }); // the last timeline stays meanwhile
  draw();
  calls.set(name, await call(button.dataset.url));
  button.disabled = false;
  draw();
}

async function call(url) {
  let response;
  let text;
  try {
    response = await fetch(url, { headers: { Accept: "application/json" } });
    text = await response.text();
  } catch (error) {
    return { problem: `no answer from the server (${error.message})` };
  }
  let answer = null;
  try {
    answer = JSON.parse(text);
  } catch {
    // Not JSON (a proxy's error page, say): the status says enough.
  }
  if (!response.ok) {
    // A refusal is {"error": ...}: a 503 when NEWS_MAX_COLLECTIONS collections are running.
    const why = answer?.error ? `: ${answer.error}` : "";
    return { problem: `the collector answered HTTP ${response.status}${why}` };
  }
  if (answer?.sources === undefined) return { problem: "the collector's answer is no report" };
  return { report: answer };
}

function draw() {
  const scale = timeScale();
  const drawn = buttons.map((button) => button.dataset.collector).filter((name) => calls.has(name));
  timelines.replaceChildren(...drawn.map((name) => timeline(name, calls.get(name), scale)));
}

function timeScale() {
  // The longest report sets the scale of every timeline, so that they compare at a glance.
  let longest = 1;
  for (const { report } of calls.values()) {
    if (report === undefined) continue;
    const ends = Object.values(report.sources).map((s) => s.started_ms + s.elapsed_ms);
    longest = Math.max(longest, report.elapsed_ms, ...ends);
  }
  let step = null;
  for (let unit = 1; step === null; unit *= 10) {
    step = [1, 2, 5].map((n) => n * unit).find((s) => longest / s <= MAX_TICKS) ?? null;
  }
  return { step, end: Math.ceil(longest / step) * step };
}

function timeline(name, call, scale) {
  const figure = element("figure", "timeline");
  figure.dataset.collector = name;
  const caption = element("figcaption", "", element("strong", "", name));
  if (call.report !== undefined) {
    const sources = Object.values(call.report.sources);
    const failed = sources.filter((source) => !source.ok).length;
    caption.append(
      " ",
      element("span", "total", formatMs(call.report.elapsed_ms)),
      ` in all, by the server's clock; ${sources.length} source${sources.length === 1 ? "" : "s"},`,
      ` ${failed} failed`,
    );
  } else if (call.problem !== undefined) {
    caption.append(" ", element("span", "problem", call.problem));
  }
  if (call.running) caption.append(" ", element("span", "running", "calling…"));
  figure.append(caption);
  if (call.report !== undefined) figure.append(bars(call.report, scale), axis(scale));
  return figure;
}

function bars(report, scale) {
  const list = element("ol", "sources");
  for (const [name, source] of Object.entries(report.sources)) {
    const ended = source.started_ms + source.elapsed_ms;
    const bar = element("span", "bar");
    bar.style.left = percent(source.started_ms, scale);
    bar.style.width = percent(source.elapsed_ms, scale);
    bar.title = `${name}: from ${formatMs(source.started_ms)} to ${formatMs(ended)}`;
    const outcome = source.ok
      ? formatMs(source.elapsed_ms)
      : `${source.error} (${formatMs(source.elapsed_ms)})`;
    const row = element("li", source.ok ? "source" : "source failed");
    row.title = source.ok ? `${name}: ${source.url}` : `${name}: ${source.error}`;
    row.append(
      element("span", "name", name),
      element("span", "track", bar),
      element("span", "outcome", outcome),
    );
    list.append(row);
  }
  return list;
}

function axis(scale) {
  // The same three columns as a source's row: the ticks sit under the bars.
  const ruler = element("span", "ruler");
  const inSeconds = scale.step >= 1000;
  for (let ms = 0; ms <= scale.end; ms += scale.step) {
    const label = ms === 0 ? "0" : inSeconds ? `${ms / 1000} s` : `${ms} ms`;
    const tick = element("span", "tick", label);
    tick.style.left = percent(ms, scale);
    ruler.append(tick);
  }
  const row = element("div", "axis");
  row.append(element("span"), ruler, element("span"));
  return row;
}

function percent(ms, scale) {
  return `${(ms / scale.end) * 100}%`;
}

function formatMs(ms) {
  const figure = ms.toLocaleString("en", { minimumFractionDigits: 1, maximumFractionDigits: 1 });
  return `${figure} ms`;
}

function element(tag, className = "", content = null) {
  const made = document.createElement(tag);
  if (className) made.className = className;
  if (content !== null) made.append(content);
  return made;
}
