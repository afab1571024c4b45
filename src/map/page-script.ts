// The map page's own style and script (served as /map/assets/map.css and map.js; kept as strings
// so the compiled build serves them without copying files). The script draws on Leaflet: a base
// layer (MAP_TILES_URL tiles, else US nation/state/county outlines from the us-atlas TopoJSON),
// then the feed's layers — zip centroids coloured by owning node, H3 citizen density, officers,
// established connections — with the layers control, a legend and a scale bar.
// Browser JavaScript: no backticks or dollar-brace sequences in here (this is a template string).

export const MAP_STYLE = `html,body{margin:0;height:100%;font:13px system-ui,sans-serif;background:#0b1118;color:#dde6ee}
#map{position:absolute;left:0;top:0;right:300px;bottom:0;background:#0b1118}
#side{position:absolute;top:0;right:0;width:300px;bottom:0;overflow:auto;background:#16212c;border-left:1px solid #26323f;padding:12px;box-sizing:border-box}
h1{font-size:15px;margin:0 0 8px}h2{font-size:12px;text-transform:uppercase;color:#8aa0b4;margin:14px 0 6px}
.big{font-size:22px;font-weight:600}.row{display:flex;gap:18px}.muted{color:#8aa0b4}
ul{list-style:none;margin:0;padding:0}li{padding:3px 0;border-bottom:1px solid #223040}
.sw{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:6px;vertical-align:middle}
.sw.officer{background:#4da3ff;border-radius:5px}.sw.cell{background:rgba(255,170,60,.6)}
.sw.zip{background:#fff;border-radius:5px}.sw.conn{background:none;border:2px solid #6fd08c;border-radius:6px;width:7px;height:7px}
.sw.state{background:none;border-top:2px solid #7d97b3;border-radius:0;height:0}.sw.county{background:none;border-top:1px solid #3a4f63;border-radius:0;height:0}
#status.ok{color:#6fd08c}#status.bad{color:#ff7a7a}
.legend{background:rgba(22,33,44,.92);color:#dde6ee;padding:8px 10px;border-radius:4px;line-height:18px;font-size:12px}
.legend b{display:block;margin-bottom:2px}.legend .note{color:#ffd24d}
.leaflet-container{background:#0b1118;font:12px system-ui,sans-serif}
.leaflet-control-attribution{background:rgba(22,33,44,.8)!important;color:#8aa0b4}.leaflet-control-attribution a{color:#9cc3ff}
.leaflet-control-scale-line{background:rgba(22,33,44,.8);color:#dde6ee;border-color:#8aa0b4}
.leaflet-tooltip{background:#16212c;color:#dde6ee;border-color:#34475a}
`;

