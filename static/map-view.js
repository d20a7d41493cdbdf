/* The map view of the item list (/map): the public positions of the items the filters match, clustered.
   Loads the map library (vendored Leaflet and Leaflet.markercluster) and the positions as GeoJSON. Without
   JavaScript the page says so and links to the list. Titles are the residents' text: set as text only. */
(function () {
  "use strict";

  // A stylesheet or script added to the page, as a promise of its loading.
  function fetched(tag, set) {
    return new Promise(function (resolve, reject) {
      var el = document.createElement(tag);
      el.onload = resolve; el.onerror = reject;
      set(el);
      document.head.appendChild(el);
    });
  }
  function loadCss(href) { return fetched("link", function (link) { link.rel = "stylesheet"; link.href = href; }); }
  function loadScript(src) { return fetched("script", function (s) { s.src = src; }); }

  function popup(p) {
    var box = document.createElement("div"), link = document.createElement("a"), meta = document.createElement("p");
    link.href = p.url; link.textContent = p.code + " · " + p.title;
    meta.textContent = p.village + " · " + p.stage_label;
    box.appendChild(link); box.appendChild(meta);
    return box;
  }

  function start() {
    var holder = document.querySelector("[data-map-view]");
    if (!holder) { return; }
    var d = holder.dataset, note = document.querySelector("[data-no-js]"), status = document.querySelector("[data-map-status]");
    function fail() { if (status) { status.textContent = d.noMap; } }
    // The map is drawn once its stylesheets apply: Leaflet finds its pin images through its stylesheet.
    var styles = Promise.all([d.leafletCss, d.clusterCss, d.clusterThemeCss].map(loadCss));
    loadScript(d.leafletJs).then(function () {
      window.L.Icon.Default.imagePath = d.leafletJs.split("?")[0].replace(/[^\/]*$/, "") + "images/";
      return loadScript(d.clusterJs);
    }).then(function () { return styles; }).then(function () {
      return fetch(d.geojson, { headers: { Accept: "application/geo+json" } }).then(function (r) {
        if (!r.ok) { throw new Error(String(r.status)); }
        return r.json();
      });
    }).then(function (data) {
      var L = window.L;
      if (note) { note.hidden = true; }
      holder.hidden = false;
      var map = L.map(holder, { scrollWheelZoom: false });
      if (d.tiles) {
        var who = document.createElement("a");
        who.href = d.attributionUrl; who.textContent = d.attribution;
        L.tileLayer(d.tiles, { maxZoom: 19, attribution: who.outerHTML }).addTo(map);
      }
      var group = L.markerClusterGroup({ showCoverageOnHover: false, maxClusterRadius: 50 });
      data.features.forEach(function (f) {
        var c = f.geometry.coordinates;
        var marker = L.marker([c[1], c[0]], { alt: f.properties.code + " · " + f.properties.title, title: f.properties.code });
        marker.bindPopup(popup(f.properties));
        group.addLayer(marker);
      });
      map.addLayer(group);
      if (data.features.length) {
        map.fitBounds(group.getBounds(), { maxZoom: 16, padding: [20, 20] });
      } else {
        map.setView([parseFloat(d.lat), parseFloat(d.lng)], parseInt(d.zoom, 10));
      }
    }).catch(fail);
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
