// An event page's counts kept live over /events (room event:<id>). DOM text only.
(function () {
  "use strict";
  var box = document.getElementById("counts");
  if (!box || !window.io) return;
  var eventId = Number(box.dataset.event);
  // WebSocket alone: the server's processes share no long-polling state (README: Deployment).
  var socket = window.io("/events", { transports: ["websocket"] });

  function show(counts) {
    if (!counts || counts.event !== eventId) return;
    document.getElementById("going-count").textContent = String(counts.going);
    document.getElementById("waitlist-count").textContent = String(counts.waitlisted);
    document.body.dataset.going = String(counts.going);
  }

  socket.on("connect", function () {
    socket.emit("join", { event: eventId }, function (counts) {
      show(counts);
      document.body.dataset.live = "yes";
    });
  });
  socket.on("rsvp_changed", show);
})();
