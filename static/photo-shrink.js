/* Shrink photos in the browser before upload, so they go through on 3G. Optional: without JavaScript,
   or where the browser cannot do it (a HEIC photo in Chrome, no DataTransfer), the originals are sent
   and the server does the same work. Photos are redrawn on a canvas (upright, no EXIF, no GPS) as JPEG,
   longest side at most data-shrink pixels (1600). */
(function () {
  "use strict";
  var QUALITY = 0.85;
  var SMALL = 600 * 1024; // a photo smaller than this and within the size is sent as it is

  function load(file) {
    if (window.createImageBitmap) {
      return createImageBitmap(file, { imageOrientation: "from-image" });
    }
    return new Promise(function (resolve, reject) {
      var url = URL.createObjectURL(file);
      var img = new Image();
      img.onload = function () { resolve(img); };
      img.onerror = function () { URL.revokeObjectURL(url); reject(new Error("decode")); };
      img.src = url;
    });
  }

  function shrink(file, longest) {
    if (!/^image\/(jpeg|png|webp|heic|heif)$/.test(file.type)) { return Promise.resolve(file); }
    return load(file).then(function (img) {
      var w = img.width, h = img.height, scale = Math.min(1, longest / Math.max(w, h));
      if (scale === 1 && file.size <= SMALL) { return file; }
      var canvas = document.createElement("canvas");
      canvas.width = Math.max(1, Math.round(w * scale));
      canvas.height = Math.max(1, Math.round(h * scale));
      var ctx = canvas.getContext("2d");
      ctx.fillStyle = "#fff";
      ctx.fillRect(0, 0, canvas.width, canvas.height);
      ctx.drawImage(img, 0, 0, canvas.width, canvas.height);
      if (img.close) { img.close(); }
      return new Promise(function (resolve) {
        canvas.toBlob(function (blob) {
          if (!blob || blob.size >= file.size) { resolve(file); return; }
          var name = file.name.replace(/\.[^.]*$/, "") + ".jpg";
          resolve(new File([blob], name, { type: "image/jpeg", lastModified: Date.now() }));
        }, "image/jpeg", QUALITY);
      });
    }).catch(function () { return file; });
  }

  function canReplaceFiles() {
    try { return typeof DataTransfer === "function" && !!new DataTransfer().items; } catch (e) { return false; }
  }

  function onSubmit(event) {
    var form = event.target;
    if (form.dataset.shrunk === "1") { return; }
    var inputs = Array.prototype.filter.call(form.querySelectorAll("input[type=file][data-shrink]"),
      function (i) { return i.files && i.files.length; });
    if (!inputs.length || !canReplaceFiles()) { return; }
    event.preventDefault();
    var button = form.querySelector("button[type=submit]");
    if (button) { button.disabled = true; }
    var jobs = inputs.map(function (input) {
      var status = document.getElementById(input.id + "-status");
      if (status) { status.textContent = input.getAttribute("data-busy") || "…"; }
      var longest = parseInt(input.getAttribute("data-shrink"), 10) || 1600;
      return Promise.all(Array.prototype.map.call(input.files, function (f) { return shrink(f, longest); }))
        .then(function (files) {
          var dt = new DataTransfer();
          files.forEach(function (f) { dt.items.add(f); });
          input.files = dt.files;
        });
    });
    Promise.all(jobs).catch(function () {}).then(function () {
      form.dataset.shrunk = "1";
      if (button) { button.disabled = false; }
      if (form.requestSubmit) { form.requestSubmit(button || undefined); } else { form.submit(); }
    });
  }

  document.addEventListener("submit", function (event) {
    if (event.target && event.target.tagName === "FORM") { onSubmit(event); }
  });
})();
