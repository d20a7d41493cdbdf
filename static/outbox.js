/* The outbox's core, shared by the page (static/offline.js) and the service worker (static/sw.js, which
   sends what waits when the signal returns even with every page closed, through Background Sync).
   Entries live in IndexedDB ("civic" / "outbox", keyed by the form's client token):
     { token, action, fields: [[name, value]], files: [{field, name, type, blob}], title, savedAt,
       state: "waiting" | "sent" | "refused", code, url, reason, seen }
   Sending fetches a fresh CSRF token from the form's page, then posts the entry with its client token, so
   the server creates the item exactly once however often, and from wherever, it is sent. One sender at a
   time (Web Locks); changes are announced on the BroadcastChannel "civic-outbox". No DOM here. */
(function (scope) {
  "use strict";
  var STORE = "outbox";
  var TIMEOUT_MS = 120000; // photos over a weak 3G link take a while
  var channel = scope.BroadcastChannel ? new BroadcastChannel("civic-outbox") : null;

  var opened = null;
  function db() {
    opened = opened || new Promise(function (resolve, reject) {
      var req = indexedDB.open("civic", 1);
      req.onupgradeneeded = function () { req.result.createObjectStore(STORE, { keyPath: "token" }); };
      req.onsuccess = function () { resolve(req.result); };
      req.onerror = function () { reject(req.error); };
    });
    return opened;
  }
  function tx(mode, fn) {
    return db().then(function (d) {
      return new Promise(function (resolve, reject) {
        var t = d.transaction(STORE, mode), req = fn(t.objectStore(STORE)), result;
        if (req) { req.onsuccess = function () { result = req.result; }; }
        t.oncomplete = function () { resolve(result); };
        t.onerror = t.onabort = function () { reject(t.error); };
      });
    });
  }
  function announce(value) { if (channel) { channel.postMessage("changed"); } return value; }
  function all() { return tx("readonly", function (s) { return s.getAll(); }); }
  function get(token) { return tx("readonly", function (s) { return s.get(token); }); }
  function put(entry) { return tx("readwrite", function (s) { return s.put(entry); }).then(announce); }
  function del(token) { return tx("readwrite", function (s) { return s.delete(token); }).then(announce); }

  function newToken() {
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return (b + 256).toString(16).slice(1); }).join("");
  }

  // One sender at a time; without Web Locks the client token still keeps it to one item.
  function locked(wait, fn) {
    var locks = scope.navigator && scope.navigator.locks;
    if (!locks || !locks.request) { return Promise.resolve(fn()); }
    return locks.request("civic-outbox", wait ? {} : { ifAvailable: true },
      function (lock) { return lock === null ? null : fn(); });
  }

  function timed(url, options) {
    if (scope.AbortController) {
      var ctl = new AbortController();
      options.signal = ctl.signal;
      setTimeout(function () { ctl.abort(); }, TIMEOUT_MS);
    }
    options.credentials = "same-origin";
    options.cache = "no-store";
    return fetch(url, options);
  }

  // Text of an HTML fragment: tags dropped, entities decoded, spaces collapsed.
  function plain(html) {
    return html.replace(/<[^>]+>/g, " ").replace(/&#(\d+);/g, function (_, n) { return String.fromCharCode(+n); })
      .replace(/&quot;/g, "\"").replace(/&#39;/g, "'").replace(/&lt;/g, "<").replace(/&gt;/g, ">")
      .replace(/&amp;/g, "&").replace(/\s+/g, " ").trim();
  }

  // What the server said was wrong: the page's error summary, else its error message or its heading.
  function reasonOf(html) {
    var found = html.match(/<(div|p)\b[^>]*\bid="form-errors"[^>]*>([\s\S]*?)<\/\1>/) ||
      html.match(/<(p)\b[^>]*class="flash flash-error"[^>]*>([\s\S]*?)<\/p>/) ||
      html.match(/<(h1)\b[^>]*>([\s\S]*?)<\/h1>/);
    return found ? plain(found[2]) : "";
  }

  /* Resolves to the entry marked "sent" (with its code) or "refused" (with the server's reason), or to null
     when it should wait: no signal, a timeout, a server error. */
  function send(entry) {
    return timed(entry.action, {}).then(function (r) {
      if (!r.ok) { throw new Error("form " + r.status); }
      return r.text();
    }).then(function (html) {
      var csrf = (html.match(/name="csrf_token" value="([^"]+)"/) || [])[1] || "";
      var body = new FormData();
      body.append("csrf_token", csrf);
      body.append("client_token", entry.token);
      entry.fields.forEach(function (f) { body.append(f[0], f[1]); });
      entry.files.forEach(function (f) { body.append(f.field, f.blob, f.name); });
      return timed(entry.action, { method: "POST", body: body });
    }).then(function (r) {
      var code = (r.url.match(/\/(?:submitted|items)\/([A-Za-z0-9-]+)$/) || [])[1];
      if (r.ok && code) {
        entry.state = "sent"; entry.code = code; entry.url = r.url; entry.sentAt = Date.now();
        entry.fields = []; entry.files = []; // nothing personal stays on the phone once it is sent
        return entry;
      }
      if (r.status >= 500 || r.status === 429 || r.status === 408) { return null; }
      return r.text().then(function (html) {
        entry.state = "refused";
        entry.reason = reasonOf(html) || String(r.status);
        return entry;
      });
    }).catch(function () { return null; });
  }

  /* Send what waits, oldest first, unless another tab or the worker is already at it (with `wait`, after
     them). `around(entry, job)` lets the page show "sending…" meanwhile. Resolves to the number of entries
     still waiting, or -1 when someone else holds the lock. */
  function flush(around, wait) {
    around = around || function (entry, job) { return job(); };
    return locked(!!wait, function () {
      return all().then(function (entries) {
        var waiting = entries.filter(function (e) { return e.state === "waiting"; })
          .sort(function (a, b) { return a.savedAt - b.savedAt; });
        var left = 0;
        return waiting.reduce(function (previous, e) {
          return previous.then(function () { return get(e.token); }).then(function (current) {
            if (!current || current.state !== "waiting") { return null; }
            return around(current, function () { return send(current); }).then(function (done) {
              if (done) { return put(done); }
              left += 1;
              return null;
            });
          });
        }, Promise.resolve()).then(function () { return left; });
      });
    }).then(function (left) { return left === null ? -1 : left; });
  }

  scope.CivicOutbox = { all: all, get: get, put: put, del: del, newToken: newToken, locked: locked,
                        send: send, flush: flush, plain: plain };
})(self);
