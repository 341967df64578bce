// Filing: a draggable pin (its point goes in lat/lon) and "use my location" (the
// device's point goes in device_lat/lon too, for the server's location check).
(function () {
  "use strict";
  var config = document.getElementById("filing-config");
  var holder = document.getElementById("pin-map");
  if (!config || !holder || !window.L) return;
  var lat = document.getElementById("lat");
  var lon = document.getElementById("lon");
  var status = document.getElementById("location-status");
  var start = lat.value && lon.value ? [Number(lat.value), Number(lon.value)] : [Number(config.dataset.lat), Number(config.dataset.lon)];
  var map = L.map(holder, { keyboard: false }).setView(start, lat.value ? 17 : 13);
  L.tileLayer(config.dataset.tiles, { attribution: config.dataset.attribution, maxZoom: 19 }).addTo(map);
  var pin = null;
  function place(point, zoom) {
    if (!pin) {
      pin = L.marker(point, { draggable: true, keyboard: false }).addTo(map);
      pin.on("dragend", function () { set(pin.getLatLng()); });
    } else {
      pin.setLatLng(point);
    }
    set(L.latLng(point));
    if (zoom) map.setView(point, zoom);
  }
  function set(point) {
    lat.value = point.lat.toFixed(6);
    lon.value = point.lng.toFixed(6);
  }
  if (lat.value && lon.value) place(start);
  map.on("click", function (event) { place(event.latlng); });
  map.getContainer().querySelectorAll("a, button").forEach(function (n) { n.setAttribute("tabindex", "-1"); });
  var button = document.getElementById("use-location");
  if ("geolocation" in navigator && button) {
    button.hidden = false;
    button.addEventListener("click", function () {
      navigator.geolocation.getCurrentPosition(function (pos) {
        document.getElementById("device_lat").value = pos.coords.latitude.toFixed(6);
        document.getElementById("device_lon").value = pos.coords.longitude.toFixed(6);
        place([pos.coords.latitude, pos.coords.longitude], 17);
        status.textContent = config.dataset.msgLocated;
      }, function () { status.textContent = config.dataset.msgDenied; }, { timeout: 15000, maximumAge: 60000 });
    });
  }
})();
