/* The receipt page (/submitted/<code>): "Copy code" and "Share" (Web Share API). Optional: without
   JavaScript the code is selectable text and the Zalo link shares the status page. */
(function () {
  "use strict";
  var copy = document.getElementById("copy-code"), done = document.getElementById("copy-done");
  if (copy && navigator.clipboard && navigator.clipboard.writeText) {
    copy.hidden = false;
    copy.addEventListener("click", function () {
      navigator.clipboard.writeText(copy.getAttribute("data-copy")).then(function () {
        done.textContent = copy.getAttribute("data-done");
      }).catch(function () {
        var range = document.createRange(); // cannot write: select it, so a long press copies it
        range.selectNodeContents(document.getElementById("item-code"));
        window.getSelection().removeAllRanges();
        window.getSelection().addRange(range);
      });
    });
  }
  var share = document.getElementById("share");
  if (share && navigator.share) {
    share.hidden = false;
    share.addEventListener("click", function () {
      navigator.share({ title: share.getAttribute("data-title"), url: share.getAttribute("data-url") })
        .catch(function () {});
    });
  }
})();
