// The gpudev dashboard: four pages (cluster, mine, usage, admin) drawn from the same /v1 routes the CLI uses,
// with the session cookie the login link set. No build step, no library, nothing from elsewhere: the
// page polls every 2 seconds and redraws only what changed. Text is always set as text, never as HTML.
"use strict";
(function () {
  var POLL_MS = 2000;
  var HISTORY_MS = 60000;
  var me = null;
  var csrf = null;
  var page = pageOf(location.pathname);
  var drawn = {};
  var historyAt = 0;
  var timer = null;

  function pageOf(path) {
    if (path.indexOf("/ui/mine") === 0) return "mine";
    if (path.indexOf("/ui/admin") === 0) return "admin";
    if (path.indexOf("/ui/usage") === 0) return "usage";
    return "cluster";
  }

  // --- DOM helpers -------------------------------------------------------------------------------
  function el(tag, attrs) {
    var e = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) {
        var v = attrs[k];
        if (v === null || v === undefined || v === false) return;
        if (k === "text") e.textContent = v;
        else if (k === "class") e.className = v;
        else if (k.indexOf("on") === 0) e.addEventListener(k.substring(2), v);
        else e.setAttribute(k, v === true ? "" : v);
      });
    }
    for (var i = 2; i < arguments.length; i++) add(e, arguments[i]);
    return e;
  }

  // Children: nodes, text, and lists of them (nested lists too); nothing for null, undefined or false.
  function add(parent, c) {
    if (c === null || c === undefined || c === false) return;
    if (Array.isArray(c)) c.forEach(function (x) { add(parent, x); });
    else parent.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
  }

  // An SVG element (charts): attributes set as attributes, text as text.
  function svgEl(tag, attrs, text) {
    var e = document.createElementNS("http://www.w3.org/2000/svg", tag);
    Object.keys(attrs).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function table(caption, head, rows, empty) {
    if (!rows.length) return el("p", {class: "empty"}, empty || "Nothing here.");
    return el("div", {class: "scroll", tabindex: "0", role: "region", "aria-label": caption},
      el("table", null, el("caption", {text: caption}),
        el("thead", null, el("tr", null, head.map(function (h) { return el("th", {scope: "col", text: h}); }))),
        el("tbody", null, rows.map(function (r) {
          return el("tr", null, r.map(function (c) { return el("td", null, c === null || c === undefined ? "—" : c); }));
        }))));
  }

  // Redraws a region only when its data changed, and gives focus back to what had it (keyboard users).
  function region(id, data, draw) {
    var key = JSON.stringify(data);
    var node = document.getElementById(id);
    if (!node || drawn[id] === key) return;
    var focused = document.activeElement && document.activeElement.getAttribute("data-key");
    var values = {};
    node.querySelectorAll("select[data-key], input[data-key]").forEach(function (f) { values[f.getAttribute("data-key")] = f.value; });
    var fresh = draw(data);
    fresh.id = id;
    fresh.querySelectorAll("select[data-key], input[data-key]").forEach(function (f) {
      var v = values[f.getAttribute("data-key")];
      if (v !== undefined) f.value = v;
    });
    node.replaceWith(fresh);
    drawn[id] = key; // only once drawn: a drawing that failed is tried again, and its error stays shown
    if (focused) {
      var again = fresh.querySelector("[data-key='" + focused.replace(/'/g, "") + "']");
      if (again) again.focus();
    }
  }

  function say(message, kind) {
    var a = document.getElementById("alert");
    a.textContent = message || "";
    a.className = message ? (kind || "error") : "";
  }

  // --- time and numbers --------------------------------------------------------------------------
  // One format for every time on a page: the viewer's locale and time zone, the zone said.
  function time(iso) {
    if (!iso) return null;
    var d = new Date(iso);
    var now = new Date();
    var hm = d.toLocaleTimeString([], {hour: "2-digit", minute: "2-digit", timeZoneName: "short"});
    if (d.toDateString() === now.toDateString()) return hm;
    return d.toLocaleDateString([], {month: "short", day: "numeric"}) + " " + hm;
  }

  // The server's sentences carry ISO times ("expected to start 2026-12-03T14:00:00Z"): shown as every other time.
  function humanize(text) {
    if (!text) return text;
    return String(text).replace(/\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?Z/g, function (m) { return time(m); });
  }

  function left(iso) {
    if (!iso) return null;
    var m = Math.round((new Date(iso).getTime() - Date.now()) / 60000);
    if (m <= 0) return "ending";
    if (m < 60) return m + (m === 1 ? " minute" : " minutes");
    var h = Math.floor(m / 60);
    return h + " h " + (m % 60) + " min";
  }

  // The scheduler's reasons (codes on the wire, as the original API had them) in words.
  var REASONS = {
    WAITING_FOR_CAPACITY: "waiting for GPUs to free up",
    USER_GPU_LIMIT: "its owner holds their GPU limit",
    WAITING_FOR_DISK: "its disk is in use by another of its owner's reservations",
    BOOKED: "booked ahead: its GPUs are kept for its window",
    NO_CAPACITY_OF_TYPE: "no node of this type can hold it"
  };

  function reason(code) {
    return code ? (REASONS[code] || code) : null;
  }

  function plural(n, one, many) {
    return n + " " + (n === 1 ? one : many);
  }

  // --- the API -----------------------------------------------------------------------------------
  function api(method, path, body) {
    var headers = {"Accept": "application/json"};
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (method !== "GET" && csrf) headers["X-CSRF-Token"] = csrf;
    return fetch(path, {method: method, credentials: "same-origin", headers: headers,
      body: body === undefined ? undefined : JSON.stringify(body)}).then(function (r) {
      if (r.status === 204) return null;
      return r.json().catch(function () { return {}; }).then(function (b) {
        if (!r.ok) {
          var e = new Error(b && b.message ? b.message : "the server answered " + r.status);
          e.status = r.status;
          throw e;
        }
        return b;
      });
    });
  }

  function loggedOut(message) {
    stop();
    document.getElementById("view").replaceChildren(el("section", {class: "login"},
      el("h1", {text: "Not logged in"}),
      el("p", null, message || "Your dashboard session ended."),
      el("p", null, "Run ", el("code", {text: "gpu-dev dashboard"}), " and open the link it prints.")));
  }

  function failed(e) {
    if (e.status === 401) loggedOut(e.message);
    else if (e.status === 403 && page === "admin") refused(e.message);
    else say(e.message);
  }

  // The server refuses the admin routes to others; the page says so instead of drawing empty tables.
  function refused(message) {
    stop();
    document.getElementById("view").replaceChildren(el("section", {class: "refused"},
      el("h1", {text: "Admin"}), el("p", {text: "Refused: " + message})));
  }

  var pollFailed = false;

  function pollError(e) {
    if (!e.status && window.console) console.error(e);
    failed(e);
    pollFailed = e.status !== 401;
  }

  // --- cluster page ------------------------------------------------------------------------------
  function cluster() {
    var view = document.getElementById("view");
    if (!document.getElementById("types")) {
      view.replaceChildren(
        el("h1", {text: "Cluster"}),
        el("p", {class: "legend"}, el("span", {class: "gpu free sample", "aria-hidden": "true"}, "free"), " free  ",
          el("span", {class: "gpu held sample", "aria-hidden": "true"}, "user"), " held  ",
          el("span", {class: "gpu held mine sample", "aria-hidden": "true"}, "you"), " yours (marked ★; shared with you ☆)"),
        el("div", {id: "types"}),
        el("section", {"aria-labelledby": "chart-title"}, el("h2", {id: "chart-title", text: "GPUs in use and waiting, last 24 hours"}),
          el("div", {id: "chart"})));
    }
    var occupancy = api("GET", "/v1/cluster/occupancy").then(function (o) {
      region("types", o.gpu_types, drawTypes);
    });
    // The chart (a minute's resolution) is fetched once a minute, beside the poll: the grid never waits for it.
    if (Date.now() - historyAt > HISTORY_MS) {
      historyAt = Date.now();
      api("GET", "/v1/cluster/history?hours=24").then(function (h) {
        region("chart", h.samples, function (s) { return chart(s, h.since); });
      }).catch(pollError);
    }
    return occupancy;
  }

  function drawTypes(types) {
    if (!types.length) return el("div", null, el("p", {class: "empty", text: "No GPUs yet: the processor has not published any nodes."}));
    return el("div", null, types.map(function (t) {
      var title = t.gpu_type.toUpperCase();
      return el("section", {class: "type", "aria-labelledby": "type-" + t.gpu_type},
        el("h2", {id: "type-" + t.gpu_type}, title),
        el("p", {class: "figures"},
          el("strong", {text: t.in_use + " of " + t.total}), " GPUs in use · ",
          el("strong", {text: String(t.available)}), " available · ",
          el("strong", {text: String(t.queued)}), " waiting (" + plural(t.queued_gpus, "GPU", "GPUs") + ") · at most "
          + t.max_per_node + " per node"),
        el("div", {class: "nodes"}, t.nodes.map(node)),
        yours(t),
        el("h3", {text: "Queue"}),
        queue(t),
        booked(t));
    }));
  }

  function node(n) {
    var free = n.gpus.filter(function (g) { return !g.holder; }).length;
    return el("figure", {class: "node"},
      el("figcaption", null, el("span", {class: "node-name", text: n.name}), " " + free + " of " + n.gpus.length + " free"),
      el("ol", {class: "gpus"}, n.gpus.map(function (g) {
        var h = g.holder;
        if (!h) return el("li", {class: "gpu free", "data-gpu": n.name + "/" + g.index},
          el("span", {class: "idx", text: "GPU " + g.index}), el("span", {class: "who", text: "free"}));
        var label = h.user + (h.name ? " · " + h.name : "");
        var until = h.status === "preparing" ? "starting" : h.expires_at ? "until " + time(h.expires_at) : "";
        return el("li", {class: "gpu held" + (h.mine ? " mine" : h.shared ? " shared" : ""), "data-gpu": n.name + "/" + g.index,
            title: label + (until ? " (" + until + ")" : "")},
          el("span", {class: "idx", text: "GPU " + g.index}),
          el("span", {class: "who", text: (h.mine ? "★ " : h.shared ? "☆ " : "") + label}),
          el("span", {class: "until", text: until}));
      })));
  }

  // The caller's own reservations of this type (held or waiting), with the same actions as on "Mine".
  function yours(t) {
    var seen = {};
    var own = [];
    var byJob = {};
    t.nodes.forEach(function (n) {
      n.gpus.forEach(function (g) {
        var h = g.holder;
        if (!h || !h.job_id || !h.mine) return;
        var o = byJob[h.job_id];
        if (!o) {
          seen[h.job_id] = true;
          o = byJob[h.job_id] = {h: h, nodes: [], gpus: 0};
          own.push(o);
        }
        o.gpus++; // a distributed reservation holds GPUs on several nodes: all of them count
        if (o.nodes.indexOf(n.name) < 0) o.nodes.push(n.name);
      });
    });
    own.forEach(function (o) {
      o.node = o.nodes.length === 1 ? o.nodes[0] : o.nodes.length + " nodes (" + o.nodes.join(", ") + ")";
    });
    t.queue.forEach(function (q) {
      if (q.job_id && q.mine && !seen[q.job_id]) {
        seen[q.job_id] = true;
        own.push({h: q, node: null, gpus: q.gpu_count});
      }
    });
    if (!own.length) return null;
    return el("div", {class: "yours"}, el("h3", {text: "Yours"}), el("ul", null, own.map(function (o) {
      var h = o.h;
      var j = {job_id: h.job_id, name: h.name, user: h.user};
      var where = o.node ? o.gpus + " GPU" + (o.gpus === 1 ? "" : "s") + " on " + o.node
        + (h.status === "active" && h.expires_at ? ", until " + time(h.expires_at) + " (" + left(h.expires_at) + " left)" : ", starting")
        : "waiting, position " + (h.position === null ? "—" : h.position);
      return el("li", {"data-job": h.job_id}, el("strong", {text: h.name || h.job_id.substring(0, 8)}), " " + where + " ",
        h.status === "active" ? el("button", {type: "button", "data-key": "extend1-" + h.job_id, "data-action": "extend",
          onclick: function () { act(j, "extend", {extension_hours: 1}); }}, "Extend 1 h") : null, " ",
        el("button", {type: "button", class: "danger", "data-key": "cancel-" + h.job_id, "data-action": "cancel",
          onclick: function () {
            if (confirm("Cancel " + (h.name || h.job_id.substring(0, 8)) + "? Its environment ends now.")) act(j, "cancel");
          }}, "Cancel"));
    })));
  }

  function queue(t) {
    var rows = t.queue.map(function (q) {
      return [String(q.position === null ? "—" : q.position), (q.mine ? "★ " : q.shared ? "☆ " : "") + q.user, q.name, String(q.gpu_count),
        time(q.created_at), q.estimated_start_at ? time(q.estimated_start_at) : "unknown", reason(q.pending_reason)];
    });
    var table1 = table("Waiting for " + t.gpu_type.toUpperCase(), ["#", "User", "Name", "GPUs", "Since", "Estimated start", "Why waiting"],
      rows, "Nobody is waiting.");
    var more = t.queued - t.queue.length;
    return el("div", {class: "queue"}, table1, more > 0 ? el("p", {class: "more", text: "… and " + more + " more waiting."}) : null);
  }

  // Windows booked ahead (reserve --start-at) on a timeline from now to the last one's end, with a table of the same.
  function booked(t) {
    var b = t.bookings || [];
    if (!b.length) return null;
    var W = 720, L = 8, R = 8, row = 22, H = 24 + row * b.length;
    var start = Date.now();
    var end = Math.max.apply(null, b.map(function (x) { return new Date(x.end_at).getTime(); }));
    function x(ms) { return L + (W - L - R) * (ms - start) / Math.max(1, end - start); }
    var s = svgEl;
    var summary = b.length + " window" + (b.length === 1 ? "" : "s") + " booked ahead on " + t.gpu_type.toUpperCase()
      + ", the first from " + time(b[0].start_at) + ".";
    var svg = s("svg", {viewBox: "0 0 " + W + " " + H, role: "img", "aria-label": summary, class: "chart timeline"});
    svg.appendChild(s("text", {x: L, y: 14, class: "axis"}, "now"));
    svg.appendChild(s("text", {x: W - R, y: 14, "text-anchor": "end", class: "axis"}, time(new Date(end).toISOString())));
    b.forEach(function (w, i) {
      var x0 = x(new Date(w.start_at).getTime()), x1 = x(new Date(w.end_at).getTime());
      var y = 20 + i * row;
      svg.appendChild(s("rect", {x: x0.toFixed(1), y: y, width: Math.max(2, x1 - x0).toFixed(1), height: row - 6,
        class: "booking" + (w.mine ? " mine" : "") + (w.on_time ? "" : " late")}));
      svg.appendChild(s("text", {x: (x0 + 4).toFixed(1), y: y + row - 10, class: "booking-label"},
        (w.mine ? "★ " : "") + w.user + (w.name ? " · " + w.name : "") + " · " + w.gpu_count + " GPUs"));
    });
    var rows = b.map(function (w) {
      return [(w.mine ? "★ " : "") + w.user, w.name || "", String(w.gpu_count), time(w.start_at), time(w.end_at),
        (w.nodes || []).join(", ") || "—", w.on_time ? "kept" : "late: its GPUs are held past its start"];
    });
    return el("div", {class: "booked"}, el("h3", {text: "Booked ahead"}),
      el("figure", {class: "chart-box"}, svg, el("figcaption", null, summary)),
      table("Booked ahead on " + t.gpu_type.toUpperCase(), ["User", "Name", "GPUs", "From", "Until", "Nodes", "Window"], rows, ""));
  }

  // A line per series, in an inline SVG: GPUs in use (solid) and GPUs asked for by waiting reservations (dashed).
  function chart(samples, since) {
    var byMinute = {};
    samples.forEach(function (s) {
      var m = byMinute[s.at] || (byMinute[s.at] = {used: 0, queued: 0, total: 0});
      m.used += s.in_use; m.queued += s.queued_gpus; m.total += s.total;
    });
    var keys = Object.keys(byMinute).sort();
    var W = 720, H = 180, L = 40, B = 24;
    var start = new Date(since).getTime(), end = Date.now();
    var max = 1;
    keys.forEach(function (k) { max = Math.max(max, byMinute[k].used, byMinute[k].queued, byMinute[k].total); });
    function x(t) { return L + (W - L - 8) * (t - start) / Math.max(1, end - start); }
    function y(v) { return 8 + (H - B - 8) * (1 - v / max); }
    function path(f) {
      return keys.map(function (k, i) { return (i ? "L" : "M") + x(new Date(k).getTime()).toFixed(1) + " " + y(f(byMinute[k])).toFixed(1); }).join(" ");
    }
    var s = svgEl;
    var last = keys.length ? byMinute[keys[keys.length - 1]] : null;
    var summary = last ? "Now " + last.used + " of " + last.total + " GPUs in use and " + last.queued + " asked for by waiting reservations; "
      + "peak in use over the day " + Math.max.apply(null, keys.map(function (k) { return byMinute[k].used; })) + "."
      : "No samples yet: the processor records one a minute.";
    var svg = s("svg", {viewBox: "0 0 " + W + " " + H, role: "img", "aria-label": summary, class: "chart"});
    [0, 0.5, 1].forEach(function (f) {
      var v = Math.round(max * f);
      svg.appendChild(s("line", {x1: L, x2: W - 8, y1: y(v), y2: y(v), class: "grid"}));
      svg.appendChild(s("text", {x: L - 6, y: y(v) + 4, "text-anchor": "end", class: "axis"}, String(v)));
    });
    for (var h = 0; h <= 24; h += 6) {
      var t = start + h * 3600000;
      svg.appendChild(s("text", {x: x(t), y: H - 6, "text-anchor": "middle", class: "axis"},
        h === 24 ? "now" : new Date(t).toLocaleTimeString([], {hour: "2-digit", minute: "2-digit"})));
    }
    if (keys.length) {
      svg.appendChild(s("path", {d: path(function (m) { return m.total; }), class: "total"}));
      svg.appendChild(s("path", {d: path(function (m) { return m.used; }), class: "used"}));
      svg.appendChild(s("path", {d: path(function (m) { return m.queued; }), class: "queued"}));
      var k = keys[keys.length - 1];
      var at = x(new Date(k).getTime());
      svg.appendChild(s("circle", {cx: at, cy: y(byMinute[k].used), r: 4, class: "used-dot"}));
      svg.appendChild(s("rect", {x: at - 4, y: y(byMinute[k].queued) - 4, width: 8, height: 8, class: "queued-dot"}));
    }
    return el("figure", {class: "chart-box"}, svg,
      el("figcaption", null, el("span", {class: "key used-key", text: "— in use"}), " ",
        el("span", {class: "key queued-key", text: "- - waiting (GPUs asked for)"}), " ",
        el("span", {class: "key total-key", text: "··· total"}), el("br"), summary));
  }

  // --- my reservations ---------------------------------------------------------------------------
  function mine() {
    var view = document.getElementById("view");
    if (!document.getElementById("live")) {
      view.replaceChildren(el("h1", {text: "My reservations"}), el("div", {id: "live"}),
        el("h2", {text: "History"}), el("div", {id: "past"}),
        el("h2", {text: "My disks"}), el("div", {id: "disks"}));
    }
    return Promise.all([
      api("GET", "/v1/jobs?limit=100").then(function (j) {
        var live = j.jobs.filter(function (x) { return ["queued", "preparing", "active"].indexOf(x.status) >= 0; });
        var past = j.jobs.filter(function (x) { return live.indexOf(x) < 0; }).slice(0, 50);
        region("live", live, drawLive);
        region("past", past, drawPast);
      }),
      api("GET", "/v1/disks").then(function (d) { region("disks", d.disks, drawDisks); })
    ]);
  }

  function drawLive(jobs) {
    if (!jobs.length) return el("div", null, el("p", {class: "empty"}, "Nothing running or waiting. Reserve with ",
      el("code", {text: "gpu-dev reserve"}), "."));
    return el("div", {class: "cards"}, jobs.map(card));
  }

  function card(j) {
    var owner = me && (j.user === me.username || me.is_admin);
    var id = j.job_id.substring(0, 8);
    var facts = [
      ["Status", j.status + (j.current_detailed_status && j.status !== "active" ? ": " + humanize(j.current_detailed_status) : "")],
      ["GPUs", j.gpu_count + " × " + j.gpu_type.toUpperCase() + (j.distributed ? " (distributed)" : "")]
    ];
    if (j.user !== (me && me.username)) facts.push(["Owner", j.user + " (shared with you)"]);
    if (j.node) facts.push(["Node", (j.nodes || []).map(function (n) { return n.node; }).join(", ") || j.node]);
    if (j.status === "queued") {
      facts.push(["Queue position", j.queue_position === null ? "being placed" : String(j.queue_position)]);
      facts.push(["Estimated start", j.estimated_start_at ? time(j.estimated_start_at) : "unknown"]);
      if (j.pending_reason) facts.push(["Why waiting", reason(j.pending_reason)]);
    }
    if (j.status === "active") {
      facts.push(["Time left", left(j.expires_at) + " (until " + time(j.expires_at) + ")"]);
    }
    if (j.run) {
      // a batch run: what it runs (its owner sees the command) and how it stands
      facts.push(["Batch run", (j.run.state === "running" && j.run.command_line ? "running " + j.run.command_line : j.run.state)
        + (j.run.keep ? " (kept until its hours are up)" : "")]);
      facts.push(["Output", "gpu-dev logs " + (j.name || id) + " -f"]);
    }
    facts.push(["Duration", j.duration_hours + " h"]);
    var actions = null;
    if (owner) {
      var hours = el("select", {"aria-label": "Hours to add to " + (j.name || id), "data-key": "extend-hours-" + j.job_id},
        ["1", "2", "4", "8", "24"].map(function (h) { return el("option", {value: h, text: "+" + h + " h"}); }));
      actions = el("div", {class: "actions"},
        j.status === "active" ? hours : null,
        j.status === "active" ? el("button", {type: "button", "data-key": "extend-" + j.job_id, "data-action": "extend",
          onclick: function () { act(j, "extend", {extension_hours: Number(hours.value)}); }}, "Extend") : null,
        el("button", {type: "button", class: "danger", "data-key": "cancel-" + j.job_id, "data-action": "cancel",
          onclick: function () {
            if (confirm("Cancel " + (j.name || id) + "? Its environment ends now.")) act(j, "cancel");
          }}, "Cancel"));
    }
    return el("article", {class: "card status-" + j.status, "data-job": j.job_id, "aria-labelledby": "job-" + j.job_id},
      el("h3", {id: "job-" + j.job_id}, (j.name || "(no name)") + " ", el("span", {class: "id", text: id})),
      el("dl", null, facts.map(function (f) { return [el("dt", {text: f[0]}), el("dd", {text: f[1]})]; })),
      j.ssh_command ? el("div", {class: "ssh"}, el("code", {class: "ssh-command", text: j.ssh_command}),
        el("button", {type: "button", "data-key": "copy-" + j.job_id, onclick: function (e) { copy(j.ssh_command, e.target); }}, "Copy")) : null,
      actions);
  }

  function act(j, what, body) {
    say("");
    api("POST", "/v1/jobs/" + j.job_id + "/" + what, body === undefined ? {} : body).then(function (r) {
      say(r && r.message ? (j.name || j.job_id.substring(0, 8)) + ": " + r.message : "", "ok");
      drawn = {};
      tick();
    }).catch(failed);
  }

  function copy(text, button) {
    var done = function () { button.textContent = "Copied"; setTimeout(function () { button.textContent = "Copy"; }, 1500); };
    if (navigator.clipboard && window.isSecureContext) navigator.clipboard.writeText(text).then(done, function () { select(button); });
    else select(button);
  }

  function select(button) {
    var code = button.parentNode.querySelector("code");
    var range = document.createRange();
    range.selectNodeContents(code);
    var sel = window.getSelection();
    sel.removeAllRanges();
    sel.addRange(range);
    button.textContent = "Selected: press Ctrl+C";
  }

  function drawPast(jobs) {
    return table("Ended reservations", ["Name", "Id", "Status", "GPUs", "Created", "Ended because"], jobs.map(function (j) {
      var last = j.status_history && j.status_history.length ? j.status_history[j.status_history.length - 1] : null;
      return [j.name, j.job_id.substring(0, 8), j.run && j.run.state !== "waiting" ? j.status + ", " + j.run.state : j.status, j.gpu_count + " × " + j.gpu_type.toUpperCase(), time(j.created_at),
        humanize(j.failure_reason || (last && last.reason)) || null];
    }), "No ended reservations yet.");
  }

  function drawDisks(disks) {
    return table("Disks", ["Name", "Created", "Last used", "In use by"], disks.map(function (d) {
      return [d.name, time(d.created_at), time(d.last_used_at), d.in_use_by ? String(d.in_use_by).substring(0, 8) : "free"];
    }), "No disks yet: a reservation makes your default one.");
  }

  // --- admin -------------------------------------------------------------------------------------
  function admin() {
    var view = document.getElementById("view");
    if (!document.getElementById("users")) {
      var auditUser = el("input", {id: "audit-user", name: "username", autocomplete: "off"});
      var auditAction = el("input", {id: "audit-action", name: "action", autocomplete: "off", placeholder: "e.g. POST /v1/jobs/submit"});
      var auditSince = el("input", {id: "audit-since", name: "since", type: "datetime-local"});
      var inviteName = el("input", {id: "invite-user", name: "username", required: true, autocomplete: "off"});
      view.replaceChildren(el("h1", {text: "Admin"}),
        el("h2", {text: "Users"}), el("div", {id: "users"}),
        el("h2", {text: "Live API keys"}), el("div", {id: "keys"}),
        el("h2", {text: "Invitations"}),
        el("form", {class: "inline", onsubmit: function (e) {
          e.preventDefault();
          api("POST", "/v1/admin/invites", {username: inviteName.value.trim()}).then(function (r) {
            say("Invitation for " + r.username + " (give them this once; it is shown only now): gpu-dev login --token " + r.token, "ok");
            inviteName.value = "";
            tick();
          }).catch(failed);
        }}, el("label", {for: "invite-user", text: "Invite user"}), inviteName, el("button", {type: "submit", text: "Invite"})),
        el("div", {id: "invites"}),
        el("h2", {text: "Audit log"}),
        el("form", {class: "inline", onsubmit: function (e) { e.preventDefault(); drawn.audit = null; tick(); }},
          el("label", {for: "audit-user", text: "User"}), auditUser,
          el("label", {for: "audit-action", text: "Action"}), auditAction,
          el("label", {for: "audit-since", text: "Since"}), auditSince,
          el("button", {type: "submit", text: "Filter"})),
        el("div", {id: "audit"}));
    }
    var q = [];
    var u = document.getElementById("audit-user").value.trim();
    var a = document.getElementById("audit-action").value.trim();
    var s = document.getElementById("audit-since").value;
    if (u) q.push("username=" + encodeURIComponent(u));
    if (a) q.push("action=" + encodeURIComponent(a));
    if (s) q.push("since=" + encodeURIComponent(new Date(s).toISOString()));
    q.push("limit=200");
    return Promise.all([
      api("GET", "/v1/admin/users").then(function (r) { region("users", r.users, drawUsers); }),
      api("GET", "/v1/admin/keys").then(function (r) { region("keys", r.keys, drawKeys); }),
      api("GET", "/v1/admin/invites").then(function (r) { region("invites", r.invites, drawInvites); }),
      api("GET", "/v1/audit?" + q.join("&")).then(function (r) { region("audit", r.entries, drawAudit); })
    ]);
  }

  function drawUsers(users) {
    return table("Users", ["User", "Role", "Logs in with", "Live keys", "Last used", "Since"], users.map(function (u) {
      return [u.username + (u.is_active ? "" : " (disabled)"), u.is_admin ? "admin" : "user",
        u.login === "aws" ? "AWS (" + u.aws_principal + ")" : "token from an admin", String(u.live_keys), time(u.last_used_at),
        time(u.created_at)];
    }));
  }

  function drawKeys(keys) {
    return table("Live API keys", ["User", "Key", "Made", "Expires", "Last used", ""], keys.map(function (k) {
      return [k.username, k.key_prefix + "…", time(k.created_at), time(k.expires_at), time(k.last_used_at),
        el("button", {type: "button", class: "danger", "data-key": "revoke-" + k.key_id, onclick: function () {
          if (!confirm("Revoke " + k.username + "'s key " + k.key_prefix + "…? Their CLI must log in again.")) return;
          api("DELETE", "/v1/keys/" + k.key_id).then(function () { say("Key " + k.key_prefix + "… revoked.", "ok"); tick(); }).catch(failed);
        }}, "Revoke")];
    }), "No live keys.");
  }

  function drawInvites(invites) {
    return table("Invitations", ["For", "Admin", "By", "Made", "Expires", "State"], invites.map(function (i) {
      return [i.username, i.is_admin ? "yes" : "no", i.created_by, time(i.created_at), time(i.expires_at), i.state];
    }), "No invitations.");
  }

  function drawAudit(entries) {
    return table("Audit log", ["When", "User", "Action", "Target", "From", "Outcome"], entries.map(function (e) {
      return [time(e.at), e.username, e.action, e.target, e.client_address, String(e.outcome)];
    }), "No entries match.");
  }

  // --- usage and fair share ----------------------------------------------------------------------
  var usageAt = 0;
  var usageFor = null;
  var usageTeam = null;

  function usage() {
    var view = document.getElementById("view");
    if (!document.getElementById("usage")) {
      var parts = [el("h1", {text: "GPU usage, last 30 days"}), el("p", {id: "usage-teams"})];
      api("GET", "/v1/teams").then(function (r) {
        var box = document.getElementById("usage-teams");
        if (!box || !r.teams.length) return;
        var pick = function (team) {
          return function () { usageTeam = team; usageFor = null; usageAt = 0; tick(); };
        };
        box.replaceChildren.apply(box, [el("button", {type: "button", "data-team": "", text: "Yours", onclick: pick(null)})].concat(
          r.teams.map(function (tm) {
            return el("button", {type: "button", "data-team": tm.name, text: "Team " + tm.name, onclick: pick(tm.name)});
          })));
      }).catch(pollError);
      if (me.is_admin) {
        var input = el("input", {id: "usage-user", type: "text", "aria-label": "Whose usage (empty: yours)", placeholder: "user (empty: you)"});
        parts.push(el("p", null, input, " ", el("button", {type: "button", id: "usage-show", text: "Show", onclick: function () {
          usageFor = input.value.trim() || null;
          usageTeam = null;
          usageAt = 0;
          tick();
        }})));
      }
      parts.push(el("div", {id: "usage"}));
      view.replaceChildren.apply(view, parts);
    }
    if (Date.now() - usageAt < HISTORY_MS) return Promise.resolve(); // an aggregate query: once a minute is plenty
    return api("GET", "/v1/usage?since=30d" + (usageTeam ? "&team=" + encodeURIComponent(usageTeam)
        : usageFor ? "&user=" + encodeURIComponent(usageFor) : "")).then(function (u) {
      usageAt = Date.now();
      region("usage", u, drawUsage);
    });
  }

  function drawUsage(u) {
    var fs = u.fair_share;
    var types = Object.keys(u.gpu_hours_by_type);
    var guaranteed = Object.keys(u.guaranteed_gpus || {}).map(function (k) { return u.guaranteed_gpus[k] + " " + k; });
    return el("div", null,
      el("p", {text: (u.team ? "Team " + u.team : u.user) + ": " + u.gpu_hours.toFixed(1) + " GPU-hours since " + time(u.since) + "."}),
      u.team ? el("p", {text: "Members: " + (u.members.join(", ") || "none") + ". Guaranteed: "
        + (guaranteed.join(", ") || "none") + "."}) : null,
      dailyChart(u.daily),
      table("GPU-hours by type", ["Type", "GPU-hours"], types.map(function (t) { return [t, u.gpu_hours_by_type[t].toFixed(1)]; }),
        "No GPU time in these 30 days."),
      el("h2", {text: "Fair share"}),
      el("p", {text: (fs.team ? "As a member of " + fs.team + ": factor " : "Factor ") + fs.factor.toFixed(2) + " (" + fs.decayed_gpu_hours.toFixed(1) + " GPU-hours counted, halving every "
        + Math.round(fs.half_life_hours / 24) + " days; share " + (fs.share * 100).toFixed(0) + "% of those competing now, "
        + (fs.usage_share * 100).toFixed(0) + "% of their recent use)."}),
      el("p", {text: fs.explained}));
  }

  // GPU-hours a day as bars, with the figures in words for screen readers.
  function dailyChart(days) {
    var W = 720, H = 160, L = 40, B = 22;
    var sums = days.map(function (d) { return Object.keys(d.gpu_hours).reduce(function (a, k) { return a + d.gpu_hours[k]; }, 0); });
    var max = Math.max.apply(null, [1].concat(sums));
    var s = svgEl;
    var busiest = sums.indexOf(Math.max.apply(null, sums));
    var summary = sums.some(function (v) { return v > 0; })
      ? "GPU-hours per day; the busiest day was " + days[busiest].date + " with " + sums[busiest].toFixed(1) + "."
      : "No GPU time in these 30 days.";
    var svg = s("svg", {viewBox: "0 0 " + W + " " + H, role: "img", "aria-label": summary, class: "chart"});
    [0, 0.5, 1].forEach(function (f) {
      var v = max * f;
      var y = 8 + (H - B - 8) * (1 - f);
      svg.appendChild(s("line", {x1: L, x2: W - 8, y1: y, y2: y, class: "grid"}));
      svg.appendChild(s("text", {x: L - 6, y: y + 4, "text-anchor": "end", class: "axis"}, v.toFixed(v < 10 ? 1 : 0)));
    });
    var bw = (W - L - 8) / Math.max(1, days.length);
    days.forEach(function (d, i) {
      var h = (H - B - 8) * sums[i] / max;
      svg.appendChild(s("rect", {x: (L + i * bw + 1).toFixed(1), y: (H - B - h).toFixed(1), width: Math.max(1, bw - 2).toFixed(1),
        height: h.toFixed(1), class: "bar"}));
      if (i % 7 === 0) svg.appendChild(s("text", {x: (L + i * bw + bw / 2).toFixed(1), y: H - 6, "text-anchor": "middle", class: "axis"},
        d.date.substring(5)));
    });
    return el("figure", {class: "chart-box"}, svg, el("figcaption", null, summary));
  }

  // --- the loop ----------------------------------------------------------------------------------
  function tick() {
    if (halted) return Promise.resolve();
    var draw = page === "mine" ? mine : page === "admin" ? admin : page === "usage" ? usage : cluster;
    return draw().then(function () {
      if (pollFailed) {
        say("");
        pollFailed = false;
      }
      document.getElementById("updated").textContent = "Updated " + new Date().toLocaleTimeString([], {timeZoneName: "short"});
      if (window.performance && performance.mark && !performance.getEntriesByName("gpudev-drawn").length) {
        performance.mark("gpudev-drawn"); // the page's first data on screen, from the navigation's start (bench/dashboard.sh)
      }
    }).catch(pollError);
  }

  var halted = false;

  function schedule() {
    if (halted) return;
    timer = setTimeout(function () { tick().then(schedule); }, POLL_MS);
  }

  // After a logout, an ended session or a refusal nothing polls any more.
  function stop() {
    halted = true;
    if (timer !== null) clearTimeout(timer);
    timer = null;
  }

  function start() {
    document.querySelectorAll("nav a").forEach(function (a) {
      if (a.getAttribute("data-page") === page) a.setAttribute("aria-current", "page");
      if (a.getAttribute("data-page") === "admin" && !me.is_admin) a.hidden = true;
    });
    document.getElementById("who").textContent = me.username + (me.is_admin ? " (admin)" : "");
    var out = document.getElementById("logout");
    out.hidden = false;
    out.addEventListener("click", function () {
      api("POST", "/v1/ui/logout").then(function () { loggedOut("You logged out."); }).catch(failed);
    });
    document.addEventListener("visibilitychange", function () {
      if (!document.hidden && !halted && timer !== null) {
        clearTimeout(timer);
        timer = null;
        tick().then(schedule);
      }
    });
    tick().then(schedule);
  }

  api("GET", "/v1/ui/session").then(function (s) {
    me = s;
    csrf = s.csrf_token;
    start();
  }).catch(function (e) {
    if (e.status === 401 || e.status === 403) loggedOut(e.message);
    else say(e.message);
  });
})();
