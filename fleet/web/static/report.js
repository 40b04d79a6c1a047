// The report form's map: a tap on the commune's outline sets the hidden latitude and longitude fields.
// Without this script the street name works alone. The projection is the one of fleet/reports/area.py:
// x = offX + (lon - lonMin) * k * scale, y = offY + (latMax - lat) * scale.
(function () {
  "use strict";
  var map = document.getElementById("report-map");
  if (!map) { return; }
  var lat = document.getElementById("report-lat");
  var lon = document.getElementById("report-lon");
  var marker = document.getElementById("report-marker");
  var said = document.getElementById("report-point");
  var d = map.dataset;
  var lonMin = parseFloat(d.lonMin), latMax = parseFloat(d.latMax);
  var scale = parseFloat(d.scale), k = parseFloat(d.k), offX = parseFloat(d.offX), offY = parseFloat(d.offY);

  function place(x, y) {
    marker.setAttribute("cx", x.toFixed(1));
    marker.setAttribute("cy", y.toFixed(1));
    marker.setAttribute("visibility", "visible");
  }

  if (lat.value && lon.value) {
    place(offX + (parseFloat(lon.value) - lonMin) * k * scale, offY + (latMax - parseFloat(lat.value)) * scale);
  }

  map.addEventListener("click", function (event) {
    var ctm = map.getScreenCTM();
    if (!ctm) { return; }
    var pt = map.createSVGPoint();
    pt.x = event.clientX;
    pt.y = event.clientY;
    var p = pt.matrixTransform(ctm.inverse());
    var la = latMax - (p.y - offY) / scale;
    var lo = lonMin + (p.x - offX) / (k * scale);
    lat.value = la.toFixed(6);
    lon.value = lo.toFixed(6);
    place(p.x, p.y);
    if (said) { said.textContent = "Point choisi : " + lat.value + ", " + lon.value; }
  });
}());
