// The page's messages (base.html's #messages) stay until their "dismiss" button is pressed;
// without this script the buttons stay hidden and a message lasts until the next page.
// Scripts add theirs from base.html's #message-template (uploader.js); the same applies.
(function () {
  "use strict";
  const area = document.getElementById("messages");
  if (!area) return;
  area.querySelectorAll(".message-dismiss[hidden]").forEach(function (button) {
    button.hidden = false;
  });

  area.addEventListener("click", function (event) {
    const button = event.target.closest(".message-dismiss");
    if (!button) return;
    const message = button.closest(".message");
    const next = message.nextElementSibling || message.previousElementSibling;
    message.remove();
    // Keep the keyboard's place: the next message's button, else the page's content.
    const focus = next ? next.querySelector(".message-dismiss") : document.getElementById("main");
    if (focus) focus.focus();
  });
})();
