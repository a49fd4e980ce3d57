// The dashboard's one script: "Copy as example" puts the button's line on the clipboard.
// Served from /static/ (the Content-Security-Policy allows no inline script).
(function () {
  function fallback(text) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    document.body.appendChild(area);
    area.select();
    var ok = false;
    try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
    document.body.removeChild(area);
    return ok;
  }
  function done(button, ok) {
    var label = button.textContent;
    button.textContent = ok ? "Copied" : "Copy failed: select the line above";
    setTimeout(function () { button.textContent = label; }, 1500);
  }
  document.addEventListener("click", function (event) {
    var button = event.target.closest("button.copy");
    if (!button) return;
    var text = button.getAttribute("data-copy") || "";
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(
        function () { done(button, true); },
        function () { done(button, fallback(text)); });
    } else {
      done(button, fallback(text));
    }
  });
})();
