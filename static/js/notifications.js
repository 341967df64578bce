// The header's bell kept live over /notifications (room user:<id>). DOM text only.
(function () {
  "use strict";
  var bell = document.querySelector("[data-bell]");
  if (!bell || !window.io) return;
  var count = bell.querySelector("[data-bell-count]");
  // WebSocket alone: the server's processes share no long-polling state (README: Deployment).
  var socket = window.io("/notifications", { transports: ["websocket"] });

  function show(unread) {
    if (typeof unread !== "number" || unread < 0) return;
    count.textContent = String(unread);
    count.hidden = unread === 0;
    var label = unread === 0 ? bell.dataset.labelNone : bell.dataset.labelSome.replace("{n}", String(unread));
    bell.setAttribute("aria-label", label);
    document.body.dataset.unread = String(unread);
  }

  socket.on("connect", function () {
    // What changed between the page's load and this connection.
    socket.emit("unread", function (answer) {
      if (answer) show(answer.unread);
      document.body.dataset.bellLive = "yes";
    });
  });
  socket.on("notification", function (message) {
    if (message) show(message.unread);
  });
})();
