// The map page: tickets from the API on every pan and zoom (server clusters when zoomed
// out, single markers when close), filters, "near me", the list by distance, and live
// updates from the /map Socket.IO namespace. Ticket text only ever becomes DOM text.
(function () {
  "use strict";
  var config = document.getElementById("map-config");
  if (!config || !window.L) return;
  var map = window[config.dataset.map];
  if (!map) return;
  var form = document.getElementById("map-filters");
  var list = document.getElementById("ticket-list");
  var listStatus = document.getElementById("list-status");
  var nearMe = document.getElementById("map-near-me");
  var singles = L.markerClusterGroup({ showCoverageOnHover: false, keyboard: false });
  var clusters = L.layerGroup();
  singles.addTo(map);
  clusters.addTo(map);
  var pending = null;
  var listPending = null;
  var timer = null;

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function ticketUrl(id) {
    // Built from the numeric id, never from text the API carries.
    return config.dataset.ticketUrl.replace(/0$/, String(Number(id)));
  }

  function statusClass(status) {
    return "status-" + String(status || "other").toLowerCase().replace(/[^a-z]/g, "") ;
  }

  function filterParams() {
    var params = new URLSearchParams();
    var service = form.elements.service.value;
    var status = form.elements.status.value;
    var since = form.elements.since.value;
    if (service) params.set("service_code", service);
    params.set("status", status || "open");
    if (since) {
      var from = new Date(Date.now() - Number(since) * 86400000);
      params.set("since", from.toISOString().replace(/\.\d+Z$/, "Z"));
    }
    return params;
  }

  function popupFor(props) {
    var box = el("div", "ticket-popup");
    box.appendChild(el("strong", null, props.service_name || props.service_code));
    box.appendChild(el("span", "badge " + statusClass(props.status), props.status));
    if (props.address) box.appendChild(el("p", null, props.address));
    if (props.description) box.appendChild(el("p", "excerpt", props.description));
    var link = el("a", null, config.dataset.msgOpenTicket);
    link.href = ticketUrl(props.id);
    box.appendChild(link);
    return box;
  }

  function singleMarker(feature) {
    var props = feature.properties;
    var coords = feature.geometry.coordinates;
    var icon = L.divIcon({ className: "ticket-marker " + statusClass(props.status), iconSize: [18, 18] });
    var marker = L.marker([coords[1], coords[0]], { icon: icon, keyboard: false });
    marker.bindPopup(function () { return popupFor(props); });
    marker.ticketId = props.id;
    return marker;
  }

  function clusterMarker(feature) {
    var props = feature.properties;
    var coords = feature.geometry.coordinates;
    var size = props.count < 10 ? "small" : props.count < 100 ? "medium" : "large";
    var inner = el("div");
    inner.appendChild(el("span", null, props.count));
    var icon = L.divIcon({ html: inner, className: "marker-cluster marker-cluster-" + size + " server-cluster", iconSize: [40, 40] });
    var marker = L.marker([coords[1], coords[0]], { icon: icon, keyboard: false, title: config.dataset.msgZoom });
    marker.on("click", function () {
      var b = props.bounds;
      map.fitBounds([[b[1], b[0]], [b[3], b[2]]]);
    });
    return marker;
  }

  function loadView() {
    if (pending) pending.abort();
    pending = new AbortController();
    var bounds = map.getBounds();
    var params = filterParams();
    params.set("bbox", [bounds.getWest(), bounds.getSouth(), bounds.getEast(), bounds.getNorth()]
      .map(function (v) { return Math.max(-180, Math.min(180, v)).toFixed(6); }).join(","));
    params.set("zoom", String(map.getZoom()));
    params.set("limit", "1000");
    fetch(config.dataset.api + "?" + params.toString(), { signal: pending.signal, headers: { Accept: "application/geo+json" } })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (body) {
        // A marker whose popup is open stays: a popup that pans the map to fit
        // would otherwise close itself when the panned view is loaded.
        var kept = null, gone = [];
        singles.eachLayer(function (m) {
          if (!kept && m.isPopupOpen && m.isPopupOpen()) kept = m; else gone.push(m);
        });
        singles.removeLayers(gone);
        clusters.clearLayers();
        var markers = [], keptStays = false;
        body.features.forEach(function (feature) {
          if (feature.properties.cluster) clusters.addLayer(clusterMarker(feature));
          else if (kept && feature.properties.id === kept.ticketId) keptStays = true;
          else markers.push(singleMarker(feature));
        });
        if (kept && !keptStays) singles.removeLayer(kept);
        singles.addLayers(markers);
        document.body.dataset.mapState = "loaded";
      })
      .catch(function (error) { if (error && error.name === "AbortError") return; document.body.dataset.mapState = "failed"; });
  }

  function listItem(feature) {
    var props = feature.properties;
    var item = el("li");
    var link = el("a", null, props.service_name || props.service_code);
    link.href = ticketUrl(props.id);
    item.appendChild(link);
    item.appendChild(document.createTextNode(" "));
    item.appendChild(el("span", "badge " + statusClass(props.status), props.status));
    var away = config.dataset.msgAway.replace("METRES", Math.round(props.distance));
    var when = props.requested_at ? new Date(props.requested_at).toLocaleDateString(document.documentElement.lang) : "";
    item.appendChild(el("span", "meta", [props.address || "", away, when].filter(Boolean).join(" · ")));
    return item;
  }

  function loadList() {
    if (listPending) listPending.abort();
    listPending = new AbortController();
    var center = map.getCenter();
    var params = filterParams();
    params.set("near", center.lat.toFixed(6) + "," + center.lng.toFixed(6));
    params.set("radius", config.dataset.listRadius);
    params.set("limit", "50");
    fetch(config.dataset.api + "?" + params.toString(), { signal: listPending.signal })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (body) {
        var items = body.features.map(listItem);
        list.replaceChildren.apply(list, items);
        listStatus.textContent = listStatus.dataset.msgCount.replace("COUNT", items.length);
      })
      .catch(function (error) { if (error && error.name === "AbortError") return; listStatus.textContent = listStatus.dataset.msgFailed; });
  }

  function refresh() {
    clearTimeout(timer);
    timer = setTimeout(function () { loadView(); loadList(); watchView(); }, 200);
  }

  // Live: the server puts this page in the rooms of the areas in view.
  // WebSocket alone: the server's processes share no long-polling state (README: Deployment).
  var socket = window.io ? window.io("/map", { transports: ["websocket"] }) : null;
  function watchView() {
    if (!socket) return;
    var b = map.getBounds();
    socket.emit("view", { bbox: [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()] });
  }
  if (socket) {
    socket.on("connect", watchView);
    socket.on("ticket_updated", function (ticket) {
      if (ticket.lat === null || ticket.lon === null) return;
      if (map.getBounds().contains([ticket.lat, ticket.lon])) refresh();
    });
  }

  map.on("moveend", refresh);
  ["service", "status", "since"].forEach(function (name) {
    form.elements[name].addEventListener("change", refresh);
  });

  if ("geolocation" in navigator && nearMe) {
    nearMe.hidden = false;
    nearMe.addEventListener("click", function () {
      navigator.geolocation.getCurrentPosition(function (pos) {
        map.setView([pos.coords.latitude, pos.coords.longitude], 16);
        listStatus.textContent = config.dataset.msgLocated;
      }, function () { listStatus.textContent = config.dataset.msgDenied; }, { timeout: 15000, maximumAge: 60000 });
    });
  }
  // Leaflet's zoom buttons and attribution links: out of the tab order, as the map is
  // hidden from assistive technology (the list carries the same tickets).
  map.getContainer().querySelectorAll("a, button").forEach(function (node) { node.setAttribute("tabindex", "-1"); });
  // The list is the map's equal (screen readers use it alone): filled at once, not
  // only once the map moves.
  loadView();
  loadList();
  watchView();
})();
