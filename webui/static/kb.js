// Progressive enhancement only: every page works without this file.
// No inline scripts anywhere (the Content-Security-Policy forbids them); no innerHTML with data.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  function $(selector, root) { return (root || document).querySelector(selector); }
  function $$(selector, root) { return Array.prototype.slice.call((root || document).querySelectorAll(selector)); }
  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) node.textContent = text;
    return node;
  }
  var store = {
    get: function (key, fallback) {
      try { var v = window.localStorage.getItem(key); return v === null ? fallback : JSON.parse(v); }
      catch (e) { return fallback; }
    },
    set: function (key, value) {
      try { window.localStorage.setItem(key, JSON.stringify(value)); return true; }
      catch (e) { return false; }
    }
  };

  // ---- "/" focuses the search box ---------------------------------------------------------------
  document.addEventListener("keydown", function (event) {
    if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) return;
    var active = document.activeElement;
    var tag = (active && active.tagName) || "";
    if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || (active && active.isContentEditable)) return;
    var box = document.getElementById("kb_q");
    if (box) { event.preventDefault(); box.focus(); box.select(); }
  });

  // ---- suggestions in the search box (from /api/suggest) ----------------------------------------
  var box = document.getElementById("kb_q");
  var list = document.getElementById("kb_suggestions");
  if (box && list && window.fetch) {
    var timer = null, lastAsked = "";
    box.addEventListener("input", function () {
      window.clearTimeout(timer);
      var q = box.value.trim();
      if (q.length < 2 || q === lastAsked) return;
      timer = window.setTimeout(function () {
        lastAsked = q;
        fetch("/api/suggest?q=" + encodeURIComponent(q), { headers: { Accept: "application/json" } })
          .then(function (r) { return r.ok ? r.json() : null; })
          .then(function (data) {
            if (!data || box.value.trim() !== q) return;
            list.textContent = "";
            data[1].forEach(function (text, i) {
              var option = el("option", { value: text });
              if (data[2][i]) option.label = data[2][i];
              list.appendChild(option);
            });
          })
          .catch(function () {});
      }, 150);
    });
  }

  // ---- the interface's language: the page carries its translations of these messages -----------
  var messages = {};
  try { messages = JSON.parse(document.documentElement.getAttribute("data-messages") || "{}"); } catch (e) { messages = {}; }
  function t(text, values) {
    var out = messages[text] || text;
    Object.keys(values || {}).forEach(function (k) { out = out.split("{" + k + "}").join(String(values[k])); });
    return out;
  }

  // ---- search page: filters start folded on small screens ---------------------------------------
  var panel = $("details.facet-panel");
  if (panel && window.matchMedia && window.matchMedia("(max-width: 760px)").matches) {
    var anySelected = $(".facet-value.selected", panel);
    if (!anySelected) panel.open = false;
  }

  // ---- copying ----------------------------------------------------------------------------------
  function copyText(text, source, status) {
    function done(ok) {
      status.textContent = ok ? t("Copied") : t("Press Ctrl+C to copy");
      status.classList.toggle("ok", ok);
      window.setTimeout(function () { if (status.textContent === t("Copied")) status.textContent = ""; }, 4000);
    }
    function fallback() {
      var ok = false;
      try {
        if (source && source.select) { source.focus(); source.select(); }
        else {
          var range = document.createRange();
          range.selectNodeContents(source);
          var sel = window.getSelection(); sel.removeAllRanges(); sel.addRange(range);
        }
        ok = document.execCommand("copy");
      } catch (e) { ok = false; }
      done(ok);
    }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(function () { done(true); }, fallback);
    } else {
      fallback();
    }
  }

  // Buttons on the all-formats cite page.
  $$("button[data-copy]").forEach(function (button) {
    var source = document.getElementById(button.getAttribute("data-copy"));
    var status = $(".copy-status", button.parentNode);
    if (!source || !status) return;
    button.hidden = false;
    button.addEventListener("click", function () { copyText(source.textContent, source, status); });
  });

  // ---- "Cite" on documents and passages: formats loaded from /api/cite when opened --------------
  // The text and Markdown formats are written in a citation style, chosen in a second menu.
  function citeUrl(details, style) {
    var params = [];
    var anchor = details.getAttribute("data-anchor");
    if (anchor) params.push("anchor=" + encodeURIComponent(anchor));
    if (style) params.push("style=" + encodeURIComponent(style));
    // The style's own words in the page's language, as on the cite page.
    var lang = document.documentElement.getAttribute("lang") || "en";
    if (lang !== "en") params.push("lang=" + encodeURIComponent(lang));
    return details.getAttribute("data-cite") + (params.length ? "?" + params.join("&") : "");
  }

  function loadCite(details, style) {
    return fetch(citeUrl(details, style), { headers: { Accept: "application/json" } })
      .then(function (r) {
        // A remembered style the server no longer has: the default style instead.
        if (r.status === 400 && style) return loadCite(details, "");
        if (!r.ok) throw new Error(r.status);
        return r.json();
      });
  }

  function buildCite(details, data) {
    var live = $(".cite-live", details);
    var uid = "cite_" + Math.random().toString(36).slice(2, 9);
    var preferred = store.get("kb:cite-format", "text");
    var formats = data.formats;
    var current = formats.filter(function (f) { return f.format === preferred; })[0] || formats[0];

    var row = el("div", { "class": "cite-row" });
    var label = el("label", { "for": uid + "_f" }, t("Format"));
    var select = el("select", { id: uid + "_f" });
    formats.forEach(function (f) {
      var option = el("option", { value: f.format }, t(f.label));
      if (f === current) option.selected = true;
      select.appendChild(option);
    });
    var styleLabel = el("label", { "for": uid + "_s" }, t("Style"));
    var styleSelect = el("select", { id: uid + "_s" });
    (data.styles || []).forEach(function (s) {
      var option = el("option", { value: s.style }, s.label);
      if (s.style === data.style) option.selected = true;
      styleSelect.appendChild(option);
    });
    var copy = el("button", { type: "button", "class": "copy" }, t("Copy"));
    var download = el("a", { href: current.download, download: current.file_name, "class": "download" }, t("Download"));
    var status = el("span", { "class": "copy-status", role: "status" });
    [label, select, styleLabel, styleSelect, copy, download, status].forEach(function (node) { row.appendChild(node); });

    var area = el("textarea", { id: uid + "_t", readonly: "", rows: "4", spellcheck: "false", "aria-label": t("Citation") });
    function fit() {
      // CSSOM, not a style attribute: allowed by the Content-Security-Policy.
      area.style.height = "auto";
      area.style.height = (area.scrollHeight + 4) + "px";
    }
    function show(f) {
      current = f;
      area.value = f.text;
      area.rows = Math.min(12, Math.max(3, f.text.split("\n").length + 1));
      window.requestAnimationFrame(fit);
      download.href = f.download;
      download.setAttribute("download", f.file_name);
      // The style only writes the text and Markdown formats.
      styleLabel.hidden = styleSelect.hidden = !f.styled;
      status.textContent = "";
    }
    select.addEventListener("change", function () {
      var f = formats.filter(function (x) { return x.format === select.value; })[0];
      if (f) { show(f); store.set("kb:cite-format", f.format); }
    });
    styleSelect.addEventListener("change", function () {
      var style = styleSelect.value;
      store.set("kb:cite-style", style);
      loadCite(details, style).then(function (fresh) {
        buildCite(details, fresh);
        var again = $(".cite-live select[id$='_s']", details);
        if (again) again.focus();
      }).catch(function () { status.textContent = t("Could not load the style."); });
    });
    copy.addEventListener("click", function () { copyText(area.value, area, status); });
    show(current);
    live.textContent = "";
    live.appendChild(row);
    live.appendChild(area);
    var fallback = $(".cite-fallback", details);
    if (fallback) fallback.classList.add("loaded");
  }

  $$("details.cite").forEach(function (details) {
    details.addEventListener("toggle", function () {
      if (!details.open || details.getAttribute("data-loaded") || !window.fetch) return;
      details.setAttribute("data-loaded", "loading");
      loadCite(details, store.get("kb:cite-style", ""))
        .then(function (data) { buildCite(details, data); details.setAttribute("data-loaded", "yes"); })
        .catch(function () { details.removeAttribute("data-loaded"); });
    });
  });

  // ---- document page: deep links land on, and highlight, their passage --------------------------
  if (document.body.classList.contains("page-document")) {
    var version = new URLSearchParams(window.location.search).get("v");
    var landOn = function (first) {
      var id = "";
      try { id = decodeURIComponent(window.location.hash.slice(1)); } catch (e) { id = window.location.hash.slice(1); }
      $$(".passage.highlighted").forEach(function (p) { p.classList.remove("highlighted"); });
      $("#kb_missing_anchor").hidden = true;
      if (!id) return;
      var target = document.getElementById(id);
      if (target && target.classList.contains("passage")) {
        target.classList.add("highlighted");
        target.focus({ preventScroll: true });
        if (first) target.scrollIntoView({ block: "start" });
        return;
      }
      if (target) return; // an ordinary element of the page, e.g. the contents
      // The anchor is gone. The passage the permalink cited may live on under another anchor.
      var moved = version ? $('.passage[data-hash="' + version.replace(/[^0-9a-f]/g, "") + '"]') : null;
      var notice = $("#kb_missing_anchor");
      if (moved) {
        notice.textContent = t("The passage this link points to has moved within the document; it is highlighted below.");
        notice.hidden = false;
        moved.classList.add("highlighted");
        moved.focus({ preventScroll: true });
        moved.scrollIntoView({ block: "start" });
      } else {
        notice.hidden = false;
        notice.scrollIntoView({ block: "center" });
      }
    };
    landOn(true);
    window.addEventListener("hashchange", function () { landOn(false); });
  }

  // ---- reading lists: per-reader progress, kept in this browser only -----------------------------
  function listKey(slug) { return "kb:list:" + slug; }

  var readingList = $(".reading-list[data-list]");
  if (readingList) {
    var slug = readingList.getAttribute("data-list");
    var boxes = $$("input.done", readingList);
    var progress = $("progress", readingList);
    var text = $(".progress-text", readingList);
    var update = function () {
      var done = boxes.filter(function (b) { return b.checked; });
      progress.value = done.length;
      progress.textContent = t("{done} of {total}", { done: done.length, total: boxes.length });
      text.textContent = done.length === boxes.length && boxes.length
        ? t("All {total} done. Well read!", { total: boxes.length })
        : t("{done} of {total} done", { done: done.length, total: boxes.length });
      boxes.forEach(function (b) { b.closest(".reading-item").classList.toggle("is-done", b.checked); });
    };
    var save = function () {
      store.set(listKey(slug), boxes.filter(function (b) { return b.checked; }).map(function (b) { return b.getAttribute("data-ref"); }));
      update();
    };
    var saved = store.get(listKey(slug), []);
    boxes.forEach(function (b) {
      b.checked = saved.indexOf(b.getAttribute("data-ref")) >= 0;
      b.closest(".done-box").hidden = false;
      b.addEventListener("change", save);
    });
    $(".progress-box", readingList).hidden = false;
    $("button.reset", readingList).addEventListener("click", function () {
      boxes.forEach(function (b) { b.checked = false; });
      save();
    });
    update();
  }

  $$(".list-card[data-list]").forEach(function (card) {
    var saved = store.get(listKey(card.getAttribute("data-list")), []);
    var total = parseInt(card.getAttribute("data-items"), 10) || 0;
    var span = $(".list-progress", card);
    if (span && saved.length) {
      span.textContent = " · " + t("{done} of {total} done", { done: Math.min(saved.length, total), total: total });
      span.hidden = false;
    }
  });
})();
