// "Notifications on this phone": subscribe this browser to Web Push and hand the subscription to the site
// (the preferences page's form, posted with its CSRF token). Without JavaScript or push support the button
// stays hidden and the other channels work as before.
(function () {
  var box = document.getElementById("push-subscribe");
  if (!box || !("serviceWorker" in navigator) || !("PushManager" in window)) { return; }
  var form = box.querySelector("form");
  var key = box.getAttribute("data-key");
  function bytes(b64) {
    var pad = "=".repeat((4 - b64.length % 4) % 4);
    var raw = atob((b64 + pad).replace(/-/g, "+").replace(/_/g, "/"));
    var out = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) { out[i] = raw.charCodeAt(i); }
    return out;
  }
  box.hidden = false;
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    navigator.serviceWorker.ready.then(function (reg) {
      return reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: bytes(key) });
    }).then(function (sub) {
      form.querySelector("input[name=subscription]").value = JSON.stringify(sub);
      form.submit();
    }).catch(function () { box.querySelector(".hint").hidden = false; });
  });
})();
