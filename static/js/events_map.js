// The upcoming events of the list, as pins on a small map (the list is the
// accessible version; the map is hidden from screen readers).
(function () {
  "use strict";
  var box = document.getElementById("events-map");
  var items = document.querySelectorAll("#event-list li[data-lat]");
  if (!box || !window.L || !items.length) {
    if (box) box.hidden = true;
    return;
  }
  var map = window.L.map(box, { keyboard: false });
  window.L.tileLayer(box.dataset.tiles, { attribution: box.dataset.attribution }).addTo(map);
  var bounds = [];
  items.forEach(function (item) {
    var point = [Number(item.dataset.lat), Number(item.dataset.lon)];
    var marker = window.L.marker(point, { title: item.dataset.title, keyboard: false });
    var link = document.createElement("a");
    link.href = item.dataset.url;
    link.textContent = item.dataset.title;
    marker.bindPopup(link).addTo(map);
    bounds.push(point);
  });
  map.fitBounds(bounds, { maxZoom: 15, padding: [20, 20] });
  // The list is the keyboard's way in; the map's own controls stay out of the tab order.
  function untab() {
    map.getContainer().querySelectorAll("a, button").forEach(function (n) { n.setAttribute("tabindex", "-1"); });
  }
  untab();
  map.on("popupopen", untab);
})();
