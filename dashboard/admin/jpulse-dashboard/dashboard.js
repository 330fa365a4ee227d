/*
 * ngx_jpulse's cluster dashboard: refreshes the page from the metrics JSON
 * (jpulse_metrics) every data-refresh seconds. No library, no inline code:
 * the page's CSP allows scripts and connections to this server only.
 * Every value is written with textContent (names come from Redis).
 * rows() computes what ngx_http_jpulse_dashboard_row() computes in C.
 */
(function () {
    'use strict';

    var SVG = 'http://www.w3.org/2000/svg';
    var HISTORY = 60;
    var FIELDS = ['kind', 'host', 'name', 'status', 'uptime', 'rpm',
                  'errorRate', 'requests', 'bytesOut', 'cacheHitRate',
                  'cacheBytes', 'redis', 'mongodb', 'workers', 'sessions',
                  'trend'];
    var STATE = { 'status': 1, 'redis': 1, 'mongodb': 1 };
    var NUMERIC = { 'rpm': 1, 'errorRate': 1, 'requests': 1, 'bytesOut': 1,
                    'cacheHitRate': 1, 'cacheBytes': 1, 'workers': 1,
                    'sessions': 1 };

    var root = document.getElementById('jp-dash');
    if (!root) {
        return;
    }

    var metricsUri = root.getAttribute('data-metrics');
    var refresh = (parseInt(root.getAttribute('data-refresh'), 10) || 5)
                  * 1000;
    var tbody = document.querySelector('#jp-dash-table tbody');
    var trends = {};
    var total = [];

    function get(o, path) {
        var parts = path.split('.');
        for (var i = 0; i < parts.length; i++) {
            if (o === null || typeof o !== 'object') {
                return undefined;
            }
            o = o[parts[i]];
        }
        return o;
    }

    function int(o, path) {
        var v = get(o, path);
        return typeof v === 'number' && isFinite(v) ? Math.trunc(v) : 0;
    }

    function bytes(n) {
        var units = ['B', 'KB', 'MB', 'GB', 'TB'];
        var u = 0;
        if (n < 1024) {
            return Math.max(n, 0) + ' B';
        }
        while (n >= 1024 && u < 4) {
            n /= 1024;
            u++;
        }
        return n.toFixed(1) + ' ' + units[u];
    }

    function text(v) {
        if (v === undefined || v === null) {
            return '';
        }
        return typeof v === 'object' ? JSON.stringify(v) : String(v);
    }

    /*
     * The fields read as they are (bytes written out, arrays counted), as
     * ngx_http_jpulse_dashboard_fields[] in C; what an instance does not
     * report is a dash.
     */
    var DASH = '\u2013';
    var PATHS = [
        ['version', 'jPulse.version'], ['redis', 'redis.status'],
        ['mongodb', 'database.status'], ['rpm', 'metrics.requestsPerMin'],
        ['errorRate', 'metrics.errorRate'],
        ['requests', 'components.http.stats.requests'],
        ['bytesOut', 'components.http.stats.bytesOut', true],
        ['cacheBytes', 'components.module.stats.template_cache_bytes', true],
        ['workers', 'workers'],
        ['sessions', 'components.cachectl.stats.sessions.live'],
        ['refused', 'components.cachectl.stats.refused'],
        ['files', 'components.cachectl.stats.filesTracked']
    ];

    /* one row per instance of every server, as the C side builds them */
    function rows(answer) {
        var out = [];
        var servers = get(answer, 'data.servers');
        if (!Array.isArray(servers)) {
            return out;
        }
        servers.forEach(function (server) {
            var list = server && server.instances;
            if (!Array.isArray(list)) {
                return;
            }
            list.forEach(function (inst) {
                var hits = int(inst,
                               'components.module.stats.template_cache_hits');
                var misses = int(inst,
                             'components.module.stats.template_cache_misses');
                var row = {
                    kind: typeof inst.kind === 'string' ? inst.kind
                          : (inst.pm2Id === 100 ? 'nginx' : 'node'),
                    host: server.hostname,
                    id: inst.instanceId,
                    name: inst.instanceName,
                    status: inst.status,
                    uptime: inst.uptimeFormatted,
                    cacheHitRate: hits > 0 || misses > 0
                        ? (hits * 100 / (hits + misses)).toFixed(1) + '%'
                        : DASH
                };
                PATHS.forEach(function (p) {
                    var v = get(inst, p[1]);
                    row[p[0]] = v === undefined || v === null ? DASH
                        : p[2] ? bytes(int(inst, p[1]))
                        : Array.isArray(v) ? v.length : v;
                });
                out.push(row);
            });
        });
        return out;
    }

    function spark(svg, values, w, h) {
        /* headroom: a steady rate is a line below the top */
        var max = Math.max.apply(null, values.concat([1])) * 1.25;
        var step = values.length > 1 ? w / (values.length - 1) : w;
        var pts = values.map(function (v, i) {
            return (i * step).toFixed(1) + ','
                   + (h - 2 - (v / max) * (h - 4)).toFixed(1);
        }).join(' ');
        var line;

        while (svg.firstChild) {
            svg.removeChild(svg.firstChild);
        }
        if (values.length === 1) {
            pts += ' ' + w + ',' + (h - 2 - (values[0] / max) * (h - 4))
                                   .toFixed(1);
        }
        line = document.createElementNS(SVG, 'polyline');
        line.setAttribute('points', pts);
        line.setAttribute('class', 'line');
        svg.appendChild(line);
    }

    function cell(tr, field) {
        var tds = tr.children;
        for (var i = 0; i < tds.length; i++) {
            if (tds[i].getAttribute('data-field') === field) {
                return tds[i];
            }
        }
        return null;
    }

    function findRow(id) {
        var trs = tbody.children;
        for (var i = 0; i < trs.length; i++) {
            if (trs[i].getAttribute('data-id') === id) {
                return trs[i];
            }
        }
        return null;
    }

    function newRow(row) {
        var tr = document.createElement('tr');
        tr.setAttribute('data-id', text(row.id));
        FIELDS.forEach(function (f) {
            var td = document.createElement('td');
            td.setAttribute('data-field', f);
            if (NUMERIC[f]) {
                td.className = 'n';
            }
            if (f === 'trend') {
                td.className = 'trend';
            }
            tr.appendChild(td);
        });
        tbody.appendChild(tr);
        return tr;
    }

    function setCell(td, field, value) {
        var span;
        if (field === 'kind' || STATE[field]) {
            span = td.firstChild;
            if (!span || span.nodeType !== 1) {
                while (td.firstChild) {
                    td.removeChild(td.firstChild);
                }
                span = document.createElement('span');
                span.className = field === 'kind' ? 'kind' : 'st';
                td.appendChild(span);
            }
            span.textContent = text(value);
            if (field !== 'kind') {
                span.setAttribute('data-st', text(value));
            }
            return;
        }
        td.textContent = text(value);
    }

    function update(list) {
        var seen = {};
        var rpm = 0;
        var sessions = 0;
        var hosts = {};

        list.forEach(function (row) {
            var id = text(row.id);
            var tr = findRow(id) || newRow(row);
            var svg, td;

            seen[id] = true;
            hosts[text(row.host)] = true;
            tr.setAttribute('data-kind', text(row.kind));
            tr.removeAttribute('data-gone');

            FIELDS.forEach(function (f) {
                td = cell(tr, f);
                if (td && f !== 'trend') {
                    setCell(td, f, row[f]);
                }
            });

            rpm += typeof row.rpm === 'number' ? row.rpm : 0;
            if (typeof row.sessions === 'number') {
                sessions = Math.max(sessions, row.sessions);
            }

            trends[id] = (trends[id] || []).concat(
                [typeof row.rpm === 'number' ? row.rpm : 0]).slice(-HISTORY);

            td = cell(tr, 'trend');
            if (td) {
                svg = td.firstChild;
                if (!svg || svg.nodeName.toLowerCase() !== 'svg') {
                    svg = document.createElementNS(SVG, 'svg');
                    svg.setAttribute('viewBox', '0 0 80 20');
                    svg.setAttribute('preserveAspectRatio', 'none');
                    svg.setAttribute('class', 'spark');
                    td.appendChild(svg);
                }
                spark(svg, trends[id], 80, 20);
            }
        });

        Array.prototype.forEach.call(tbody.children, function (tr) {
            if (!seen[tr.getAttribute('data-id')]) {
                tr.setAttribute('data-gone', 'true');
            }
        });

        total = total.concat([rpm]).slice(-HISTORY);
        spark(document.getElementById('jp-dash-chart'), total, 300, 60);

        document.getElementById('jp-dash-servers').textContent =
            Object.keys(hosts).length;
        document.getElementById('jp-dash-instances').textContent =
            list.length;
        document.getElementById('jp-dash-rpm').textContent = rpm;
        document.getElementById('jp-dash-sessions').textContent =
            sessions ? sessions : '\u2013';
        document.getElementById('jp-dash-updated').textContent =
            'live: updated ' + new Date().toLocaleTimeString() + ', every '
            + refresh / 1000 + ' s';
        root.setAttribute('data-state', 'live');
        root.setAttribute('data-instances', String(list.length));
    }

    function failed(why) {
        var p = document.getElementById('jp-dash-error');
        p.textContent = 'Refresh failed: ' + why;
        p.hidden = false;
        root.setAttribute('data-state', 'error');
    }

    /*
     * The generations and cachectl's records are not in the metrics JSON:
     * every third tick the page itself is fetched again and its section
     * of them replaces ours (the server escaped it; nothing runs in it).
     */
    var ticks = 0;

    function records() {
        var here = document.getElementById('jp-dash-records');
        if (!here || typeof DOMParser === 'undefined') {
            return Promise.resolve();
        }
        return fetch(location.pathname + location.search,
                     { credentials: 'same-origin',
                       headers: { 'Accept': 'text/html' } })
            .then(function (res) {
                if (!res.ok) {
                    throw new Error('HTTP ' + res.status);
                }
                return res.text();
            })
            .then(function (html) {
                var doc = new DOMParser().parseFromString(html, 'text/html');
                var fresh = doc.getElementById('jp-dash-records');
                if (fresh) {
                    fresh = document.importNode(fresh, true);
                    fresh.setAttribute('data-refreshed',
                                       new Date().toISOString());
                    here.parentNode.replaceChild(fresh, here);
                }
            });
    }

    function tick() {
        ticks++;
        if (ticks % 3 === 0) {
            records().catch(function (e) {
                failed(e && e.message ? e.message : String(e));
            });
        }

        fetch(metricsUri, { credentials: 'same-origin',
                            headers: { 'Accept': 'application/json' } })
            .then(function (res) {
                if (!res.ok) {
                    throw new Error('HTTP ' + res.status);
                }
                return res.json();
            })
            .then(function (answer) {
                if (!answer || answer.success !== true) {
                    throw new Error(text(answer && answer.message));
                }
                document.getElementById('jp-dash-error').hidden = true;
                update(rows(answer));
            })
            .catch(function (e) {
                failed(e && e.message ? e.message : String(e));
            })
            .then(function () {
                setTimeout(tick, refresh);
            });
    }

    tick();
}());
