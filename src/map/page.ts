// The operations map page: one self-contained HTML document (no CDN, no tiles, no bundle), drawn
// on a canvas in Web Mercator with drag-to-pan and wheel/button zoom. Kept as a string so the
// compiled build (dist/) serves it without copying assets.
export const MAP_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Beacon — operations map</title>
<meta name="viewport" content="width=device-width,initial-scale=1">
<style>
html,body{margin:0;height:100%;font:13px system-ui,sans-serif;background:#0f1720;color:#dde6ee}
#map{position:absolute;left:0;top:0;width:calc(100% - 300px);height:100%;cursor:grab;display:block}
#side{position:absolute;top:0;right:0;width:300px;bottom:0;overflow:auto;background:#16212c;border-left:1px solid #26323f;padding:12px;box-sizing:border-box}
h1{font-size:15px;margin:0 0 8px}h2{font-size:12px;text-transform:uppercase;color:#8aa0b4;margin:14px 0 6px}
.big{font-size:22px;font-weight:600}.row{display:flex;gap:18px}.muted{color:#8aa0b4}
ul{list-style:none;margin:0;padding:0}li{padding:3px 0;border-bottom:1px solid #223040}
.sw{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:6px;vertical-align:middle}
#zoom{position:absolute;left:10px;top:10px}#zoom button{display:block;width:30px;height:30px;margin-bottom:4px;font-size:18px;background:#16212c;color:#dde6ee;border:1px solid #34475a;border-radius:4px}
#status.ok{color:#6fd08c}#status.bad{color:#ff7a7a}
</style></head><body>
<canvas id="map"></canvas>
<div id="zoom"><button id="zin" title="zoom in">+</button><button id="zout" title="zoom out">−</button></div>
<div id="side">
<h1>Beacon operations map</h1>
<div id="status" class="bad">connecting…</div>
<div class="muted" id="mode"></div>
<div class="row"><div><h2>Officers</h2><div class="big" id="officer-count">–</div><div class="muted">available</div></div>
<div><h2>Citizens</h2><div class="big" id="citizen-count">–</div><div class="muted">per ~5 km² cell</div></div></div>
<h2>Processor nodes (zip shards)</h2><ul id="nodes"></ul>
<h2>Established connections</h2><ul id="connections"><li class="muted" id="no-conn">none yet</li></ul>
<h2>Legend</h2><div class="muted"><span class="sw" style="background:#4da3ff"></span>officer
<br><span class="sw" style="background:rgba(255,170,60,.6)"></span>citizens in an H3 cell (darker: more)
<br><span class="sw" style="background:#fff;border-radius:5px"></span>zip centroid, coloured by owning node
<br><span class="sw" style="background:#6fd08c;border-radius:5px"></span>established connection</div>
</div>
<script>
(function(){
'use strict';
var params=new URLSearchParams(location.search);
var token=params.get('token')||'';
// Keep the token out of the address bar, history and screenshots.
if(params.has('token')){params.delete('token');history.replaceState(null,'',location.pathname+(params.toString()?'?'+params:'')+location.hash);}
var cv=document.getElementById('map'),ctx=cv.getContext('2d');
var st={lat:+(params.get('lat')||40.74),lng:+(params.get('lng')||-73.97),z:+(params.get('z')||11)};
var data=null,ws=null,flashes={},NODE_COLORS=['#ffffff','#ff6bd6','#ffd24d','#7cf0ff','#b48cff','#9dff7c'];
var nodeColor={};
function px(lat,lng){var s=256*Math.pow(2,st.z);var x=(lng+180)/360*s;var sl=Math.sin(lat*Math.PI/180);var y=(0.5-Math.log((1+sl)/(1-sl))/(4*Math.PI))*s;return [x,y];}
function ll(x,y){var s=256*Math.pow(2,st.z);var lng=x/s*360-180;var n=Math.PI-2*Math.PI*y/s;return [180/Math.PI*Math.atan(0.5*(Math.exp(n)-Math.exp(-n))),lng];}
function center(){return px(st.lat,st.lng);}
function toScreen(lat,lng){var c=center(),p=px(lat,lng);return [p[0]-c[0]+cv.width/2,p[1]-c[1]+cv.height/2];}
function viewport(){var c=center();var nw=ll(c[0]-cv.width/2,c[1]-cv.height/2),se=ll(c[0]+cv.width/2,c[1]+cv.height/2);
 return {t:'view',w:Math.max(-180,nw[1]),n:Math.min(85,nw[0]),e:Math.min(180,se[1]),s:Math.max(-85,se[0])};}
var viewTimer=null;
function sendView(){if(viewTimer)return;viewTimer=setTimeout(function(){viewTimer=null;if(ws&&ws.readyState===1&&ws.authed)ws.send(JSON.stringify(viewport()));},150);}
function resize(){cv.width=cv.clientWidth;cv.height=cv.clientHeight;draw();sendView();}
function draw(){
 ctx.fillStyle='#0f1720';ctx.fillRect(0,0,cv.width,cv.height);
 // graticule: orientation without tiles
 ctx.strokeStyle='#1c2935';ctx.lineWidth=1;var step=st.z>=12?0.01:st.z>=9?0.1:st.z>=6?1:10;
 var vp=viewport();for(var g=Math.ceil(vp.w/step)*step;g<=vp.e;g+=step){var a=toScreen(0,g);ctx.beginPath();ctx.moveTo(a[0],0);ctx.lineTo(a[0],cv.height);ctx.stroke();}
 for(var h=Math.ceil(vp.s/step)*step;h<=vp.n;h+=step){var b=toScreen(h,0);ctx.beginPath();ctx.moveTo(0,b[1]);ctx.lineTo(cv.width,b[1]);ctx.stroke();}
 if(!data)return;
 var max=1;(data.cells||[]).forEach(function(c){if(c.n>max)max=c.n;});
 (data.cells||[]).forEach(function(c){ctx.beginPath();c.b.forEach(function(p,i){var s=toScreen(p[0],p[1]);i?ctx.lineTo(s[0],s[1]):ctx.moveTo(s[0],s[1]);});ctx.closePath();
  ctx.fillStyle='rgba(255,170,60,'+(0.15+0.6*c.n/max).toFixed(2)+')';ctx.fill();ctx.strokeStyle='rgba(255,170,60,.8)';ctx.stroke();});
 (data.zips||[]).forEach(function(z){var s=toScreen(z[1],z[2]);ctx.fillStyle=nodeColor[z[3]]||'#667';ctx.globalAlpha=.55;ctx.fillRect(s[0]-1.5,s[1]-1.5,3,3);ctx.globalAlpha=1;
  if(st.z>=14){ctx.fillStyle='#7f93a6';ctx.font='10px system-ui';ctx.fillText(z[0],s[0]+3,s[1]-3);}});
 (data.officers||[]).forEach(function(o){var s=toScreen(o[1],o[2]);ctx.beginPath();ctx.arc(s[0],s[1],5,0,7);ctx.fillStyle='#4da3ff';ctx.fill();ctx.strokeStyle='#0f1720';ctx.stroke();
  if(st.z>=13){ctx.fillStyle='#cfe6ff';ctx.font='11px system-ui';ctx.fillText(o[0],s[0]+7,s[1]+4);}});
 var now=Date.now();(data.connections||[]).forEach(function(c){if(c.lat===null)return;var age=(now-(flashes[c.id]||0))/1000;var s=toScreen(c.lat,c.lng);
  ctx.beginPath();ctx.arc(s[0],s[1],age<3?8+age*6:8,0,7);ctx.strokeStyle='#6fd08c';ctx.lineWidth=age<3?3:1.5;ctx.stroke();ctx.lineWidth=1;});
 if(data.zips===null){ctx.fillStyle='#8aa0b4';ctx.font='12px system-ui';ctx.fillText('zoom in to see zip shards',50,cv.height-14);}
}
function li(html){var e=document.createElement('li');e.innerHTML=html;return e;}
function esc(s){return String(s).replace(/[&<>"']/g,function(c){return '&#'+c.charCodeAt(0)+';';});}
function render(m){
 data=m;
 document.getElementById('officer-count').textContent=m.officerTotal===null?'n/a':String(m.officerTotal);
 document.getElementById('citizen-count').textContent=m.citizenTotal===null?'n/a':String(m.citizenTotal);
 document.getElementById('mode').textContent=m.mode==='embedded'?'embedded mode: live index':'distributed: orchestrator view (no live positions)';
 var nl=document.getElementById('nodes');nl.innerHTML='';
 m.nodes.forEach(function(n,i){nodeColor[n.id]=NODE_COLORS[i%NODE_COLORS.length];nl.appendChild(li('<span class="sw" style="background:'+nodeColor[n.id]+'"></span><b>'+esc(n.id)+'</b> <span class="muted">sockets: '+n.officers+' officers, '+n.citizens+' citizens</span>'));});
 var cl=document.getElementById('connections');
 m.connections.slice().reverse().forEach(function(c){if(flashes[c.id])return;flashes[c.id]=Date.now();var none=document.getElementById('no-conn');if(none)none.remove();
  var e=li('<b>'+esc(c.officerId)+'</b> ⇄ '+esc(c.citizenId)+' <span class="muted">'+new Date(c.at).toLocaleTimeString()+' · '+esc(c.zip)+'</span>');e.className='conn';e.dataset.id=c.id;cl.insertBefore(e,cl.firstChild);});
 draw();
}
function connect(){
 var s=document.getElementById('status');
 ws=new WebSocket((location.protocol==='https:'?'wss://':'ws://')+location.host+'/map/feed');
 ws.onopen=function(){ws.send(JSON.stringify({t:'auth',token:token}));};
 ws.onmessage=function(ev){var m;try{m=JSON.parse(ev.data);}catch(e){return;}
  if(m.t==='hello'){ws.authed=true;s.textContent='live · '+m.operator;s.className='ok';ws.send(JSON.stringify(viewport()));}
  else if(m.t==='state')render(m);};
 ws.onclose=function(ev){s.className='bad';if(ev.code===4401){s.textContent='not authorized: open /map?token=<operator token>';return;}s.textContent='disconnected, retrying…';setTimeout(connect,2000);};
}
var drag=null;
cv.addEventListener('mousedown',function(e){drag=[e.clientX,e.clientY];cv.style.cursor='grabbing';});
window.addEventListener('mouseup',function(){drag=null;cv.style.cursor='grab';});
window.addEventListener('mousemove',function(e){if(!drag)return;var c=center();var p=ll(c[0]-(e.clientX-drag[0]),c[1]-(e.clientY-drag[1]));st.lat=p[0];st.lng=p[1];drag=[e.clientX,e.clientY];draw();sendView();});
function zoom(d,sx,sy){var before=null;if(sx!==undefined){var c=center();before=ll(c[0]+sx-cv.width/2,c[1]+sy-cv.height/2);}
 st.z=Math.max(3,Math.min(17,st.z+d));
 if(before){var c2=center(),p=px(before[0],before[1]);var nc=ll(p[0]-(sx-cv.width/2),p[1]-(sy-cv.height/2));st.lat=nc[0];st.lng=nc[1];}
 draw();sendView();}
cv.addEventListener('wheel',function(e){e.preventDefault();var r=cv.getBoundingClientRect();zoom(e.deltaY<0?0.5:-0.5,e.clientX-r.left,e.clientY-r.top);},{passive:false});
document.getElementById('zin').onclick=function(){zoom(1);};document.getElementById('zout').onclick=function(){zoom(-1);};
window.addEventListener('resize',resize);
setInterval(draw,250);
resize();connect();
})();
</script></body></html>
`;
