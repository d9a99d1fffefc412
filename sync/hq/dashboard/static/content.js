// 内容管理: the draft editor of the HQ dashboard's content page. It edits a content pack
// (questionnaires, recommendations, points rules, follow-up messages) as forms, asks HQ
// to validate the draft on every change (the same strict loader the kiosk uses), shows
// each problem next to its field, previews a questionnaire as the counter shows it, and
// publishes the draft to pilot stores or to all. No framework, no CDN; the page's CSP
// allows only this file. The draft lives in the browser (localStorage) until published.
(function () {
  "use strict";

  var app = document.getElementById("content-app");
  if (!app) return;
  var csrf = app.getAttribute("data-csrf");
  var fromVersion = app.getAttribute("data-from") || "";

  var CLASSES = ["hypertension", "diabetes", "hyperlipidemia", "general"];
  var CLASS_NAMES = { hypertension: "高血压", diabetes: "糖尿病", hyperlipidemia: "高血脂", general: "通用（无慢病）" };
  var LEVELS = ["ok", "yellow", "red", "unknown"];
  var LEVEL_NAMES = { ok: "连续", yellow: "存疑", red: "高风险", unknown: "无法计算" };
  var POINT_NAMES = { visit_complete: "完成一次四步服务", link_opened: "顾客打开随访链接", revisit_booked: "顾客预约复诊" };
  var QDIR = "questionnaires/";
  var KB = "knowledge/kb.json", POINTS = "rules/points.json", MESSAGES = "messages/followup.json", CATALOG = "catalog/drugs.json";
  var STORAGE = "hq-content-draft";

  var state = {
    base: null,      // {version, hash, files: {name: text}} the draft started from
    latest: null,    // number of the latest version
    stores: [],      // store ids known to HQ
    raw: {},         // name → text of files not edited (sent back byte for byte)
    data: {},        // name → parsed JSON of edited or editable files
    dirty: {},       // name → true once edited
    tab: "q:hypertension",
    problems: [],
    preview: { cls: "hypertension", answers: {}, order: [] },
    validating: 0
  };

  // ---- DOM helpers --------------------------------------------------------------------

  function h(tag, attrs) {
    var el = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) {
        var v = attrs[k];
        if (v === undefined || v === null || v === false) return;
        if (k === "text") el.textContent = v;
        else if (k.slice(0, 2) === "on") el.addEventListener(k.slice(2), v);
        else if (k === "value") el.value = v;
        else if (k === "checked") el.checked = !!v;
        else el.setAttribute(k, v === true ? "" : v);
      });
    }
    for (var i = 2; i < arguments.length; i++) add(el, arguments[i]);
    return el;
  }
  function add(el, c) {
    if (c === null || c === undefined || c === false) return;
    if (Array.isArray(c)) { c.forEach(function (x) { add(el, x); }); return; }
    el.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
  }
  function clear(el) { while (el.firstChild) el.removeChild(el.firstChild); }

  // field is an input bound to obj[key] in file at JSON path: typing updates the draft
  // and schedules validation without rebuilding the form (the cursor stays).
  function field(label, file, path, obj, key, opts) {
    opts = opts || {};
    var input;
    var cur = obj[key];
    if (opts.type === "textarea") {
      input = h("textarea", { rows: opts.rows || 3, "data-file": file, "data-field": path });
      input.value = cur === undefined ? "" : cur;
    } else if (opts.type === "checkbox") {
      input = h("input", { type: "checkbox", checked: !!cur, "data-file": file, "data-field": path });
    } else {
      input = h("input", { type: opts.type || "text", value: cur === undefined ? "" : String(cur), "data-file": file, "data-field": path,
        placeholder: opts.placeholder, class: opts.cls });
    }
    var onEdit = function () {
      var v;
      if (opts.type === "checkbox") v = input.checked;
      else if (opts.type === "number") v = input.value === "" ? 0 : Number(input.value);
      else v = input.value;
      if (opts.set) opts.set(v); else obj[key] = v;
      touched(file, opts.rerender);
    };
    // "input" while typing; "change" also catches a field emptied at once (cut, clear).
    input.addEventListener("change", onEdit);
    if (opts.type !== "checkbox") input.addEventListener("input", onEdit);
    if (opts.type === "checkbox") return h("label", { class: "check" }, input, " " + label);
    return h("label", { class: "field" + (opts.wide ? " wide" : "") }, h("span", { text: label }), input);
  }

  function button(text, onclick, cls) {
    return h("button", { type: "button", class: cls || "small", onclick: onclick, text: text });
  }

  function move(list, i, d) {
    var j = i + d;
    if (j < 0 || j >= list.length) return;
    var x = list[i]; list[i] = list[j]; list[j] = x;
  }

  // ---- draft state --------------------------------------------------------------------

  function touched(file, rerender) {
    state.dirty[file] = true;
    save();
    scheduleValidate();
    if (rerender) render(); else renderPreview();
  }

  function fileText(name) {
    if (state.dirty[name] && state.data[name] !== undefined) return JSON.stringify(clean(state.data[name]), null, 1) + "\n";
    return state.raw[name];
  }

  function draftFiles() {
    var out = {};
    Object.keys(state.raw).concat(Object.keys(state.data)).forEach(function (n) {
      if (state.data[n] === null) return; // deleted
      var t = fileText(n);
      if (t !== undefined) out[n] = t;
    });
    return out;
  }

  // clean drops the empty optional fields the forms leave behind (false, "", [], {}), so
  // an untouched entity serialises as it was read.
  var OPTIONAL = { mandatory: 1, show_if: 1, classes: 1, levels: 1, answers: 1, rules: 1, product_codes: 1, alt_codes: 1, reason: 2, reason_en: 2 };
  function clean(v, parentKey) {
    if (Array.isArray(v)) return v.map(function (x) { return clean(x); });
    if (v && typeof v === "object") {
      var o = {};
      Object.keys(v).forEach(function (k) {
        var x = v[k];
        var opt = OPTIONAL[k];
        if (opt === 1 && (x === false || (Array.isArray(x) && x.length === 0) || (x && typeof x === "object" && !Array.isArray(x) && Object.keys(x).length === 0))) return;
        if (opt === 2 && x === "" && v.weight !== undefined) return; // a rule's optional reason
        o[k] = clean(x, k);
      });
      return o;
    }
    return v;
  }

  function save() {
    try {
      var d = {};
      Object.keys(state.dirty).forEach(function (n) { d[n] = state.data[n] === null ? null : fileText(n); });
      localStorage.setItem(STORAGE, JSON.stringify({ baseVersion: state.base.version, baseHash: state.base.hash, files: d }));
    } catch (e) { /* private mode: the draft lives only in this tab */ }
  }

  function load(doc, keepDraft) {
    state.base = doc;
    state.raw = {};
    state.data = {};
    state.dirty = {};
    Object.keys(doc.files).forEach(function (n) {
      state.raw[n] = doc.files[n];
      if (n !== CATALOG) {
        try { state.data[n] = JSON.parse(doc.files[n]); } catch (e) { /* shown by validation */ }
      }
    });
    if (keepDraft) {
      try {
        var saved = JSON.parse(localStorage.getItem(STORAGE) || "null");
        if (saved && saved.baseHash === doc.hash) {
          Object.keys(saved.files).forEach(function (n) {
            state.dirty[n] = true;
            if (saved.files[n] === null) { state.data[n] = null; return; }
            state.raw[n] = saved.files[n];
            try { state.data[n] = JSON.parse(saved.files[n]); } catch (e) { delete state.data[n]; }
          });
        }
      } catch (e) { /* a broken saved draft is dropped */ }
    }
  }

  function catalog() {
    try { return JSON.parse(state.raw[CATALOG] || "[]"); } catch (e) { return []; }
  }

  // ---- server calls -------------------------------------------------------------------

  function api(method, url, body) {
    var init = { method: method, headers: { "X-CSRF-Token": csrf }, credentials: "same-origin" };
    if (body !== undefined) { init.headers["Content-Type"] = "application/json"; init.body = JSON.stringify(body); }
    return fetch(url, init).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (j) { j.httpStatus = r.status; return j; });
    });
  }

  var timer = null;
  function scheduleValidate() {
    if (timer) clearTimeout(timer);
    timer = setTimeout(validate, 300);
  }

  function validate() {
    timer = null;
    var seq = ++state.validating;
    setStatus("校验中…", "");
    return api("POST", "/content/validate", { files: draftFiles(), complete: true }).then(function (res) {
      if (seq !== state.validating) return; // a newer change is being checked
      if (res.httpStatus !== 200) { setStatus("校验失败：" + (res.error || res.httpStatus), "error"); return; }
      state.problems = res.problems || [];
      state.diff = res.diff || null;
      state.diffBase = res.base;
      state.hash = res.hash || "";
      showProblems();
      showDiff();
    }).catch(function (e) { setStatus("无法连接总部：" + e, "error"); });
  }

  function setStatus(text, cls) {
    var s = document.getElementById("draft-status");
    s.textContent = text;
    s.className = cls || "";
  }

  // ---- problems next to their fields --------------------------------------------------

  function showProblems() {
    Array.prototype.forEach.call(app.querySelectorAll(".invalid"), function (el) { el.classList.remove("invalid"); });
    Array.prototype.forEach.call(app.querySelectorAll(".field-problem"), function (el) { el.remove(); });
    var list = document.getElementById("problems");
    clear(list);
    if (state.problems.length === 0) {
      setStatus("草稿有效，可以发布", "ok");
      document.getElementById("publish").disabled = false;
      return;
    }
    setStatus(state.problems.length + " 处问题，修正后才能发布", "error");
    document.getElementById("publish").disabled = true;
    state.problems.forEach(function (p) {
      var where = p.file + (p.field ? " · " + p.field : "") + (p.line ? "（第 " + p.line + " 行）" : "");
      list.appendChild(h("li", { class: "problem", "data-problem-file": p.file, "data-problem-field": p.field || "" },
        h("a", { href: "#", onclick: function (e) { e.preventDefault(); reveal(p); }, text: where }), " ", p.entity ? p.entity + "：" : "", p.message));
      var el = target(p);
      if (el) {
        el.classList.add("invalid");
        var note = h("div", { class: "field-problem", text: p.message });
        if (el.parentNode) el.parentNode.insertBefore(note, el.nextSibling);
      }
    });
  }

  // target is the form element of a problem: the element bound to its field, else the
  // nearest enclosing path that has one (questions[2].choices → the choices block).
  function target(p) {
    var path = p.field || "";
    for (;;) {
      var sel = '[data-file="' + cssq(p.file) + '"][data-field="' + cssq(path) + '"]';
      var el = app.querySelector(sel);
      if (el) return el;
      if (path === "") return null;
      var cut = Math.max(path.lastIndexOf("."), path.lastIndexOf("["));
      path = cut > 0 ? path.slice(0, cut) : "";
    }
  }
  function cssq(s) { return String(s).replace(/["\\]/g, "\\$&"); }

  function reveal(p) {
    var tab = tabOf(p.file);
    if (tab && tab !== state.tab) { state.tab = tab; render(); showProblems(); }
    var el = target(p);
    if (el) { el.scrollIntoView({ block: "center" }); if (el.focus) el.focus(); }
  }

  function tabOf(file) {
    if (file.indexOf(QDIR) === 0) return "q:" + file.slice(QDIR.length, -5);
    if (file === KB) return "kb";
    if (file === POINTS) return "points";
    if (file === MESSAGES) return "messages";
    return null;
  }

  // ---- forms --------------------------------------------------------------------------

  function render() {
    var tabs = document.getElementById("tabs");
    clear(tabs);
    CLASSES.forEach(function (c) {
      tabs.appendChild(tabButton("q:" + c, "问卷 · " + CLASS_NAMES[c]));
    });
    tabs.appendChild(tabButton("kb", "推荐方案"));
    tabs.appendChild(tabButton("points", "积分规则"));
    tabs.appendChild(tabButton("messages", "随访消息"));
    var body = document.getElementById("editor");
    clear(body);
    if (state.tab.indexOf("q:") === 0) body.appendChild(questionnaireForm(state.tab.slice(2)));
    else if (state.tab === "kb") body.appendChild(kbForm());
    else if (state.tab === "points") body.appendChild(pointsForm());
    else body.appendChild(messagesForm());
    renderPreview();
    showProblems();
  }

  function tabButton(id, text) {
    return h("button", { type: "button", class: "tab" + (state.tab === id ? " active" : ""), "data-tab": id, text: text,
      onclick: function () { state.tab = id; if (id.indexOf("q:") === 0) { state.preview = { cls: id.slice(2), answers: {}, order: [] }; } render(); } });
  }

  function questionnaireForm(cls) {
    var file = QDIR + cls + ".json";
    var q = state.data[file];
    if (!q) {
      return h("div", { class: "empty" },
        h("p", { text: CLASS_NAMES[cls] + "没有自己的问卷，柜台使用通用问卷。" }),
        button("新建" + CLASS_NAMES[cls] + "问卷（从通用问卷复制）", function () {
          var g = JSON.parse(JSON.stringify(state.data[QDIR + "general.json"]));
          g.class = cls;
          g.title = CLASS_NAMES[cls] + "用药随访";
          state.data[file] = g;
          touched(file, true);
        }, "primary"));
    }
    var qs = q.questions || (q.questions = []);
    var box = h("div", { class: "qform" },
      h("div", { class: "row" },
        field("标题（中文）", file, "title", q, "title", { wide: true }),
        field("标题（英文）", file, "title_en", q, "title_en", { wide: true }),
        field("版本", file, "version", q, "version", { type: "number", cls: "num" })),
      h("p", { class: "muted", text: "前三题为必答题（柜台一定会问）；其余为追问，须设置显示条件。每题 2–9 个选项，柜台按数字键选择。" }));
    var list = h("div", { "data-file": file, "data-field": "questions" });
    qs.forEach(function (qu, i) { list.appendChild(questionCard(file, q, qu, i)); });
    box.appendChild(list);
    var addQ = button("＋ 添加追问", function () {
        var n = 1;
        while (qs.some(function (x) { return x.id === "q" + n; })) n++;
        qs.push({ id: "q" + n, text: "", text_en: "", show_if: {}, choices: [{ id: "yes", label: "是", label_en: "Yes" }, { id: "no", label: "否", label_en: "No" }] });
        touched(file, true);
      }, "primary");
    addQ.id = "add-question";
    box.appendChild(h("div", { class: "row" }, addQ,
      cls !== "general" ? button("删除此问卷", function () {
        if (!confirm("删除" + CLASS_NAMES[cls] + "问卷？柜台将改用通用问卷。")) return;
        state.data[file] = null;
        touched(file, true);
      }, "danger") : null));
    return box;
  }

  function questionCard(file, q, qu, i) {
    var qs = q.questions;
    var p = "questions[" + i + "]";
    var card = h("div", { class: "card qcard", "data-file": file, "data-field": p, "data-question": qu.id },
      h("div", { class: "row head" },
        h("strong", { text: (i + 1) + ". " + (qu.mandatory ? "必答" : "追问") }),
        field("编号", file, p + ".id", qu, "id", { cls: "id", set: function (v) { renameQuestion(q, qu.id, v); } }),
        field("必答", file, p + ".mandatory", qu, "mandatory", { type: "checkbox", rerender: true }),
        h("span", { class: "spacer" }),
        button("↑", function () { move(qs, i, -1); touched(file, true); }),
        button("↓", function () { move(qs, i, 1); touched(file, true); }),
        button("删除", function () { qs.splice(i, 1); touched(file, true); }, "danger")),
      h("div", { class: "row" },
        field("问题（中文）", file, p + ".text", qu, "text", { wide: true }),
        field("问题（英文）", file, p + ".text_en", qu, "text_en", { wide: true })));
    if (!qu.mandatory) card.appendChild(showIfEditor(file, q, qu, i));
    var choices = h("div", { class: "choices", "data-file": file, "data-field": p + ".choices" },
      h("div", { class: "muted", text: "选项（柜台按 1–9 选择）" }));
    (qu.choices || (qu.choices = [])).forEach(function (c, j) {
      var cp = p + ".choices[" + j + "]";
      choices.appendChild(h("div", { class: "row choice", "data-file": file, "data-field": cp },
        h("span", { class: "key", text: String(j + 1) }),
        field("编号", file, cp + ".id", c, "id", { cls: "id", set: function (v) { renameChoice(q, qu.id, c.id, v); c.id = v; } }),
        field("中文", file, cp + ".label", c, "label"),
        field("英文", file, cp + ".label_en", c, "label_en"),
        button("↑", function () { move(qu.choices, j, -1); touched(file, true); }),
        button("↓", function () { move(qu.choices, j, 1); touched(file, true); }),
        button("✕", function () { qu.choices.splice(j, 1); touched(file, true); }, "danger")));
    });
    choices.appendChild(button("＋ 选项", function () {
      var n = qu.choices.length + 1;
      qu.choices.push({ id: "c" + n, label: "", label_en: "" });
      touched(file, true);
    }));
    card.appendChild(choices);
    return card;
  }

  // showIfEditor edits a follow-up's branching: show it when an earlier question has
  // one of the ticked answers (all listed questions must match).
  function showIfEditor(file, q, qu, i) {
    var p = "questions[" + i + "].show_if";
    var si = qu.show_if || (qu.show_if = {});
    var earlier = q.questions.slice(0, i);
    var box = h("div", { class: "showif", "data-file": file, "data-field": p },
      h("div", { class: "muted", text: "显示条件：以下每一题的回答是勾选项之一时才追问" }));
    Object.keys(si).forEach(function (ref) {
      var refQ = earlier.filter(function (x) { return x.id === ref; })[0];
      var row = h("div", { class: "row cond", "data-file": file, "data-field": p + "." + ref },
        h("span", { text: "当「" + (refQ ? refQ.text || ref : ref + "（不是前面的问题）") + "」回答为" }));
      (refQ ? refQ.choices : []).forEach(function (c) {
        var on = si[ref].indexOf(c.id) >= 0;
        row.appendChild(h("label", { class: "check" }, h("input", { type: "checkbox", checked: on, onchange: function (e) {
          var l = si[ref].filter(function (x) { return x !== c.id; });
          if (e.target.checked) l.push(c.id);
          si[ref] = refQ.choices.map(function (x) { return x.id; }).filter(function (id) { return l.indexOf(id) >= 0; });
          touched(file, false);
        } }), " " + (c.label || c.id)));
      });
      row.appendChild(button("✕", function () { delete si[ref]; touched(file, true); }, "danger"));
      box.appendChild(row);
    });
    var free = earlier.filter(function (x) { return !(x.id in si); });
    if (free.length) {
      var sel = h("select", {}, h("option", { value: "", text: "＋ 添加条件：选择前面的问题…" }),
        free.map(function (x) { return h("option", { value: x.id, text: (x.text || x.id) }); }));
      sel.addEventListener("change", function () { if (sel.value) { si[sel.value] = []; touched(file, true); } });
      box.appendChild(sel);
    }
    return box;
  }

  function renameQuestion(q, from, to) {
    q.questions.forEach(function (x) {
      if (x.id === from) x.id = to;
      if (x.show_if && from in x.show_if && from !== to) { x.show_if[to] = x.show_if[from]; delete x.show_if[from]; }
    });
  }

  function renameChoice(q, qid, from, to) {
    q.questions.forEach(function (x) {
      if (x.show_if && x.show_if[qid]) x.show_if[qid] = x.show_if[qid].map(function (c) { return c === from ? to : c; });
    });
  }

  // allQuestions lists every question id of every questionnaire, for the recommendation
  // conditions: [{id, text, choices, classes}].
  function allQuestions() {
    var byID = {};
    CLASSES.forEach(function (c) {
      var q = state.data[QDIR + c + ".json"];
      if (!q || !q.questions) return;
      q.questions.forEach(function (qu) {
        var e = byID[qu.id] || (byID[qu.id] = { id: qu.id, text: qu.text, choices: [], classes: [] });
        e.classes.push(c);
        (qu.choices || []).forEach(function (ch) { if (!e.choices.some(function (x) { return x.id === ch.id; })) e.choices.push(ch); });
      });
    });
    return Object.keys(byID).map(function (k) { return byID[k]; });
  }

  function kbForm() {
    var kb = state.data[KB];
    if (!kb) return h("p", { class: "error", text: "knowledge/kb.json 无法解析，见上方问题列表。" });
    var items = kb.items || (kb.items = []);
    var box = h("div", { class: "kbform" },
      h("p", { class: "muted", text: "柜台为每位顾客推荐得分最高的两项：得分 = 基础分 + 满足条件的各规则权重。适用病种全不勾选 = 通用（至少两项通用）。理由中可用 {class}（病种）和 {level}（连续性）。" }));
    var list = h("div", { "data-file": KB, "data-field": "items" });
    items.forEach(function (it, i) { list.appendChild(itemCard(items, it, i)); });
    box.appendChild(list);
    box.appendChild(button("＋ 添加推荐", function () {
      var n = 1;
      while (items.some(function (x) { return x.id === "item" + n; })) n++;
      items.push({ id: "item" + n, kind: "service", title: "", title_en: "", base: 0, reason: "", reason_en: "" });
      touched(KB, true);
    }, "primary"));
    return box;
  }

  function checks(file, path, values, names, list, onchange) {
    var box = h("span", { class: "checks", "data-file": file, "data-field": path });
    values.forEach(function (v) {
      box.appendChild(h("label", { class: "check" }, h("input", { type: "checkbox", checked: list.indexOf(v) >= 0, onchange: function (e) {
        var l = list.filter(function (x) { return x !== v; });
        if (e.target.checked) l.push(v);
        onchange(values.filter(function (x) { return l.indexOf(x) >= 0; }));
      } }), " " + names[v]));
    });
    return box;
  }

  function itemCard(items, it, i) {
    var p = "items[" + i + "]";
    var cat = catalog();
    var names = {};
    cat.forEach(function (d) { names[d.code] = d.name; (d.alt_codes || []).forEach(function (a) { names[a] = d.name; }); });
    var card = h("div", { class: "card kbcard", "data-file": KB, "data-field": p },
      h("div", { class: "row head" },
        h("strong", { text: (i + 1) + "." }),
        field("编号", KB, p + ".id", it, "id", { cls: "id" }),
        h("label", { class: "field" }, h("span", { text: "类型" }),
          h("select", { "data-file": KB, "data-field": p + ".kind", onchange: function (e) { it.kind = e.target.value; touched(KB, false); } },
            h("option", { value: "service", text: "服务", selected: it.kind === "service" ? "selected" : null }),
            h("option", { value: "product", text: "商品", selected: it.kind === "product" ? "selected" : null }))),
        field("基础分", KB, p + ".base", it, "base", { type: "number", cls: "num" }),
        h("span", { class: "spacer" }),
        button("↑", function () { move(items, i, -1); touched(KB, true); }),
        button("↓", function () { move(items, i, 1); touched(KB, true); }),
        button("删除", function () { items.splice(i, 1); touched(KB, true); }, "danger")),
      h("div", { class: "row" },
        field("标题（中文）", KB, p + ".title", it, "title", { wide: true }),
        field("标题（英文）", KB, p + ".title_en", it, "title_en", { wide: true })),
      h("div", { class: "row" },
        field("推荐理由（中文）", KB, p + ".reason", it, "reason", { wide: true }),
        field("推荐理由（英文）", KB, p + ".reason_en", it, "reason_en", { wide: true })),
      h("div", { class: "row" }, h("span", { text: "适用病种：" }),
        checks(KB, p + ".classes", CLASSES, CLASS_NAMES, it.classes || [], function (l) { it.classes = l; touched(KB, false); })),
      h("div", { class: "row" },
        field("商品编码（逗号分隔，须在药品目录中）", KB, p + ".product_codes", it, "product_codes", { wide: true,
          set: function (v) { it.product_codes = v.split(/[,，\s]+/).filter(function (x) { return x; }); } }),
        h("span", { class: "muted", text: (it.product_codes || []).map(function (c) { return names[c] ? c + " " + names[c] : c + " ？"; }).join("；") })));
    card.querySelector('[data-field="' + p + '.product_codes"]').value = (it.product_codes || []).join(", ");
    var rules = h("div", { class: "rules", "data-file": KB, "data-field": p + ".rules" }, h("div", { class: "muted", text: "加分规则：条件全部满足时加权重；权重最高且写了理由的规则替换推荐理由" }));
    (it.rules || []).forEach(function (r, j) { rules.appendChild(ruleCard(it, r, p + ".rules[" + j + "]", j)); });
    rules.appendChild(button("＋ 规则", function () { (it.rules || (it.rules = [])).push({ weight: 10 }); touched(KB, true); }));
    card.appendChild(rules);
    return card;
  }

  function ruleCard(it, r, p, j) {
    var qs = allQuestions();
    var ans = r.answers || (r.answers = {});
    var box = h("div", { class: "rule", "data-file": KB, "data-field": p },
      h("div", { class: "row" },
        h("span", { text: "病种：" }), checks(KB, p + ".classes", CLASSES, CLASS_NAMES, r.classes || [], function (l) { r.classes = l; touched(KB, false); }),
        h("span", { text: "连续性：" }), checks(KB, p + ".levels", LEVELS, LEVEL_NAMES, r.levels || [], function (l) { r.levels = l; touched(KB, false); }),
        field("权重", KB, p + ".weight", r, "weight", { type: "number", cls: "num" }),
        h("span", { class: "spacer" }),
        button("删除规则", function () { it.rules.splice(j, 1); touched(KB, true); }, "danger")));
    Object.keys(ans).forEach(function (qid) {
      var qq = qs.filter(function (x) { return x.id === qid; })[0];
      var row = h("div", { class: "row cond", "data-file": KB, "data-field": p + ".answers." + qid },
        h("span", { text: "当「" + (qq ? qq.text : qid + "（没有这个问题）") + "」回答为" }));
      (qq ? qq.choices : []).forEach(function (c) {
        row.appendChild(h("label", { class: "check" }, h("input", { type: "checkbox", checked: ans[qid].indexOf(c.id) >= 0, onchange: function (e) {
          var l = ans[qid].filter(function (x) { return x !== c.id; });
          if (e.target.checked) l.push(c.id);
          ans[qid] = qq.choices.map(function (x) { return x.id; }).filter(function (id) { return l.indexOf(id) >= 0; });
          touched(KB, false);
        } }), " " + (c.label || c.id)));
      });
      row.appendChild(button("✕", function () { delete ans[qid]; touched(KB, true); }, "danger"));
      box.appendChild(row);
    });
    var free = qs.filter(function (x) { return !(x.id in ans); });
    var sel = h("select", {}, h("option", { value: "", text: "＋ 回答条件：选择问题…" }),
      free.map(function (x) { return h("option", { value: x.id, text: x.text + "（" + x.classes.map(function (c) { return CLASS_NAMES[c]; }).join("、") + "）" }); }));
    sel.addEventListener("change", function () { if (sel.value) { ans[sel.value] = []; touched(KB, true); } });
    box.appendChild(h("div", { class: "row" }, sel,
      field("替换理由（中文，可空）", KB, p + ".reason", r, "reason", { wide: true }),
      field("替换理由（英文）", KB, p + ".reason_en", r, "reason_en", { wide: true })));
    return box;
  }

  function pointsForm() {
    var pts = state.data[POINTS];
    if (!pts) return h("p", { class: "error", text: "rules/points.json 无法解析，见上方问题列表。" });
    var t = h("table", { class: "points" }, h("tr", {}, h("th", { text: "事件" }), h("th", { text: "编号" }), h("th", { class: "num", text: "积分" }), h("th")));
    Object.keys(pts).forEach(function (k) {
      if (k === "daily_cap") return; // the caps have their own rows below
      t.appendChild(h("tr", {}, h("td", { text: POINT_NAMES[k] || "自定义事件" }), h("td", { text: k }),
        h("td", {}, field("", POINTS, k, pts, k, { type: "number", cls: "num" })),
        h("td", {}, POINT_NAMES[k] ? null : button("✕", function () { delete pts[k]; touched(POINTS, true); }, "danger"))));
    });
    var name = h("input", { type: "text", placeholder: "新事件编号（小写字母、数字、_ -）" });
    return h("div", {}, t, h("div", { class: "row" }, name, button("＋ 添加事件", function () {
      if (name.value && !(name.value in pts)) { pts[name.value] = 1; touched(POINTS, true); }
    })), h("p", { class: "muted", text: "前三项为系统事件，不能删除；积分 0–1000。" }), capsForm(pts));
  }

  // The daily caps of link points (rules/points.json "daily_cap"): empty or 0 = no cap.
  function capsForm(pts) {
    var caps = pts.daily_cap || {};
    var t = h("table", { class: "points" }, h("tr", {}, h("th", { text: "每位药师每日上限" }), h("th", { text: "编号" }), h("th", { class: "num", text: "积分上限" })));
    ["link_opened", "revisit_booked"].forEach(function (k) {
      t.appendChild(h("tr", {}, h("td", { text: POINT_NAMES[k] }), h("td", { text: k }),
        h("td", {}, field("", POINTS, "daily_cap." + k, caps, k, { type: "number", cls: "num", set: function (v) {
          if (!pts.daily_cap) pts.daily_cap = caps;
          if (v > 0) caps[k] = v; else delete caps[k];
          if (Object.keys(caps).length === 0) delete pts.daily_cap;
        } }))));
    });
    return h("div", {}, t, h("p", { class: "muted", text: "顾客打开随访链接、预约复诊所得积分每人每天的上限（1–100000；留空为不设上限），防止刷分。" }));
  }

  function messagesForm() {
    var m = state.data[MESSAGES];
    if (!m) return h("p", { class: "error", text: "messages/followup.json 无法解析，见上方问题列表。" });
    return h("div", {},
      field("随访提醒正文", MESSAGES, "reminder", m, "reminder", { type: "textarea", rows: 5, wide: true }),
      h("p", { class: "muted", text: "可用：{{.ClassName}}（病种，如 高血压）、{{if .Accepted}}…{{join .Accepted \"、\"}}…{{end}}（顾客接受的推荐）。不能使用顾客姓名等个人信息。" }),
      h("div", { class: "row" },
        field("链接卡片标题（≤128 字节）", MESSAGES, "link_title", m, "link_title", { wide: true }),
        field("链接卡片说明（≤512 字节）", MESSAGES, "link_desc", m, "link_desc", { wide: true })));
  }

  // ---- preview: the questionnaire as the counter shows it ------------------------------

  function visible(q, answers) {
    var vis = {}, out = [];
    (q.questions || []).forEach(function (qu) {
      var ok = Object.keys(qu.show_if || {}).every(function (ref) {
        return vis[ref] && answers[ref] !== undefined && qu.show_if[ref].indexOf(answers[ref]) >= 0;
      });
      if (ok) { vis[qu.id] = true; out.push(qu); }
    });
    return out;
  }

  function renderPreview() {
    var pv = document.getElementById("preview");
    clear(pv);
    var cls = state.preview.cls;
    var q = state.data[QDIR + cls + ".json"] || state.data[QDIR + "general.json"];
    pv.appendChild(h("div", { class: "pv-head" }, h("span", { text: "柜台预览 · " + CLASS_NAMES[cls] }),
      button("重新开始", function () { state.preview.answers = {}; state.preview.order = []; renderPreview(); })));
    if (!q) return;
    var screen = h("div", { class: "counter", tabindex: "0", id: "counter-preview" });
    screen.appendChild(h("div", { class: "steps" }, ["✓ 1 进店识别", "2 需求挖掘", "3 方案推荐", "4 效果追踪"].map(function (s, i) {
      return h("span", { class: i === 1 ? "step active" : "step", text: s });
    })));
    screen.appendChild(h("div", { class: "c-title", text: q.title || "" }));
    var answers = state.preview.answers;
    var vis = visible(q, answers);
    var cur = vis.filter(function (x) { return answers[x.id] === undefined; })[0];
    vis.forEach(function (qu) {
      var label = (qu.mandatory ? "" : "＋") + (qu.text || "（无问题文字）");
      if (answers[qu.id] !== undefined) {
        var c = (qu.choices || []).filter(function (x) { return x.id === answers[qu.id]; })[0];
        var sep = /[？?]$/.test(label) ? "  " : "：  ";
        screen.appendChild(h("div", { class: "c-done", text: "✓ " + label + sep + "→ " + (c ? c.label : "") }));
      } else if (cur && qu.id === cur.id) {
        screen.appendChild(h("div", { class: "c-current", text: label }));
        var grid = h("div", { class: "c-options" });
        (qu.choices || []).slice(0, 9).forEach(function (c, j) {
          grid.appendChild(h("button", { type: "button", class: "c-option", "data-key": String(j + 1), onclick: function () { answer(j + 1); }, text: (j + 1) + "  " + (c.label || "") }));
        });
        screen.appendChild(grid);
      } else {
        screen.appendChild(h("div", { class: "c-later", text: "   " + label }));
      }
    });
    var missing = (q.questions || []).filter(function (x) { return x.mandatory && answers[x.id] === undefined; });
    if (!cur) screen.appendChild(h("div", { class: "c-msg", text: "问题已答完，按 Enter 进入方案推荐" }));
    else if (missing.length === 0) screen.appendChild(h("div", { class: "c-msg", text: "＋ 为个性化追问，可按 Enter 跳过" }));
    screen.appendChild(h("div", { class: "keys" }, h("b", { text: "1–9" }), " 选择答案  ", h("b", { text: "Backspace" }), " 撤销上一答案"));
    screen.addEventListener("keydown", function (e) {
      if (e.key >= "1" && e.key <= "9") { answer(Number(e.key)); e.preventDefault(); }
      if (e.key === "Backspace") { undo(); e.preventDefault(); }
    });
    pv.appendChild(screen);

    function answer(n) {
      var c = cur && cur.choices[n - 1];
      if (!c) return;
      answers[cur.id] = c.id;
      state.preview.order.push(cur.id);
      renderPreview();
      document.getElementById("counter-preview").focus();
    }
    function undo() {
      var last = state.preview.order.pop();
      if (last === undefined) return;
      delete answers[last];
      var keep = {};
      visible(q, answers).forEach(function (x) { if (answers[x.id] !== undefined) keep[x.id] = answers[x.id]; });
      state.preview.answers = keep;
      renderPreview();
      document.getElementById("counter-preview").focus();
    }
  }

  // ---- what changed, and publishing ---------------------------------------------------

  function showDiff() {
    var box = document.getElementById("draft-diff");
    clear(box);
    var d = state.diff;
    var base = state.diffBase === undefined ? state.base.version : state.diffBase;
    if (!d || !d.files || d.files.length === 0) { box.appendChild(h("p", { class: "muted", id: "diff-none", text: "与最新版本 v" + base + " 相比没有改动。" })); return; }
    box.appendChild(h("p", { class: "muted", text: "发布后与最新版本 v" + base + " 相比：" }));
    box.appendChild(diffView(d));
  }

  // diffView renders a content diff (the JSON of content.Diff) in the editor's words.
  var KIND_NAMES = { drug: "药品", questionnaire: "问卷", question: "问题", "knowledge base": "推荐库", recommendation: "推荐", rule: "积分规则", message: "随访消息", file: "文件" };
  var OP_NAMES = { added: "新增", removed: "删除", changed: "修改", reordered: "调整顺序" };
  var FILE_NAMES = { "catalog/drugs.json": "药品目录", "knowledge/kb.json": "推荐方案", "rules/points.json": "积分规则", "messages/followup.json": "随访消息" };
  function fileName(f) {
    if (FILE_NAMES[f]) return FILE_NAMES[f];
    if (f.indexOf(QDIR) === 0) return "问卷 · " + (CLASS_NAMES[f.slice(QDIR.length, -5)] || f);
    return f;
  }
  function diffView(d) {
    var box = h("div", { class: "diff" });
    d.files.forEach(function (f) {
      var ul = h("ul", {});
      (f.changes || []).forEach(function (c) {
        var what = (KIND_NAMES[c.kind] || c.kind) + (c.key ? " " + c.key : "") + (c.label && c.label !== c.key ? "（" + c.label + "）" : "");
        var line = [h("span", { class: "op op-" + c.op, text: OP_NAMES[c.op] || c.op }), " ", what];
        if (c.field) line.push(" · " + c.field);
        if (c.op === "changed" || c.op === "reordered") line.push("：", h("del", { text: c.old || "" }), " → ", h("ins", { text: c.new || "" }));
        else if (c.op === "added" && c.field) line.push("：", h("ins", { text: c.new || "" }));
        ul.appendChild(h("li", { class: "change" }, line));
      });
      box.appendChild(h("div", { class: "diff-file", "data-file": f.file }, h("h3", {}, fileName(f.file) + " ", h("span", { class: "muted", text: f.file + " · " + (OP_NAMES[f.op] || f.op) })), ul));
    });
    return box;
  }

  function publish(all) {
    var note = document.getElementById("publish-note").value;
    var author = document.getElementById("publish-author").value;
    var stores = document.getElementById("publish-stores").value.split(/[,，\s]+/).filter(function (x) { return x; });
    if (!all && stores.length === 0) { setStatus("请填写试点门店，或选择发布到全部门店", "error"); return; }
    if (all && !confirm("发布到全部门店？各门店柜台将在下次同步后、两次服务之间切换到新版本。")) return;
    setStatus("发布中…", "");
    api("POST", "/content/publish", { files: draftFiles(), complete: true, note: note, author: author, stores: all ? [] : stores, all: all }).then(function (res) {
      if (res.httpStatus !== 200) {
        state.problems = res.problems || [];
        showProblems();
        setStatus("发布失败：" + (res.error || res.httpStatus), "error");
        return;
      }
      try { localStorage.removeItem(STORAGE); } catch (e) { /* ignore */ }
      var n = res.version.version;
      setStatus("已发布为 v" + n + (all ? "，已分配给全部门店" : "，已分配给 " + stores.join("、")), "ok");
      location.href = "/content?published=" + n;
    });
  }

  // ---- start --------------------------------------------------------------------------

  function start() {
    var url = "/content/pack" + (fromVersion !== "" ? "?version=" + encodeURIComponent(fromVersion) : "");
    api("GET", url).then(function (doc) {
      if (doc.httpStatus !== 200) { setStatus("无法读取内容版本：" + (doc.error || doc.httpStatus), "error"); return; }
      load(doc, fromVersion === "");
      document.getElementById("draft-base").textContent = "草稿基于 v" + doc.version;
      render();
      validate();
    });
    document.getElementById("publish").addEventListener("click", function () { publish(document.getElementById("publish-all").checked); });
    document.getElementById("discard").addEventListener("click", function () {
      if (!confirm("放弃草稿中的全部修改？")) return;
      try { localStorage.removeItem(STORAGE); } catch (e) { /* ignore */ }
      location.reload();
    });
  }
  start();
})();
