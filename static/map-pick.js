/* The submission form's location block (templates/components/location.html), for browsers with JavaScript:
   "Use my location" (Geolocation), a small map to place or move a pin (the map library is loaded only when
   the map is first shown), and "Use the position in the photo" when a chosen JPEG carries EXIF GPS. The
   photo is read here, before photo-shrink.js redraws it without EXIF; its position is used only on the
   resident's click. The server checks any position again (Vietnam only). Without JavaScript the latitude
   and longitude fields work alone. */
(function () {
  "use strict";

  // --- a tiny EXIF GPS reader: JPEG APP1 "Exif", TIFF IFD0 -> GPS IFD (tag 0x8825), tags 1-4 ----------
  function gpsOf(buffer) {
    var v = new DataView(buffer), len = v.byteLength, p = 2;
    if (len < 4 || v.getUint16(0) !== 0xFFD8) { return null; }
    while (p + 4 <= len) {
      var marker = v.getUint16(p), size = v.getUint16(p + 2);
      if ((marker & 0xFF00) !== 0xFF00 || marker === 0xFFDA) { return null; }
      if (marker === 0xFFE1 && p + 10 <= len && v.getUint32(p + 4) === 0x45786966) { // "Exif"
        return tiff(v, p + 10, Math.min(len, p + 2 + size));
      }
      p += 2 + size;
    }
    return null;
  }

  function tiff(v, t, end) {
    if (t + 8 > end) { return null; }
    var le = v.getUint16(t) === 0x4949;
    function u16(o) { return v.getUint16(t + o, le); }
    function u32(o) { return v.getUint32(t + o, le); }
    function entries(ifd) {
      if (!ifd || t + ifd + 2 > end) { return {}; }
      var out = {}, n = u16(ifd);
      for (var i = 0; i < n && t + ifd + 14 + i * 12 <= end; i++) {
        var e = ifd + 2 + i * 12;
        out[u16(e)] = { type: u16(e + 2), count: u32(e + 4), at: e + 8 };
      }
      return out;
    }
    var gpsTag = entries(u32(4))[0x8825];
    if (!gpsTag) { return null; }
    var gps = entries(u32(gpsTag.at));
    function ref(tag) { return gps[tag] ? String.fromCharCode(v.getUint8(t + gps[tag].at)) : ""; }
    function degrees(tag) {
      var e = gps[tag];
      if (!e || e.type !== 5 || e.count !== 3) { return null; }
      var at = u32(e.at), parts = [];
      if (t + at + 24 > end) { return null; }
      for (var i = 0; i < 3; i++) {
        var den = u32(at + i * 8 + 4);
        parts.push(den ? u32(at + i * 8) / den : 0);
      }
      return parts[0] + parts[1] / 60 + parts[2] / 3600;
    }
    var lat = degrees(2), lng = degrees(4);
    if (lat === null || lng === null) { return null; }
    return { lat: ref(1) === "S" ? -lat : lat, lng: ref(3) === "W" ? -lng : lng };
  }

  // --- the block ---------------------------------------------------------------------------------------
  function setUp(box) {
    var d = box.dataset, form = box.form || box.closest("form");
    var lat = box.querySelector("input[name=lat]"), lng = box.querySelector("input[name=lng]");
    var status = box.querySelector("[data-status]"), holder = box.querySelector("[data-map]");
    var mineBtn = box.querySelector("[data-use-mine]"), mapBtn = box.querySelector("[data-show-map]");
    var photoBtn = box.querySelector("[data-use-photo]");
    var bounds = JSON.parse(d.bounds || "[]"), map = null, pin = null, photoPos = null, loading = null;
    box.querySelector("[data-tools]").hidden = false;

    function say(text) { status.textContent = text || ""; }
    function inVietnam(a, b) {
      return bounds.some(function (x) { return a >= x[0] && a <= x[2] && b >= x[1] && b <= x[3]; });
    }
    function round(x) { return String(Math.round(x * 1e6) / 1e6); }
    function current() {
      var a = parseFloat((lat.value || "").replace(",", ".")), b = parseFloat((lng.value || "").replace(",", "."));
      return isFinite(a) && isFinite(b) ? [a, b] : null;
    }
    function put(a, b, message) {
      lat.value = round(a); lng.value = round(b);
      say(message);
      if (map) { place(a, b, true); }
    }

    function load(done) {
      if (!loading) {
        // The map is drawn once its stylesheets apply as well as its script has run: Leaflet finds its
        // pin images through its stylesheet, and a pin placed before it applies asks for them at the
        // page's own address. The images' folder is also set outright, beside the script.
        loading = Promise.all([d.leafletCss, d.mapCss].map(function (href) {
          return fetched("link", function (link) { link.rel = "stylesheet"; link.href = href; });
        }).concat([fetched("script", function (s) { s.src = d.leafletJs; })])).then(function () {
          window.L.Icon.Default.imagePath = d.leafletJs.split("?")[0].replace(/[^\/]*$/, "") + "images/";
        });
      }
      loading.then(done, function () { loading = null; say(d.noMap); });
    }

    function fetched(tag, set) {
      return new Promise(function (resolve, reject) {
        var el = document.createElement(tag);
        el.onload = resolve; el.onerror = reject;
        set(el);
        document.head.appendChild(el);
      });
    }

    function place(a, b, centre) {
      if (!pin) {
        pin = window.L.marker([a, b], { draggable: true, keyboard: true, alt: d.mapLabel }).addTo(map);
        pin.on("dragend", function () {
          var at = pin.getLatLng();
          lat.value = round(at.lat); lng.value = round(at.lng);
          say(d.placed);
        });
      } else {
        pin.setLatLng([a, b]);
      }
      if (centre) { map.setView([a, b], Math.max(map.getZoom(), 16)); }
    }

    function showMap(then) {
      holder.hidden = false;
      mapBtn.setAttribute("aria-expanded", "true");
      load(function () {
        if (!map) {
          var L = window.L, here = current();
          map = L.map(holder, { scrollWheelZoom: false });
          holder.setAttribute("aria-label", d.mapLabel);
          if (d.tiles) {
            var who = document.createElement("a");
            who.href = d.attributionUrl; who.textContent = d.attribution;
            L.tileLayer(d.tiles, { maxZoom: 19, attribution: who.outerHTML }).addTo(map);
          }
          if (here) { map.setView(here, 16); place(here[0], here[1], false); }
          else { map.setView([parseFloat(d.lat), parseFloat(d.lng)], parseInt(d.zoom, 10)); }
          map.on("click", function (e) { put(e.latlng.lat, e.latlng.lng, d.placed); });
        }
        map.invalidateSize();
        if (then) { then(); }
      });
    }

    mapBtn.addEventListener("click", function () { showMap(); });

    mineBtn.addEventListener("click", function () {
      if (!navigator.geolocation) { say(d.unavailable); return; }
      say(d.asking);
      navigator.geolocation.getCurrentPosition(function (found) {
        var a = found.coords.latitude, b = found.coords.longitude;
        if (!inVietnam(a, b)) { say(d.outside); return; }
        var metres = String(Math.max(1, Math.round(found.coords.accuracy || 0)));
        put(a, b, d.found.replace("%(metres)s", metres));
        showMap(function () { place(a, b, true); });
      }, function (err) {
        say(err.code === 1 ? d.denied : err.code === 3 ? d.timeout : d.unavailable);
      }, { enableHighAccuracy: true, timeout: 20000, maximumAge: 60000 });
    });

    photoBtn.addEventListener("click", function () {
      if (!photoPos) { return; }
      put(photoPos.lat, photoPos.lng, d.photoUsed);
      showMap(function () { place(photoPos.lat, photoPos.lng, true); });
    });

    [lat, lng].forEach(function (input) {
      input.addEventListener("change", function () {
        var here = current();
        if (map && here) { place(here[0], here[1], true); }
      });
    });

    var photos = form && form.querySelector("input[type=file][name=" + (d.photos || "photos") + "]");
    if (photos && window.DataView && window.Blob && Blob.prototype.arrayBuffer) {
      photos.addEventListener("change", function () {
        photoPos = null; photoBtn.hidden = true;
        var jpegs = Array.prototype.filter.call(photos.files || [], function (f) {
          return /^image\/jpe?g$/.test(f.type) || /\.jpe?g$/i.test(f.name);
        });
        var reads = jpegs.map(function (f) {
          return f.slice(0, 256 * 1024).arrayBuffer().then(gpsOf, function () { return null; });
        });
        Promise.all(reads).then(function (found) {
          var any = found.filter(function (g) { return g; });
          var good = any.filter(function (g) { return !(g.lat === 0 && g.lng === 0) && inVietnam(g.lat, g.lng); });
          if (good.length) {
            photoPos = good[0]; photoBtn.hidden = false; say(d.photoFound);
          } else if (any.length) {
            say(any[0].lat === 0 && any[0].lng === 0 ? d.zero : d.photoOutside);
          }
        });
      });
    }
  }

  function start() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-location]"), setUp);
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
