// kjob ui: a run's page.  The DAG arrives drawn (SVG, by kjob); this script keeps its states current by
// polling a small JSON document (live mode) and shows a task's details and log on a click.  In a report
// (static mode) everything is already in the page: nothing is fetched.
// Text that a user or a task wrote is only ever set as textContent, never parsed as markup.
"use strict";
(function () {
  const FINISHED = new Set(["Succeeded", "Failed", "Error", "Skipped", "Omitted"]);
  const DETAIL_CHARS = 34;
  const boot = JSON.parse(document.getElementById("kjob-boot").textContent);
  const live = boot.mode === "live";
  const dag = document.getElementById("dag");
  const gantt = document.getElementById("gantt");
  const panel = document.getElementById("detail");
  let boxes = new Map();
  let selected = null;
  let zoom = 1;

  function api(path) {
    return "/api/runs/" + encodeURIComponent(boot.run) + "/" + path;
  }

  function clip(text, limit) {
    return text.length <= limit ? text : text.slice(0, limit - 1) + "\u2026";
  }

  function el(tag, text, cls) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (cls) node.className = cls;
    return node;
  }

  function indexBoxes() {
    boxes = new Map();
    for (const g of dag.querySelectorAll("g.node[data-node]")) {
      const cls = Array.from(g.classList).find((c) => c.startsWith("st-"));
      boxes.set(g.getAttribute("data-node"), {
        g: g,
        s: cls ? cls.slice(3) : "pending",
        c: "",
        detail: g.querySelector(".detail"),
      });
    }
    if (selected && boxes.has(selected)) boxes.get(selected).g.classList.add("selected");
  }

  function svgShape() {
    const svg = dag.querySelector("svg");
    return svg ? svg.getAttribute("data-shape") : "";
  }

  function setPhase(phase) {
    const pill = document.getElementById("phase");
    pill.textContent = phase;
    pill.className = "phase pill st-" + phase.toLowerCase();
    document.documentElement.setAttribute("data-phase", phase);
  }

  function apply(state) {
    setPhase(state.phase);
    document.getElementById("progress").textContent =
      state.progress[0] + "/" + state.progress[1] + " tasks finished";
    document.getElementById("message").textContent = state.note || state.message || "";
    let missing = false;
    let touched = false;
    for (const id in state.boxes) {
      const box = boxes.get(id);
      if (!box) {
        missing = true;
        continue;
      }
      const s = state.boxes[id][0];
      const c = state.boxes[id][1];
      if (s !== box.s) {
        box.g.classList.remove("st-" + box.s);
        box.g.classList.add("st-" + s);
        box.s = s;
        if (id === selected) touched = true;
      }
      if (c && c !== box.c) {
        box.detail.textContent = clip(c, DETAIL_CHARS);
        box.c = c;
        if (id === selected) touched = true;
      }
    }
    if (live && (missing || state.shape !== svgShape())) reloadDag();
    if (touched) show(selected, false);
  }

  async function reloadDag() {
    const response = await fetch(api("dag.svg"), { cache: "no-cache" });
    if (!response.ok) return;
    dag.innerHTML = await response.text(); // kjob's own SVG: every user text in it is escaped
    applyZoom();
    indexBoxes();
  }

  async function reloadGantt() {
    const response = await fetch(api("gantt.svg"), { cache: "no-cache" });
    if (response.ok) gantt.innerHTML = await response.text();
  }

  let polls = 0;
  async function poll() {
    let finished = false;
    let wait = 1000;
    try {
      const response = await fetch(api("state"), { cache: "no-cache" });
      if (response.ok) {
        const state = await response.json();
        apply(state);
        finished = FINISHED.has(state.phase);
        wait = state.note ? 5000 : 1000; // nobody is running it: look now and then for a resume
      }
    } catch (err) {
      document.getElementById("message").textContent = "kjob ui is not answering: " + err;
    }
    polls += 1;
    if (finished || polls % 5 === 0) await reloadGantt();
    if (!finished) setTimeout(poll, wait);
  }

  async function detailOf(id) {
    if (!live) return boot.details[id] || null;
    const response = await fetch(api("node?id=" + encodeURIComponent(id)), { cache: "no-cache" });
    return response.ok ? response.json() : null;
  }

  async function logOf(id, attempt) {
    if (!live) {
      const text = boot.logs[id + "#" + attempt];
      return text === undefined ? "(the log was not kept in this report)" : text;
    }
    const response = await fetch(
      api("log?id=" + encodeURIComponent(id) + "&attempt=" + attempt),
      { cache: "no-cache" }
    );
    return response.ok ? response.text() : "(no log: " + response.status + ")";
  }

  function when(t) {
    return typeof t === "number" ? new Date(t * 1000).toISOString().replace("T", " ").slice(0, 23) : "";
  }

  const VALUE_CHARS = 4000;

  function shown(value) {
    const text = value === null || value === undefined ? "" : String(value);
    if (text.length <= VALUE_CHARS) return text;
    return text.slice(0, VALUE_CHARS) + "\u2026 (" + (text.length - VALUE_CHARS) + " more characters)";
  }

  function table(rows, cls) {
    const t = el("table", null, cls);
    for (const [k, v] of rows) {
      const tr = el("tr");
      tr.appendChild(el("th", k));
      tr.appendChild(el("td", shown(v), "value"));
      t.appendChild(tr);
    }
    return t;
  }

  function select(id) {
    if (selected && boxes.has(selected)) boxes.get(selected).g.classList.remove("selected");
    selected = id;
    if (boxes.has(id)) boxes.get(id).g.classList.add("selected");
  }

  async function show(id, fresh) {
    const detail = await detailOf(id);
    if (!detail) return;
    if (fresh !== false) select(boxes.has(id) ? id : selected);
    panel.replaceChildren();
    const close = el("button", "close", "close");
    close.addEventListener("click", () => {
      panel.hidden = true;
      select(null);
    });
    panel.appendChild(close);
    const head = el("h2", detail.id);
    panel.appendChild(head);
    const pill = el("span", detail.phase, "phase pill st-" + detail.phase.toLowerCase());
    pill.id = "detail-phase";
    panel.appendChild(pill);
    const facts = [
      ["task", detail.task],
      ["template", detail.template],
      ["started", when(detail.started)],
      ["finished", when(detail.finished)],
      ["duration", detail.duration === null ? "" : detail.duration + " s"],
    ];
    if (detail.message) facts.push(["message", detail.message]);
    if (detail.depends.length) facts.push(["depends on", detail.depends.join(", ")]);
    panel.appendChild(table(facts));
    if (detail.part_of) {
      const up = el("p", "part of ");
      const a = el("a", detail.part_of, "node-link part-of");
      a.addEventListener("click", () => show(detail.part_of));
      up.appendChild(a);
      panel.appendChild(up);
    }
    const inputs = Object.entries(detail.inputs);
    if (inputs.length) {
      panel.appendChild(el("h3", "Inputs"));
      panel.appendChild(table(inputs, "inputs"));
    }
    const out = detail.outputs;
    const outputs = Object.entries(out.parameters).concat(
      Object.entries(out.artifacts).map(([k, v]) => ["artifact " + k, v])
    );
    if (out.result !== null && out.result !== undefined) outputs.push(["result", out.result]);
    if (out.exit_code !== null && out.exit_code !== undefined) outputs.push(["exit code", out.exit_code]);
    if (outputs.length) {
      panel.appendChild(el("h3", "Outputs"));
      panel.appendChild(table(outputs, "outputs"));
    }
    if (detail.children.length) {
      panel.appendChild(el("h3", "Inside (" + (detail.children.length + detail.more_children) + ")"));
      const list = el("ul", null, "children");
      for (const child of detail.children) {
        const li = el("li");
        const a = el("a", child.id, "node-link");
        a.addEventListener("click", () => show(child.id));
        li.appendChild(a);
        li.appendChild(el("span", " " + child.phase, "pill st-" + child.phase.toLowerCase()));
        list.appendChild(li);
      }
      panel.appendChild(list);
      if (detail.more_children) panel.appendChild(el("p", "and " + detail.more_children + " more"));
    }
    if (detail.attempts.length) {
      panel.appendChild(el("h3", "Attempts"));
      const t = el("table", null, "attempts");
      const head = el("tr");
      for (const h of ["#", "phase", "exit", "duration", "message", ""]) head.appendChild(el("th", h));
      t.appendChild(head);
      const pre = el("pre", "", "log");
      pre.id = "log";
      for (const a of detail.attempts) {
        const tr = el("tr");
        tr.appendChild(el("td", a.number));
        tr.appendChild(el("td", a.phase));
        tr.appendChild(el("td", a.exit_code === null ? "" : a.exit_code));
        tr.appendChild(el("td", a.duration === null ? "" : a.duration + " s"));
        tr.appendChild(el("td", a.message, "value"));
        const td = el("td");
        const button = el("button", "log", "show-log");
        button.addEventListener("click", async () => {
          pre.setAttribute("data-attempt", a.number);
          pre.textContent = await logOf(detail.id, a.number);
        });
        td.appendChild(button);
        tr.appendChild(td);
        t.appendChild(tr);
      }
      panel.appendChild(t);
      panel.appendChild(el("h3", "Log"));
      panel.appendChild(pre);
      const last = detail.attempts.length - 1;
      pre.setAttribute("data-attempt", last);
      pre.textContent = await logOf(detail.id, last);
      pre.scrollTop = pre.scrollHeight;
    }
    panel.hidden = false;
  }

  function applyZoom() {
    const svg = dag.querySelector("svg");
    if (!svg) return;
    const box = svg.viewBox.baseVal;
    svg.setAttribute("width", Math.round(box.width * zoom));
    svg.setAttribute("height", Math.round(box.height * zoom));
  }

  dag.addEventListener("click", (event) => {
    const g = event.target.closest("g.node[data-node]");
    if (g) show(g.getAttribute("data-node"));
  });
  gantt.addEventListener("click", (event) => {
    const g = event.target.closest("g.row[data-node]");
    if (g) show(g.getAttribute("data-node"));
  });
  for (const [id, factor] of [["zoom-out", 0.8], ["zoom-in", 1.25]]) {
    document.getElementById(id).addEventListener("click", () => {
      zoom = Math.min(4, Math.max(0.1, zoom * factor));
      applyZoom();
    });
  }
  document.getElementById("zoom-fit").addEventListener("click", () => {
    const svg = dag.querySelector("svg");
    if (!svg) return;
    zoom = Math.min(1, dag.clientWidth / svg.viewBox.baseVal.width);
    applyZoom();
  });

  indexBoxes();
  apply(boot.state);
  window.kjobRendered = performance.now(); // the DAG is in the DOM and live (bench/bench_ui.py reads it)
  window.kjobState = boot.state;
  window.kjobApply = apply;
  document.documentElement.setAttribute("data-ready", "1");
  if (live) {
    reloadGantt(); // after the DAG is on screen: a big run's timeline has thousands of rows
    if (!FINISHED.has(boot.state.phase)) setTimeout(poll, 1000);
  }
})();
