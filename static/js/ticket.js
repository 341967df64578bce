// The ticket page: a pin on the small map, and the send state and status kept live
// from /map (room ticket:<id>). Values from the server only ever become DOM text.
(function () {
  "use strict";
  var article = document.getElementById("ticket");
  if (!article) return;
  var mapConfig = document.getElementById("ticket-map-config");
  if (mapConfig && window.L && window[mapConfig.dataset.map]) {
    var map = window[mapConfig.dataset.map];
    L.marker([Number(mapConfig.dataset.lat), Number(mapConfig.dataset.lon)], { keyboard: false }).addTo(map);
    map.getContainer().querySelectorAll("a, button").forEach(function (n) { n.setAttribute("tabindex", "-1"); });
  }
  if (!window.io) return;
  var id = Number(article.dataset.ticket);
  var box = document.getElementById("send-state");
  var status = document.getElementById("ticket-status");
  // WebSocket alone: the server's processes share no long-polling state (README: Deployment).
  var socket = window.io("/map", { transports: ["websocket"] });
  socket.on("connect", function () {
    socket.emit("watch_ticket", { id: id }, function () { document.body.dataset.watching = "yes"; });
  });
  socket.on("ticket_updated", function (ticket) {
    if (ticket.id !== id) return;
    status.textContent = ticket.status;
    status.className = "badge status-" + String(ticket.status || "").toLowerCase().replace(/[^a-z]/g, "");
    var key = "msg" + String(ticket.send_state || "").replace(/^./, function (c) { return c.toUpperCase(); });
    var lines = [];
    if (box.dataset[key]) lines.push(box.dataset[key]);
    if (ticket.city_id) lines.push(box.dataset.msgCityId + " " + ticket.city_id);
    if (!lines.length) return;
    box.replaceChildren.apply(box, lines.map(function (text) { var p = document.createElement("p"); p.textContent = text; return p; }));
    document.body.dataset.sendState = ticket.send_state || "";
  });
})();
