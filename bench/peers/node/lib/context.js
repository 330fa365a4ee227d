// The context a page is rendered with, as jPulse's ViewController builds it
// (contract §5.4): app, appConfig (filtered by
// controller.handlebar.contextFilter, with appConfig.system's theme fields),
// siteConfig, user, url, i18n. The filtered appConfig depends only on
// (signed in, language, theme) and is kept per variant, as ngx_jpulse
// keeps it; user and url are built for every request.

const WITHOUT_AUTH = ['system', 'deployment', 'database', 'redis',
                      'middleware', 'model', 'controller'];
const WITH_AUTH = ['database', 'redis', 'middleware', 'model', 'controller'];
const ALWAYS_ALLOW = ['system.defaultTheme', 'system.htmlAttrs',
    'system.colorScheme', 'system.themes', 'system.broadcastMessage',
    'utils.i18n.default', 'model.user.passwordPolicy.minLength',
    'controller.user.profile', 'view.user.index',
    'controller.auth.localAuthRestriction',
    'controller.user.emailVerification', 'controller.user.disablePasswordReset'];

const USER_STRINGS = ['id', 'username', 'firstName', 'nickName', 'lastName',
                      'email', 'initials'];

function get(obj, dotted) {
    let v = obj;
    for (const k of dotted.split('.')) {
        if (v === null || typeof v !== 'object' || !Object.hasOwn(v, k)) {
            return undefined;
        }
        v = v[k];
    }
    return v;
}

function set(obj, dotted, value) {
    const keys = dotted.split('.');
    let o = obj;
    for (const k of keys.slice(0, -1)) {
        if (o[k] === null || typeof o[k] !== 'object') {
            o[k] = {};
        }
        o = o[k];
    }
    o[keys[keys.length - 1]] = value;
}

// withAuth's "**.port" and "**.password": at any depth
function withoutKeys(v, keys) {
    if (Array.isArray(v)) {
        return v.map(x => withoutKeys(x, keys));
    }
    if (v === null || typeof v !== 'object') {
        return v;
    }
    const out = {};
    for (const [k, x] of Object.entries(v)) {
        if (!keys.includes(k)) {
            out[k] = withoutKeys(x, keys);
        }
    }
    return out;
}

export class Context {
    constructor({ appConfig, mode, translations, siteConfig = {} }) {
        this.appConfig = appConfig;
        this.mode = mode;
        this.translations = translations;
        this.siteConfig = siteConfig;
        this.defaultLang = appConfig.utils?.i18n?.default || 'en';
        this.defaultTheme = appConfig.utils?.theme?.default || 'light';
        this.adminRoles = siteConfig.general?.adminRoles || ['admin', 'root'];
        this.serverTz = Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
        this.variants = new Map();
    }

    lang(req) {
        const l = req.session?.user?.preferences?.language;
        return l && this.translations[l] ? l : this.defaultLang;
    }

    config(auth, lang, theme) {
        const key = `${auth ? 1 : 0}:${lang}:${theme}`;
        let c = this.variants.get(key);
        if (c) {
            return c;
        }
        const full = { ...this.appConfig };
        full.system = {
            ...(this.appConfig.system || {}),
            defaultTheme: this.defaultTheme,
            htmlAttrs: `lang="${lang}" data-theme="${theme}"`,
            colorScheme: theme === 'dark' ? 'dark' : 'light',
            themes: [],
        };
        c = {};
        for (const [k, v] of Object.entries(full)) {
            if (!(auth ? WITH_AUTH : WITHOUT_AUTH).includes(k)) {
                c[k] = auth ? withoutKeys(v, ['port', 'password']) : v;
            }
        }
        for (const p of ALWAYS_ALLOW) {
            const v = get(full, p);
            if (v !== undefined) {
                set(c, p, v);
            }
        }
        this.variants.set(key, c);
        return c;
    }

    user(u, req) {
        const user = {};
        const auth = !!u?.isAuthenticated;
        for (const k of USER_STRINGS) {
            user[k] = auth && u[k] !== undefined ? u[k] : (k === 'initials' ? '?' : '');
        }
        const roles = auth && Array.isArray(u.roles) ? u.roles : [];
        const hasRole = {};
        let isAdmin = false;
        for (const r of roles) {
            hasRole[r] = true;
            isAdmin ||= this.adminRoles.includes(r);
        }
        user.roles = roles;
        user.hasRole = hasRole;
        user.isAuthenticated = auth;
        user.isAdmin = isAdmin;
        user.preferences = auth && u.preferences ? u.preferences : {};
        // jPulse: the browser's time zone from its "timezone" cookie
        const m = /(?:^|;\s*)timezone=([^;]*)/.exec(req.headers.cookie || '');
        user.timezone = m ? decodeURIComponent(m[1]) : this.serverTz;
        return user;
    }

    build(req) {
        const u = req.session?.user;
        const user = this.user(u, req);
        const lang = this.lang(req);
        const theme = user.preferences.theme || this.defaultTheme;
        const host = req.headers.host;
        const q = req.originalUrl.indexOf('?');

        return {
            app: this.appConfig.app,
            appConfig: this.config(user.isAuthenticated, lang, theme),
            siteConfig: this.siteConfig,
            user,
            url: {
                domain: `${req.protocol}://${host}`,
                protocol: req.protocol,
                hostname: req.hostname,
                port: host?.split(':')[1] || '',
                pathname: req.path,
                search: q >= 0 ? req.originalUrl.slice(q) : '',
                param: req.query,
            },
            i18n: this.translations[lang],
            components: {},
            vars: {},
            pageDisableSidebars: false,
        };
    }
}
