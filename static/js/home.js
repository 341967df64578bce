// Home page "near me": ask the browser where we are, find the area, and go there.
(function () {
  "use strict";
  var button = document.getElementById("near-me");
  var status = document.getElementById("near-status");
  if (!button || !status) return;
  var say = function (key) { status.textContent = button.dataset[key] || ""; };
  if (!("geolocation" in navigator)) { say("msgUnsupported"); return; }
  button.hidden = false;
  button.addEventListener("click", function () {
    say("msgFinding");
    button.disabled = true;
    navigator.geolocation.getCurrentPosition(function (pos) {
      var url = button.dataset.locateUrl + "?lat=" + pos.coords.latitude + "&lon=" + pos.coords.longitude;
      fetch(url, { headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
        .then(function (body) {
          if (!body.area) { say("msgNone"); button.disabled = false; return; }
          window.location.assign(button.dataset.areaUrl.replace("SLUG", encodeURIComponent(body.area.properties.slug)));
        })
        .catch(function () { say("msgDenied"); button.disabled = false; });
    }, function () { say("msgDenied"); button.disabled = false; }, { timeout: 15000, maximumAge: 60000 });
  });
})();
