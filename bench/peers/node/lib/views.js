// The view roots, compiled once and cached: one handlebars.js environment
// per language (jPulse's i18n pre-pass puts each translation into the
// template's text, so a compiled template is per language), pages and
// partials compiled at start (the default language) or on the first
// request of another language, and a jPulse-style periodic mtime scan.
//
// Layout of a view root (README.md):
//   <root>/<path>/index.hbs        the page of GET /<path>/
//   <root>/partials/<name>.hbs     the partial {{> <name>}} (sub-directories
//                                  give "dir/name"); a component of jPulse
//                                  ("site.feature-card") is the partial of
//                                  its usage name: partials/site.featureCard.hbs
// The first root that has a page or a partial wins.

import fs from 'node:fs';
import path from 'node:path';

import Handlebars from 'handlebars';

import { registerHelpers } from './helpers.js';

// handlebars.js's defaults strip "standalone" lines and indent partials;
// jPulse does neither, and the pages must come out byte for byte
const COMPILE = { noEscape: true, ignoreStandalone: true, preventIndent: true,
                  strict: false, knownHelpersOnly: false };

// jPulse's helper names are dotted (math.add); handlebars.js cannot call a
// dotted helper, so the views and translations use them camel-cased
const HELPER_NS = /(\{\{#?|\()\s*(array|date|file|json|math|string)\.([a-zA-Z]+)/g;

export function jpulseToHbs(text) {
    return text.replace(HELPER_NS,
        (m, open, ns, fn) => open + ns + fn[0].toUpperCase() + fn.slice(1));
}

function walk(dir, out = []) {
    let entries;
    try {
        entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
        return out;
    }
    for (const e of entries) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) {
            walk(p, out);
        } else if (e.isFile() && e.name.endsWith('.hbs')) {
            out.push(p);
        }
    }
    return out;
}

function lookup(obj, dotted) {
    let v = obj;
    for (const k of dotted.split('.')) {
        if (v === null || typeof v !== 'object' || !Object.hasOwn(v, k)) {
            return undefined;
        }
        v = v[k];
    }
    return v;
}

export class Views {
    constructor({ roots, i18nDir, configDir, defaultLang }) {
        this.roots = roots;
        this.i18nDir = i18nDir;
        this.defaultLang = defaultLang;
        // file.timestamp "x" looks in the view roots, then where jPulse
        // would: the app's site/webapp/view and webapp/view
        this.assetRoots = [...roots,
                           path.join(configDir, 'site', 'webapp', 'view'),
                           path.join(configDir, 'webapp', 'view')];
        this.translations = {};
        this.envs = new Map();          // lang -> { hb, pages: Map }
        this.files = new Map();         // file -> mtimeMs, for the scan
        this.timestamps = new Map();    // file.timestamp name -> ms
        this.pageFiles = new Map();     // "/path/" -> file
        this.partialFiles = new Map();  // name -> file
        this.renders = 0;               // for the metrics
        this.scans = 0;
        this.recompiles = 0;
        this.scanMs = 0;
    }

    load() {
        this.loadTranslations();
        this.index();
        this.env(this.defaultLang);
    }

    loadTranslations() {
        const t = {};
        for (const name of fs.readdirSync(this.i18nDir)) {
            if (name.endsWith('.json')) {
                const file = path.join(this.i18nDir, name);
                t[name.slice(0, -5)] = JSON.parse(fs.readFileSync(file, 'utf8'));
                this.files.set(file, fs.statSync(file).mtimeMs);
            }
        }
        if (!t[this.defaultLang]) {
            throw new Error(`${this.i18nDir}: no ${this.defaultLang}.json`
                            + ' (the default language)');
        }
        this.translations = t;
    }

    // which file is which page and partial (first root wins)
    index() {
        this.pageFiles.clear();
        this.partialFiles.clear();
        for (const root of this.roots) {
            const partials = path.join(root, 'partials');
            for (const file of walk(root)) {
                const rel = path.relative(root, file).split(path.sep).join('/');
                if (file.startsWith(partials + path.sep)) {
                    const name = path.relative(partials, file)
                                     .split(path.sep).join('/').slice(0, -4);
                    if (!this.partialFiles.has(name)) {
                        this.partialFiles.set(name, file);
                    }
                } else if (rel === 'index.hbs' || rel.endsWith('/index.hbs')) {
                    const url = '/' + rel.slice(0, -'index.hbs'.length);
                    if (!this.pageFiles.has(url)) {
                        this.pageFiles.set(url, file);
                    }
                }
            }
        }
    }

    count() {
        return this.pageFiles.size;
    }

    // jPulse's pre-pass: {{i18n.a.b}} becomes the translation's text (a
    // subtree its JSON, a missing key the key path); the translations'
    // own expressions are then compiled with the page
    prepass(text, lang) {
        const dict = this.translations[lang] || this.translations[this.defaultLang];
        return text.replace(/\{\{(@?i18n\.[^}]+)\}\}/g, (m, key) => {
            const v = lookup(dict, key.replace(/^@?i18n\./, ''));
            if (v === undefined || v === null) {
                return key;
            }
            return jpulseToHbs(typeof v === 'object' ? JSON.stringify(v) : String(v));
        });
    }

    source(file, lang) {
        const text = fs.readFileSync(file, 'utf8');
        this.files.set(file, fs.statSync(file).mtimeMs);
        return this.prepass(jpulseToHbs(text), lang);
    }

    env(lang) {
        let e = this.envs.get(lang);
        if (e) {
            return e;
        }
        const hb = Handlebars.create();
        registerHelpers(hb, { timestamp: name => this.timestamp(name) });
        e = { hb, pages: new Map() };
        for (const [name, file] of this.partialFiles) {
            hb.registerPartial(name, this.compile(hb, file, lang));
        }
        for (const [url, file] of this.pageFiles) {
            e.pages.set(url, this.compile(hb, file, lang));
        }
        this.envs.set(lang, e);
        return e;
    }

    // precompiled now, not on the first call (handlebars.js's compile()
    // is lazy): the first request must not pay for it
    compile(hb, file, lang) {
        const spec = hb.precompile(this.source(file, lang), COMPILE);
        // eslint-disable-next-line no-new-func
        return hb.template(new Function(`return ${spec}`)());
    }

    page(urlPath, lang) {
        this.renders++;
        const e = this.env(this.translations[lang] ? lang : this.defaultLang);
        let page = e.pages.get(urlPath);
        if (page === undefined && !urlPath.includes('..')) {
            // a page added after the start: found at its first request
            for (const root of this.roots) {
                const file = path.join(root, urlPath, 'index.hbs');
                if (fs.existsSync(file)) {
                    this.pageFiles.set(urlPath, file);
                    for (const [l, env] of this.envs) {
                        env.pages.set(urlPath, this.compile(env.hb, file, l));
                    }
                    page = e.pages.get(urlPath);
                    break;
                }
            }
        }
        return page;
    }

    // {{fileTimestamp "x"}}: the file's mtime in ms (Date.now() when it is
    // missing, as jPulse), kept until the scan sees it change
    timestamp(name) {
        let ms = this.timestamps.get(name);
        if (ms === undefined) {
            ms = this.statAsset(name);
            if (ms === undefined) {
                return Date.now();
            }
            this.timestamps.set(name, ms);
        }
        return ms;
    }

    statAsset(name) {
        if (typeof name !== 'string' || name.includes('..') || path.isAbsolute(name)) {
            return undefined;
        }
        for (const root of this.assetRoots) {
            const st = fs.statSync(path.join(root, name), { throwIfNoEntry: false });
            if (st?.isFile()) {
                return Math.floor(st.mtimeMs);
            }
        }
        return undefined;
    }

    // jPulse's template cache: every interval, stat every cached file and
    // compile again what changed (its checkInterval is in minutes; the
    // bench passes seconds)
    // (the first scan after `phase` ms, 0 = after one interval)
    startScan(ms, phase = 0) {
        this.scanMs = ms;
        this.scanPhaseMs = phase;
        const every = () => setInterval(() => this.scan(), ms).unref();
        if (phase > 0) {
            setTimeout(() => { this.scan(); every(); }, phase).unref();
        } else {
            every();
        }
    }

    scan() {
        this.scans++;
        for (const name of this.timestamps.keys()) {
            const ms = this.statAsset(name);
            if (ms === undefined) {
                this.timestamps.delete(name);
            } else {
                this.timestamps.set(name, ms);
            }
        }
        const changed = [];
        let all = false;
        for (const [file, mtime] of this.files) {
            const st = fs.statSync(file, { throwIfNoEntry: false });
            if (!st || st.mtimeMs !== mtime) {
                changed.push(file);
                // a translation is in every page; a file gone changes
                // which root wins
                all ||= !st || file.startsWith(this.i18nDir + path.sep);
            }
        }
        if (!changed.length) {
            return;
        }
        try {
            if (all) {
                this.reloadAll();
            } else {
                this.recompile(changed);
            }
        } catch (err) {
            console.error(`bench-peer: scan: ${err.message}`);
        }
    }

    recompile(files) {
        const pages = new Map([...this.pageFiles].map(([u, f]) => [f, u]));
        const partials = new Map([...this.partialFiles].map(([n, f]) => [f, n]));
        for (const file of files) {
            this.recompiles++;
            for (const [lang, e] of this.envs) {
                if (partials.has(file)) {
                    e.hb.registerPartial(partials.get(file),
                                         this.compile(e.hb, file, lang));
                }
                if (pages.has(file)) {
                    e.pages.set(pages.get(file), this.compile(e.hb, file, lang));
                }
            }
        }
    }

    reloadAll() {
        this.recompiles++;
        const langs = [...this.envs.keys()];
        this.loadTranslations();
        this.files.clear();
        this.index();
        this.envs.clear();
        for (const l of langs) {
            this.env(l);
        }
    }
}
