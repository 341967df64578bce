// A batch page kept live over /batches (room batch:<id>): each row's state, the
// city's id and its reason for refusing change in place. Values are DOM text only.
(function () {
  "use strict";
  var table = document.getElementById("batch-rows");
  if (!table || !window.io) return;
  var batchId = Number(table.dataset.batch);
  // WebSocket alone: the server's processes share no long-polling state (README: Deployment).
  var socket = window.io("/batches", { transports: ["websocket"] });

  function show(row) {
    var line = document.querySelector('tr[data-row="' + Number(row.id) + '"]');
    if (!line) return;
    line.dataset.state = row.state;
    line.querySelector(".state").textContent = row.state;
    var cityId = line.querySelector(".city-id");
    if (cityId) cityId.textContent = row.city_id || "";
    var message = line.querySelector(".message");
    if (message) message.textContent = row.message || "";
  }

  socket.on("connect", function () {
    socket.emit("join", { batch: batchId }, function (answer) {
      if (!answer) return;
      answer.rows.forEach(show);  // what changed between the page's load and now
      document.body.dataset.live = "yes";
    });
  });
  socket.on("batch_progress", function (row) {
    if (row.batch === batchId) show(row);
  });
})();
