// The console's behaviour: panel actions, auto-detect, the resource tree's
// context menu, and dialogs rendered from a menu item's JSON Schema.
// Text from the server is always set with textContent, never as HTML.
"use strict";

(function () {
  const csrf = document.querySelector('meta[name="csrf-token"]').content;

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "text") node.textContent = value;
      else if (key === "class") node.className = value;
      else node.setAttribute(key, value === true ? "" : value);
    }
    for (const child of children) {
      if (child) node.append(child);
    }
    return node;
  }

  async function send(method, url, body) {
    const headers = { "X-CSRFToken": csrf, Accept: "application/json" };
    let payload = body;
    if (body && !(body instanceof FormData)) {
      headers["Content-Type"] = "application/json";
      payload = JSON.stringify(body);
    }
    const response = await fetch(url, {
      method, headers, body: payload, credentials: "same-origin",
    });
    let data;
    try {
      data = await response.json();
    } catch (err) {
      data = { ok: false, error: `HTTP ${response.status}` };
    }
    data.status = response.status;
    return data;
  }

  function bytes(text) {
    return new TextEncoder().encode(text).length;
  }

  function copyButton(input) {
    const button = el("button", { type: "button", class: "copy", text: "点击复制 Copy" });
    button.addEventListener("click", async () => {
      input.select();
      try {
        await navigator.clipboard.writeText(input.value);
      } catch (err) {
        document.execCommand("copy");
      }
      button.textContent = "已复制 Copied";
    });
    return button;
  }

  // Shows an ActionResult: its message, a link with a copy button, notes,
  // warnings, problems and further lines.
  function showResult(box, result) {
    box.hidden = false;
    box.replaceChildren();
    box.className = "result " + (result.ok ? "ok" : "failed");
    const data = result.data || {};
    const text = result.ok ? result.message : (result.error || result.message);
    if (data.link) {
      box.append(el("h3", { text: "生成微信链接 WeChat link" }));
      const input = el("input", { class: "link", readonly: true, value: data.link, id: "generated-link" });
      box.append(el("div", { class: "linkbox" }, input, copyButton(input)));
    } else {
      const problems = new Set(data.problems || []);
      const warnings = new Set(data.warnings || []);
      for (const line of String(text || "").split("\n")) {
        const cls = problems.has(line) ? "error" : warnings.has(line) ? "warning" : "";
        box.append(el("p", { class: `message ${cls}`, text: line }));
      }
    }
    if (data.note) box.append(el("p", { class: "note", text: data.note }));
    if (Array.isArray(data.lines) && data.lines.length) {
      const list = el("ul", { class: "lines" });
      for (const item of data.lines) list.append(el("li", { text: item }));
      box.append(list);
    }
  }

  // -- forms that ask first ------------------------------------------------
  for (const form of document.querySelectorAll("form[data-confirm]")) {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  }

  // -- option panels -------------------------------------------------------
  for (const button of document.querySelectorAll("button.autodetect")) {
    button.addEventListener("click", () => {
      const input = document.getElementById(button.dataset.target);
      input.value = button.dataset.value;
      input.dispatchEvent(new Event("input"));
    });
  }
  const panelForm = document.getElementById("panel-form");
  if (panelForm) {
    const box = document.getElementById("action-result");
    for (const button of panelForm.querySelectorAll("button[data-action]")) {
      button.addEventListener("click", async () => {
        button.disabled = true;
        box.hidden = false;
        box.replaceChildren(el("p", { text: "…" }));
        const url = `/console/options/${encodeURIComponent(panelForm.dataset.panel)}/actions/${encodeURIComponent(button.dataset.action)}`;
        try {
          showResult(box, await send("POST", url, {}));
        } finally {
          button.disabled = false;
        }
      });
    }
  }

  // -- the resource tree and its context menu ---------------------------------
  const menu = document.getElementById("context-menu");
  const backdrop = document.getElementById("dialog-backdrop");

  function hideMenu() {
    if (menu) menu.hidden = true;
  }
  document.addEventListener("click", (event) => {
    if (menu && !menu.contains(event.target)) hideMenu();
  });
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      hideMenu();
      if (backdrop) backdrop.hidden = true;
    }
  });

  async function openMenu(node, x, y) {
    const kind = node.dataset.kind;
    const id = node.dataset.id;
    const answer = await send("GET", `/console/menus/${kind}/${encodeURIComponent(id)}`);
    menu.replaceChildren();
    if (!answer.ok) {
      menu.append(el("li", { class: "error", text: answer.error }));
    } else if (!answer.items.length) {
      menu.append(el("li", { class: "muted", text: "没有菜单项 No menu items" }));
    }
    for (const item of answer.items || []) {
      const entry = el("li", { role: "menuitem", tabindex: "0", "data-item": item.id, text: item.label });
      entry.addEventListener("click", () => {
        hideMenu();
        openDialog(kind, id, item.id);
      });
      entry.addEventListener("keydown", (event) => {
        if (event.key === "Enter") entry.click();
      });
      menu.append(entry);
    }
    menu.style.left = `${x}px`;
    menu.style.top = `${y}px`;
    menu.hidden = false;
  }

  for (const node of document.querySelectorAll("#resource-tree [data-kind]")) {
    node.addEventListener("contextmenu", (event) => {
      event.preventDefault();
      openMenu(node, event.pageX, event.pageY);
    });
    node.addEventListener("keydown", (event) => {
      if (event.key === "ContextMenu" || (event.shiftKey && event.key === "F10")) {
        event.preventDefault();
        const rect = node.getBoundingClientRect();
        openMenu(node, rect.left + window.scrollX + 20, rect.bottom + window.scrollY);
      }
    });
  }

  // -- dialogs rendered from a JSON Schema --------------------------------------
  function types(prop) {
    return Array.isArray(prop.type) ? prop.type : [prop.type || "string"];
  }

  function byteCounter(input, limit) {
    const counter = el("p", { class: "counter", id: `count-${input.name}` });
    const update = () => {
      const used = bytes(input.value);
      counter.replaceChildren();
      counter.className = "counter" + (used > limit ? " over" : used > limit * 0.9 ? " near" : "");
      counter.append(`${used} / ${limit} 字节 bytes (UTF-8)`);
      if (used > limit) {
        counter.append(el("span", {
          class: "warning", id: `cut-${input.name}`,
          text: ` 超出上限，推送时将被截断 Over WeCom's limit: it will be cut to ${limit} bytes when pushed`,
        }));
      }
    };
    input.addEventListener("input", update);
    update();
    return counter;
  }

  function choiceControl(key, prop, options, value, required) {
    if (types(prop).includes("array")) {
      const chosen = new Set(Array.isArray(value) ? value : String(value || "").split(",").map((v) => v.trim()));
      const box = el("div", { class: "choices", "data-multi": key });
      const skipped = el("p", { class: "warning skipped", id: `skipped-${key}` });
      const update = () => {
        const warns = [...box.querySelectorAll("input:checked")]
          .map((input) => input.dataset.warn).filter(Boolean);
        skipped.textContent = warns.length ? "将跳过 Will be skipped: " + warns.join("; ") : "";
      };
      for (const option of options) {
        const input = el("input", {
          type: "checkbox", name: key, value: option.value,
          checked: chosen.has(option.value), "data-warn": option.warn || null,
        });
        input.addEventListener("change", update);
        const label = el("label", { class: "choice" + (option.warn ? " warn" : "") }, input, " " + option.label);
        box.append(label);
      }
      if (!options.length) box.append(el("p", { class: "muted", text: "无可选项 Nothing to choose" }));
      const wrap = el("div", {}, box, skipped);
      update();
      return wrap;
    }
    const select = el("select", { name: key, id: `d-${key}`, required });
    select.append(el("option", { value: "", text: required ? "请选择 Choose…" : "—" }));
    for (const option of options) {
      select.append(el("option", { value: option.value, text: option.label, selected: option.value === value }));
    }
    return select;
  }

  function uploadControl(key, prop, value) {
    const hint = prop["x-upload"] || {};
    const wrap = el("div", { class: "upload" });
    const url = el("input", { name: key, id: `d-${key}`, value: value || "", placeholder: "https://… or upload a picture" });
    const file = el("input", { type: "file", id: `file-${key}`, accept: (hint.accept || ["image/jpeg", "image/png"]).join(",") });
    const info = el("p", { class: "help", id: `upload-${key}` });
    const preview = el("img", { class: "preview", alt: "", hidden: true });
    file.addEventListener("change", async () => {
      if (!file.files.length) return;
      const body = new FormData();
      body.append("file", file.files[0]);
      if (hint.recommended) body.append("recommended", hint.recommended.join("x"));
      info.className = "help";
      info.textContent = "上传中 Uploading…";
      const answer = await send("POST", "/console/uploads", body);
      if (!answer.ok) {
        info.className = "error";
        info.textContent = answer.error;
        return;
      }
      const picture = answer.picture;
      url.value = picture.path;
      preview.src = picture.path;
      preview.hidden = false;
      info.replaceChildren(`${picture.format} ${picture.width}×${picture.height}, ${Math.ceil(picture.size / 1024)} KiB`);
      if (picture.note) info.append(el("span", { class: "warning", id: `note-${key}`, text: " " + picture.note }));
    });
    wrap.append(file, url, preview, info);
    return wrap;
  }

  function renderDialog(form, answer, run) {
    const schema = answer.schema || {};
    const required = new Set(schema.required || []);
    const values = answer.values || {};
    const choices = answer.choices || {};
    const properties = schema.properties || {};
    const order = answer.order || Object.keys(properties);
    form.replaceChildren();
    for (const key of order) {
      const prop = properties[key];
      const field = el("div", { class: "field", "data-field": key });
      const title = (prop.title || key) + (required.has(key) ? " *" : "");
      field.append(el("label", { for: `d-${key}`, text: title }));
      let control;
      if (choices[key]) {
        control = choiceControl(key, prop, choices[key], values[key], required.has(key));
      } else if (prop["x-upload"]) {
        control = uploadControl(key, prop, values[key]);
      } else if (prop["x-multiline"]) {
        control = el("textarea", { name: key, id: `d-${key}`, rows: 3 });
        control.value = values[key] || "";
      } else {
        control = el("input", { name: key, id: `d-${key}`, value: values[key] || "", required: required.has(key) });
      }
      field.append(el("div", { class: "control" }, control));
      const input = control.querySelector ? (control.matches("input,textarea,select") ? control : control.querySelector(`[name="${key}"]`)) : control;
      if (prop["x-max-bytes"] && input) field.append(byteCounter(input, prop["x-max-bytes"]));
      if (prop.description) field.append(el("p", { class: "help", text: prop.description }));
      field.append(el("p", { class: "error", id: `derror-${key}`, hidden: true }));
      form.append(field);
    }
    const submit = el("button", {
      type: "submit", class: "primary", id: "dialog-submit", text: schema["x-submit"] || "确定 OK",
    });
    const cancel = el("button", { type: "button", id: "dialog-cancel", text: "取消 Cancel" });
    cancel.addEventListener("click", () => { backdrop.hidden = true; });
    form.append(el("div", { class: "buttons" }, submit, cancel));
    form.onsubmit = async (event) => {
      event.preventDefault();
      const collected = {};
      for (const [key, prop] of Object.entries(schema.properties || {})) {
        if (types(prop).includes("array") && choices[key]) {
          collected[key] = [...form.querySelectorAll(`input[name="${key}"]:checked`)].map((i) => i.value);
        } else {
          const input = form.querySelector(`[name="${key}"]`);
          if (input) collected[key] = input.value;
        }
      }
      submit.disabled = true;
      try {
        await run(collected);
      } finally {
        submit.disabled = false;
      }
    };
  }

  async function openDialog(kind, id, itemId) {
    const base = `/console/menus/${kind}/${encodeURIComponent(id)}/${encodeURIComponent(itemId)}`;
    const title = document.getElementById("dialog-title");
    const form = document.getElementById("dialog-form");
    const result = document.getElementById("dialog-result");
    result.hidden = true;
    form.replaceChildren(el("p", { text: "…" }));
    backdrop.hidden = false;
    const answer = await send("GET", base);
    if (!answer.ok) {
      title.textContent = "出错了 Error";
      form.replaceChildren(el("p", { class: "error", text: answer.error }));
      return;
    }
    title.textContent = `${answer.label} · ${answer.resource}`;
    renderDialog(form, answer, async (values) => {
      for (const node of form.querySelectorAll("p.error")) node.hidden = true;
      const outcome = await send("POST", base, values);
      if (!outcome.ok && outcome.fields) {
        for (const [key, message] of Object.entries(outcome.fields)) {
          const node = document.getElementById(`derror-${key}`);
          if (node) {
            node.textContent = message;
            node.hidden = false;
          }
        }
      }
      showResult(result, outcome);
      result.scrollIntoView({ block: "nearest" });
    });
  }
})();
