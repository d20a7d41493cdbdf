/* Working without signal, on the page. Optional: without JavaScript every form posts as usual.
   1. Registers the service worker (/sw.js), which keeps opened pages readable offline.
   2. The outbox (core in static/outbox.js): a form marked data-outbox (the submission form) is kept in
      IndexedDB on this phone before it is sent. Sent at once when there is signal; otherwise it waits
      ("waiting to send") and goes by itself when the signal returns: from the worker through Background
      Sync, or from any open page of civic (page load, the "online" event, every 30 s), always with its
      client token, so the server creates the item exactly once. The resident then sees the code.
   Texts come from the page (data-* on #outbox), in the page's language. */
(function () {
  "use strict";
  if ("serviceWorker" in navigator) {
    window.addEventListener("load", function () {
      navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(function () {});
    });
  }
  if (!window.indexedDB || !window.fetch || !window.FormData || !window.Promise) { return; }

  var box = self.CivicOutbox; // static/outbox.js
  if (!box) { return; }
  var all = box.all, get = box.get, newToken = box.newToken;
  var RETRY_MS = 30000;
  var KEEP_MS = 30 * 24 * 3600 * 1000;
  var channel = window.BroadcastChannel ? new BroadcastChannel("civic-outbox") : null;
  var panel, list, lang, timer = null;
  var busy = {}; // tokens this tab is sending right now

  // Changes this tab makes are drawn here; the other tabs and the worker hear them on the channel.
  function put(entry) { return box.put(entry).then(render); }
  function del(token) { return box.del(token).then(render); }

  // Where the browser can (Background Sync), the worker sends what waits when the signal returns, even
  // with every page of civic closed.
  function syncLater() {
    if (!("serviceWorker" in navigator)) { return Promise.resolve(false); }
    return navigator.serviceWorker.getRegistration("/").then(function (reg) {
      return reg && reg.active && reg.sync ? reg.sync.register("civic-outbox").then(function () { return true; }) : false;
    }).catch(function () { return false; });
  }

  // `wait`: after whoever is sending now, rather than leaving it to them.
  function flush(wait) {
    return box.flush(sending, wait === true).catch(function () {}).then(render).then(schedule);
  }

  function schedule() {
    return all().then(function (entries) {
      var waiting = entries.some(function (e) { return e.state === "waiting"; });
      if (waiting && timer === null) { timer = setInterval(flush, RETRY_MS); syncLater(); }
      if (!waiting && timer !== null) { clearInterval(timer); timer = null; }
    }).catch(function () {});
  }

  // -- the form -----------------------------------------------------------------------------------------
  function entryOf(form) {
    var entry = { token: "", action: form.getAttribute("action"), fields: [], files: [], state: "waiting",
                  savedAt: Date.now(), title: "" };
    new FormData(form).forEach(function (value, name) {
      if (name === "csrf_token") { return; }
      if (name === "client_token") { entry.token = value; return; }
      if (typeof value === "string") {
        entry.fields.push([name, value]);
        if (name === "title") { entry.title = value; }
      } else if (value && value.size) {
        entry.files.push({ field: name, name: value.name, type: value.type, blob: value });
      }
    });
    entry.token = entry.token || newToken();
    entry.digest = digest(entry);
    return entry;
  }

  // What the form said, as a short hash kept after sending (the words themselves are not kept): the same
  // form sent again after Back or a reload is recognised and sent with the token it had the first time.
  function digest(entry) {
    var text = entry.action + "\n" + entry.fields.filter(function (f) { return f[0] !== "csrf_token"; })
      .map(function (f) { return f[0] + "=" + f[1]; }).join("\n");
    var h = 0x811c9dc5;
    for (var i = 0; i < text.length; i++) { h ^= text.charCodeAt(i); h = Math.imul(h, 0x01000193) >>> 0; }
    return h.toString(16) + ":" + text.length;
  }

  var SAME_MS = 10 * 60 * 1000; // as the server's rule: the same text within 10 minutes is the same item

  // The token of this very form if this phone already sent (or keeps) it in the last minutes, else its own.
  function sameAsBefore(entry) {
    return all().then(function (entries) {
      var earlier = entries.filter(function (e) {
        return e.digest === entry.digest && e.token !== entry.token && e.state !== "refused" &&
          Date.now() - e.savedAt < SAME_MS;
      }).sort(function (a, b) { return b.savedAt - a.savedAt; })[0];
      if (earlier) { entry.token = earlier.token; entry.savedAt = earlier.savedAt; }
      return entry;
    }).catch(function () { return entry; });
  }

  function tokenInput(form) { return form.querySelector("input[name=client_token]"); }

  function say(form, text) {
    var note = form.querySelector(".outbox-note");
    if (!note) {
      note = document.createElement("p");
      note.className = "flash outbox-note";
      note.setAttribute("role", "status");
      form.insertBefore(note, form.firstChild);
    }
    note.textContent = text;
    note.scrollIntoView({ block: "center" });
  }

  function onSubmit(event) {
    var form = event.target;
    // photo-shrink.js listens on document and submits again once the photos are small.
    if (!form || !form.hasAttribute || !form.hasAttribute("data-outbox") || event.defaultPrevented) { return; }
    event.preventDefault();
    if (!form.checkValidity()) {
      if (navigator.onLine === false) { say(form, panel.getAttribute("data-incomplete")); return; }
      form.submit(); // the server lists what is missing, in the page
      return;
    }
    var entry = entryOf(form);
    var button = form.querySelector("button[type=submit]");
    if (button) { button.disabled = true; }
    sameAsBefore(entry).then(function () {
      tokenInput(form).value = entry.token; // the plain way, if it comes to that, sends the same token
      busy[entry.token] = true;
      return put(entry);
    }).then(function () {
      return box.locked(true, function () { return sending(entry, function () { return box.send(entry); }); });
    }).then(function (done) {
      if (done && done.state === "sent") {
        done.seen = true; // the page it opens shows the code
        return put(done).then(function () { location.assign(done.url); });
      }
      if (done && done.state === "refused") { // show the server's errors in the form, the plain way
        return del(entry.token).then(function () { form.submit(); });
      }
      tokenInput(form).value = newToken(); // the next thing sent from this page is a new item
      form.reset();
      if (button) { button.disabled = false; }
      return syncLater().then(function (background) {
        say(form, panel.getAttribute(background ? "data-offline" : "data-offline-open"));
      }).then(render).then(schedule);
    }).catch(function () { // no IndexedDB here (private window, full disk): send it the plain way
      form.submit();
    });
  }

  function prepareForm(form) {
    var input = tokenInput(form);
    if (!input) { return; }
    var fix = (location.search.match(/[?&]outbox=([A-Za-z0-9_-]+)/) || [])[1];
    if (fix) {
      get(fix).then(function (entry) { if (entry && entry.state === "refused") { refill(form, entry); } });
      return;
    }
    // A saved copy of the form, or a token this phone already used: a new item needs a new token.
    get(input.value).then(function (used) {
      if (used || document.querySelector(".saved-copy")) { input.value = newToken(); }
    }).catch(function () {});
  }

  function refill(form, entry) {
    tokenInput(form).value = entry.token;
    entry.fields.forEach(function (f) {
      var els = form.querySelectorAll("[name='" + f[0] + "']");
      Array.prototype.forEach.call(els, function (el) {
        if (el.type === "radio" || el.type === "checkbox") { el.checked = el.value === f[1]; } else { el.value = f[1]; }
      });
    });
    if (entry.files.length && typeof DataTransfer === "function") {
      var byField = {};
      entry.files.forEach(function (f) {
        (byField[f.field] = byField[f.field] || new DataTransfer()).items.add(new File([f.blob], f.name, { type: f.type }));
      });
      Object.keys(byField).forEach(function (name) {
        var input = form.querySelector("input[type=file][name='" + name + "']");
        if (input) { input.files = byField[name].files; }
      });
    }
    say(form, entry.reason || "");
  }

  // -- what this phone is sending -------------------------------------------------------------------------
  function when(ms) {
    return new Date(ms).toLocaleString(lang === "vi" ? "vi-VN" : "en-GB", { dateStyle: "short", timeStyle: "short", timeZone: "Asia/Ho_Chi_Minh" });
  }
  function fill(template, name, value) { return (template || "").replace("%(" + name + ")s", value); }

  function sending(entry, fn) {
    busy[entry.token] = true;
    render();
    return fn().then(function (result) { delete busy[entry.token]; return result; },
      function (err) { delete busy[entry.token]; throw err; });
  }

  function render() {
    if (!panel) { return Promise.resolve(); }
    return all().then(function (entries) {
      var shown = entries.filter(function (e) { return !e.seen; });
      list.textContent = "";
      shown.sort(function (a, b) { return a.savedAt - b.savedAt; }).forEach(function (e) {
        var li = document.createElement("li");
        li.setAttribute("data-token", e.token);
        var shownState = e.state === "waiting" && busy[e.token] ? "sending" : e.state;
        li.setAttribute("data-state", shownState);
        var title = document.createElement("strong");
        title.textContent = e.title;
        var state = document.createElement("span");
        state.className = "outbox-state";
        li.appendChild(title);
        li.appendChild(document.createTextNode(" · " + fill(panel.getAttribute("data-saved-at"), "date", when(e.savedAt)) + " · "));
        li.appendChild(state);
        if (shownState === "sending") {
          state.textContent = panel.getAttribute("data-sending");
        } else if (e.state === "waiting") {
          state.textContent = panel.getAttribute("data-waiting");
        } else if (e.state === "sent") {
          var link = document.createElement("a");
          link.href = e.url;
          link.className = "code";
          link.textContent = fill(panel.getAttribute("data-sent"), "code", e.code);
          state.appendChild(link);
        } else {
          state.textContent = fill(panel.getAttribute("data-refused"), "reason", e.reason || "");
          var again = document.createElement("a");
          again.href = e.action + "?outbox=" + encodeURIComponent(e.token);
          again.textContent = panel.getAttribute("data-fix");
          li.appendChild(document.createTextNode(" "));
          li.appendChild(again);
        }
        if (e.state !== "waiting") {
          var hide = document.createElement("button");
          hide.type = "button";
          hide.className = "link";
          hide.textContent = panel.getAttribute("data-dismiss");
          hide.addEventListener("click", function () {
            e.seen = true; e.fields = []; e.files = [];
            put(e);
          });
          li.appendChild(document.createTextNode(" "));
          li.appendChild(hide);
        }
        list.appendChild(li);
      });
      panel.hidden = shown.length === 0;
    }).catch(function () {});
  }

  function prune() {
    return all().then(function (entries) {
      var old = entries.filter(function (e) { return e.state !== "waiting" && e.seen && Date.now() - e.savedAt > KEEP_MS; });
      return Promise.all(old.map(function (e) { return box.del(e.token); }));
    }).catch(function () {});
  }

  // The offline page lists the pages this phone kept.
  function listSavedPages() {
    var section = document.getElementById("saved-pages");
    if (!section || !window.caches) { return; }
    caches.open("civic-pages").then(function (cache) {
      return cache.keys().then(function (keys) {
        return Promise.all(keys.reverse().map(function (req) {
          return cache.match(req).then(function (r) { return r.text(); }).then(function (html) {
            return [req.url, ((html.match(/<title>([^<]*)<\/title>/) || [])[1] || req.url)];
          });
        }));
      });
    }).then(function (pages) {
      var ul = section.querySelector("ul");
      pages.forEach(function (p) {
        var li = document.createElement("li"), a = document.createElement("a");
        a.href = p[0];
        a.innerHTML = p[1]; // the page's own escaped <title>
        li.appendChild(a);
        ul.appendChild(li);
      });
      section.hidden = pages.length === 0;
    }).catch(function () {});
  }

  function start() {
    // After a log-in or log-out, the pages kept for the last person on this phone are forgotten.
    if (document.body.hasAttribute("data-forget-saved") && window.caches) { caches.delete("civic-pages"); }
    panel = document.getElementById("outbox");
    list = panel && panel.querySelector("ul");
    lang = document.documentElement.lang || "vi";
    Array.prototype.forEach.call(document.querySelectorAll("form[data-outbox]"), prepareForm);
    listSavedPages();
    prune().then(render).then(function () { if (navigator.onLine !== false) { return flush(); } return schedule(); });
  }

  // Back to a form this page sent (kept whole by the browser): its Send button works again; sending it
  // again gives the same item (sameAsBefore).
  window.addEventListener("pageshow", function (event) {
    if (!event.persisted) { return; }
    Array.prototype.forEach.call(document.querySelectorAll("form[data-outbox] button[type=submit]"),
      function (button) { button.disabled = false; });
  });
  window.addEventListener("submit", onSubmit);
  // The signal is back: send what waits once whoever holds the outbox lets go. A send that the lost signal
  // is failing in another tab holds it now, and would otherwise leave the entry to the next retry, 30 s on.
  window.addEventListener("online", function () { flush(true); });
  if (channel) { channel.onmessage = render; }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