export const MAP_SCRIPT = `(function(){
'use strict';
var NODE_COLORS=['#ffffff','#ff6bd6','#ffd24d','#7cf0ff','#b48cff','#9dff7c'];
var UNOWNED='#667788';
var params=new URLSearchParams(location.search);
var token=params.get('token')||'';
// Keep the token out of the address bar, history and screenshots.
if(params.has('token')){params.delete('token');history.replaceState(null,'',location.pathname+(params.toString()?'?'+params:'')+location.hash);}
var num=function(k,d){var v=parseFloat(params.get(k));return isFinite(v)?v:d;};
var tiles=document.body.dataset.tiles||'';

var map=L.map('map',{minZoom:3,maxZoom:18,zoomSnap:0.5,worldCopyJump:false})
  .setView([num('lat',40.74),num('lng',-73.97)],num('z',11));
L.control.scale({imperial:true,metric:true,maxWidth:160}).addTo(map);
// Outlines and zip dots are many small shapes: canvas. Officers, cells and connections: SVG
// elements (one per marker, each named by data-id), few enough and easy to inspect.
map.createPane('outlines').style.zIndex=250;
map.createPane('zips').style.zIndex=350;
var canvas=L.canvas({pane:'zips',padding:0.5});

var base;
if(tiles){
  base=L.tileLayer(tiles,{attribution:document.body.dataset.attribution||'',maxZoom:19,crossOrigin:false});
}else{
  base=L.layerGroup([],{attribution:'US outlines: Census Bureau cartographic boundaries (us-atlas)'});
  fetch('/map/assets/us-10m.json').then(function(r){return r.json();}).then(function(us){
    var o={pane:'outlines',renderer:L.canvas({pane:'outlines',padding:0.5}),interactive:false};
    var st=function(s){for(var k in o)s[k]=o[k];return s;};
    L.geoJSON(topojson.feature(us,us.objects.nation),st({style:{stroke:false,fill:true,fillColor:'#16222e',fillOpacity:1}})).addTo(base);
    // County borders inside a state (the first two digits of a county FIPS id are its state).
    L.geoJSON(topojson.mesh(us,us.objects.counties,function(a,b){return a!==b&&a.id.slice(0,2)===b.id.slice(0,2);}),
      st({style:{color:'#3a4f63',weight:0.8,opacity:1,fill:false}})).addTo(base);
    // State borders and the coastline (the nation's outer edge).
    L.geoJSON(topojson.mesh(us,us.objects.states,function(a,b){return a!==b;}),st({style:{color:'#7d97b3',weight:1.6,opacity:1,fill:false}})).addTo(base);
    L.geoJSON(topojson.mesh(us,us.objects.nation),st({style:{color:'#7d97b3',weight:1.6,opacity:1,fill:false}})).addTo(base);
    document.body.dataset.outlines='drawn';
  }).catch(function(e){document.body.dataset.outlines='failed';console.error('outlines unavailable',e);});
}
base.addTo(map);

var zipLayer=L.layerGroup().addTo(map),cellLayer=L.layerGroup().addTo(map),officerLayer=L.layerGroup().addTo(map),connLayer=L.layerGroup().addTo(map);
var baseName=tiles?'Map tiles':'US states and counties';var bases={};bases[baseName]=base;
L.control.layers(bases,{'Zip shards (by node)':zipLayer,'Citizen density (H3)':cellLayer,'Officers':officerLayer,'Connections':connLayer},{position:'topright'}).addTo(map);

var legend=L.control({position:'bottomleft'});
var zoomNote;
legend.onAdd=function(){
  var d=L.DomUtil.create('div','legend');
  var rows=[['officer','available officer'],['cell','citizens per H3 cell (darker: more)'],['zip','zip centroid, colour of its node'],['conn','established connection']];
  if(!tiles)rows.push(['state','state border, coastline'],['county','county border']);
  var b=document.createElement('b');b.textContent='Legend';d.appendChild(b);
  rows.forEach(function(r){var row=document.createElement('div');var s=document.createElement('span');s.className='sw '+r[0];row.appendChild(s);row.appendChild(document.createTextNode(r[1]));d.appendChild(row);});
  zoomNote=document.createElement('div');zoomNote.className='note';d.appendChild(zoomNote);
  L.DomEvent.disableClickPropagation(d);
  return d;
};
legend.addTo(map);

var ws=null,flashes={},nodeColor={},lastZips='',lastCells='';
function viewport(){var b=map.getBounds();var c=function(x,lo,hi){return Math.max(lo,Math.min(hi,x));};
  return {t:'view',w:c(b.getWest(),-180,180),s:c(b.getSouth(),-85,85),e:c(b.getEast(),-180,180),n:c(b.getNorth(),-85,85)};}
var viewTimer=null;
function sendView(){if(viewTimer)return;viewTimer=setTimeout(function(){viewTimer=null;if(ws&&ws.readyState===1&&ws.authed)ws.send(JSON.stringify(viewport()));},150);}
map.on('moveend zoomend resize',sendView);
function tag(layer,name,value){var el=layer.getElement&&layer.getElement();if(el)el.setAttribute(name,value);return layer;}

function drawZips(zips){
  var key=zips===null?'null':zips.length+':'+zips.map(function(z){return z[0]+z[3];}).join(',');
  if(key===lastZips)return;lastZips=key;
  zipLayer.clearLayers();
  zoomNote.textContent=zips===null?'zoom in to see zip shards':'';
  (zips||[]).forEach(function(z){
    L.circleMarker([z[1],z[2]],{renderer:canvas,radius:2.5,stroke:false,fillColor:nodeColor[z[3]]||UNOWNED,fillOpacity:0.7,interactive:false}).addTo(zipLayer);});
}
function drawCells(cells){
  var key=JSON.stringify(cells);if(key===lastCells)return;lastCells=key;
  cellLayer.clearLayers();
  var max=1;(cells||[]).forEach(function(c){if(c.n>max)max=c.n;});
  (cells||[]).forEach(function(c){
    var p=L.polygon(c.b,{color:'#ffaa3c',weight:1,opacity:0.8,fillColor:'#ffaa3c',fillOpacity:0.15+0.6*c.n/max,className:'beacon-cell'}).bindTooltip(c.n+' citizens').addTo(cellLayer);
    tag(p,'data-n',String(c.n));});
}
function drawOfficers(officers){
  officerLayer.clearLayers();
  (officers||[]).forEach(function(o){
    tag(L.circleMarker([o[1],o[2]],{radius:6,color:'#0b1118',weight:1.5,fillColor:'#4da3ff',fillOpacity:1,className:'beacon-officer'}).bindTooltip(o[0]).addTo(officerLayer),'data-id',o[0]);});
}
function drawConnections(conns){
  connLayer.clearLayers();
  var now=Date.now();
  conns.forEach(function(c){if(c.lat===null)return;var age=(now-(flashes[c.id]||0))/1000;
    tag(L.circleMarker([c.lat,c.lng],{radius:age<3?8+age*6:8,color:'#6fd08c',weight:age<3?3:1.5,fill:false,className:'beacon-conn'}).bindTooltip(c.officerId+' \\u21c4 '+c.citizenId).addTo(connLayer),'data-id',c.id);});
}
function li(){return document.createElement('li');}
function span(cls,text){var e=document.createElement(cls==='b'?'b':'span');if(cls!=='b')e.className=cls;e.textContent=text;return e;}
var last=null;
function render(m){
  last=m;
  document.getElementById('officer-count').textContent=m.officerTotal===null?'n/a':String(m.officerTotal);
  document.getElementById('citizen-count').textContent=m.citizenTotal===null?'n/a':String(m.citizenTotal);
  document.getElementById('mode').textContent=m.mode==='embedded'?'embedded mode: live index':'distributed: orchestrator view (no live positions)';
  var nl=document.getElementById('nodes');nl.textContent='';
  m.nodes.forEach(function(n,i){nodeColor[n.id]=NODE_COLORS[i%NODE_COLORS.length];var e=li();var sw=span('sw','');sw.style.background=nodeColor[n.id];
    e.appendChild(sw);e.appendChild(span('b',n.id));e.appendChild(document.createTextNode(' '));e.appendChild(span('muted','sockets: '+n.officers+' officers, '+n.citizens+' citizens'));nl.appendChild(e);});
  var cl=document.getElementById('connections');
  m.connections.slice().reverse().forEach(function(c){if(flashes[c.id])return;flashes[c.id]=Date.now();var none=document.getElementById('no-conn');if(none)none.remove();
    var e=li();e.className='conn';e.dataset.id=c.id;e.appendChild(span('b',c.officerId));e.appendChild(document.createTextNode(' \\u21c4 '+c.citizenId+' '));
    e.appendChild(span('muted',new Date(c.at).toLocaleTimeString()+' \\u00b7 '+c.zip));cl.insertBefore(e,cl.firstChild);});
  drawZips(m.zips);drawCells(m.cells);drawOfficers(m.officers);drawConnections(m.connections);
  document.body.dataset.frameAt=String(m.at);
}
// Connection rings shrink back after their flash.
setInterval(function(){if(last&&last.connections.some(function(c){return Date.now()-(flashes[c.id]||0)<3500;}))drawConnections(last.connections);},250);
function connect(){
  var s=document.getElementById('status');
  ws=new WebSocket((location.protocol==='https:'?'wss://':'ws://')+location.host+'/map/feed');
  ws.onopen=function(){ws.send(JSON.stringify({t:'auth',token:token}));};
  ws.onmessage=function(ev){var m;try{m=JSON.parse(ev.data);}catch(e){return;}
    if(m.t==='hello'){ws.authed=true;s.textContent='live \\u00b7 '+m.operator;s.className='ok';ws.send(JSON.stringify(viewport()));}
    else if(m.t==='state')render(m);};
  ws.onclose=function(ev){s.className='bad';if(ev.code===4401){s.textContent='not authorized: open /map?token=<operator token>';return;}s.textContent='disconnected, retrying\\u2026';setTimeout(connect,2000);};
}
connect();
})();
`;
