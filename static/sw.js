/* civic's service worker, served as /sw.js with its version filled in (civic/web/offline.py).
   - Static files: from the cache first (their URLs carry a content hash).
   - Pages a visitor opened that the server marked as savable (data-saved on <main>): from the network;
     a copy is kept, and shown when there is no signal, marked as a saved copy with its date.
   - Any other page without signal: the offline page (precached).
   - A new version (a deploy) installs at once, takes over open pages and deletes the old static cache;
     saved pages are kept, and their old stylesheet URLs fall back to the current one.
   - Background Sync "civic-outbox": when the signal returns, send the submissions waiting in the outbox,
     even with every page closed; the browser tries again later while some still wait. */
"use strict";
importScripts("__CIVIC_OUTBOX__"); // self.CivicOutbox: the outbox's core, shared with the page
var VERSION = "__CIVIC_VERSION__";
var PRECACHE = __CIVIC_PRECACHE__;
var STATIC_CACHE = "civic-static-" + VERSION;
var PAGES_CACHE = "civic-pages";
var MAX_PAGES = 60;
var SAVED_AT = "x-civic-saved-at";

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(STATIC_CACHE).then(function (cache) {
    return cache.addAll(PRECACHE.map(function (url) { return new Request(url, { cache: "reload" }); }));
  }).then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (name) {
      return name.indexOf("civic-static-") === 0 && name !== STATIC_CACHE;
    }).map(function (name) { return caches.delete(name); }));
  }).then(function () { return self.clients.claim(); }));
});

// Just after the signal returns, the first request often fails (the radio, the network still settling):
// try a few times within the event, 3 s apart, before leaving it to the browser's own retry, minutes later.
// The worker waits for a tab that is sending (the lock) instead of giving up on the event.
var SYNC_TRIES = 4;
var SYNC_PAUSE_MS = 3000;

function syncOutbox(tries) {
  return self.CivicOutbox.flush(null, true).then(function (left) {
    if (left <= 0) { return; }
    if (tries <= 1) { throw new Error(left + " still waiting"); } // the browser retries later
    return new Promise(function (resolve) { setTimeout(resolve, SYNC_PAUSE_MS); }).then(function () {
      return syncOutbox(tries - 1);
    });
  });
}

self.addEventListener("sync", function (event) {
  if (event.tag !== "civic-outbox") { return; }
  event.waitUntil(syncOutbox(SYNC_TRIES));
});

self.addEventListener("message", function (event) {
  if (event.data === "version" && event.ports && event.ports[0]) { event.ports[0].postMessage(VERSION); }
});

function isStatic(url) { return url.pathname.indexOf("/static/") === 0 || url.pathname === "/favicon.ico"; }

function fromStatic(request) {
  return caches.match(request).then(function (hit) {
    if (hit) { return hit; }
    return fetch(request).then(function (response) {
      if (response.ok) {
        var copy = response.clone();
        // A worker being replaced by a deploy must not bring back the cache its successor deleted.
        caches.has(STATIC_CACHE).then(function (has) {
          return has && caches.open(STATIC_CACHE).then(function (cache) { return cache.put(request, copy); });
        }).catch(function () {});
      }
      return response;
    }).catch(function () {
      // A saved page from an older version asks for an older file: the current one will do.
      return caches.open(STATIC_CACHE).then(function (cache) {
        return cache.match(request, { ignoreSearch: true });
      }).then(function (any) { return any || Response.error(); });
    });
  });
}

function keep(request, response) {
  var type = response.headers.get("content-type") || "";
  if (!response.ok || response.redirected || type.indexOf("text/html") !== 0) { return Promise.resolve(); }
  return response.clone().text().then(function (html) {
    if (html.indexOf(" data-saved=\"") === -1) { return; }  // the server did not mark it savable
    var headers = new Headers({ "content-type": type });
    headers.set(SAVED_AT, new Date().toISOString());
    return caches.open(PAGES_CACHE).then(function (cache) {
      return cache.put(new Request(request.url), new Response(html, { headers: headers })).then(function () {
        return cache.keys();
      }).then(function (keys) {
        return Promise.all(keys.slice(0, Math.max(0, keys.length - MAX_PAGES)).map(function (k) {
          return cache.delete(k);
        }));
      });
    });
  });
}

function escapeHtml(text) {
  return text.replace(/[&<>"]/g, function (c) { return { "&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;" }[c]; });
}

// The saved copy, with a notice at the top of <main>: "Saved copy from <date> …" in the page's language.
function savedCopy(response) {
  var savedAt = new Date(response.headers.get(SAVED_AT) || Date.now());
  return response.text().then(function (html) {
    var lang = (html.match(/<html lang="([a-z]+)"/) || [])[1] || "vi";
    var label = self.CivicOutbox.plain((html.match(/ data-saved="([^"]*)"/) || [])[1] || "");
    var when = savedAt.toLocaleString(lang === "vi" ? "vi-VN" : "en-GB",
      { dateStyle: "medium", timeStyle: "short", timeZone: "Asia/Ho_Chi_Minh" });
    var note = "<p class=\"flash saved-copy\" role=\"status\" data-saved-at=\"" + savedAt.toISOString() + "\">" +
      escapeHtml(label.replace("%(date)s", when)) + "</p>";
    html = html.replace(/(<main\b[^>]*>)/, "$1" + note);
    return new Response(html, { headers: { "content-type": "text/html; charset=utf-8" } });
  });
}

function page(event) {
  var request = event.request;
  return fetch(request).then(function (response) {
    event.waitUntil(keep(request, response).catch(function () {}));
    return response;
  }).catch(function () {
    return caches.open(PAGES_CACHE).then(function (cache) {
      return cache.match(request.url, { ignoreVary: true });
    }).then(function (saved) {
      if (saved) { return savedCopy(saved); }
      return caches.open(STATIC_CACHE).then(function (cache) { return cache.match("/offline"); })
        .then(function (offline) { return offline || Response.error(); });
    });
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") { return; }
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) { return; }
  if (isStatic(url)) { event.respondWith(fromStatic(request)); return; }
  if (request.mode === "navigate") { event.respondWith(page(event)); }
});

// Web Push (civic/notify): the site's encrypted message {title, body, url} shown as a notification; a tap
// opens the item.
self.addEventListener("push", function (event) {
  var data = {};
  try { data = event.data ? event.data.json() : {}; } catch (e) { data = { body: event.data ? event.data.text() : "" }; }
  event.waitUntil(self.registration.showNotification(data.title || "civic", {
    body: data.body || "", data: { url: data.url || "/" }, icon: "/favicon.ico"
  }));
});

self.addEventListener("notificationclick", function (event) {
  event.notification.close();
  var url = (event.notification.data && event.notification.data.url) || "/";
  event.waitUntil(self.clients.openWindow(url));
});
