// jPulse's built-in helpers the bench pages use, as handlebars.js helpers
// (camel-cased: handlebars.js cannot call a dotted name). Values follow
// jPulse: comparisons are JavaScript's (== for eq), the logical and
// comparison helpers are blocks with {{else}} and inline helpers too.

function isBlock(args) {
    const opts = args[args.length - 1];
    return typeof opts?.fn === 'function' ? opts : null;
}

function block(test) {
    return function (...args) {
        const opts = args.pop();
        const ok = test(...args);
        if (typeof opts.fn === 'function') {
            return ok ? opts.fn(this) : opts.inverse(this);
        }
        return ok;
    };
}

const num = v => {
    const n = Number(v);
    return Number.isNaN(n) ? 0 : n;
};

export function registerHelpers(hb, { timestamp }) {
    /* eslint-disable eqeqeq */
    hb.registerHelper('eq', block((a, b) => a == b));
    hb.registerHelper('ne', block((a, b) => a != b));
    /* eslint-enable eqeqeq */
    hb.registerHelper('gt', block((a, b) => a > b));
    hb.registerHelper('gte', block((a, b) => a >= b));
    hb.registerHelper('lt', block((a, b) => a < b));
    hb.registerHelper('lte', block((a, b) => a <= b));
    hb.registerHelper('and', block((...v) => v.every(Boolean)));
    hb.registerHelper('or', block((...v) => v.some(Boolean)));
    hb.registerHelper('not', block(v => !v));

    hb.registerHelper('mathAdd', (...a) => { a.pop(); return a.reduce((s, v) => s + num(v), 0); });
    hb.registerHelper('mathSubtract', (a, b) => num(a) - num(b));
    hb.registerHelper('mathMultiply', (a, b) => num(a) * num(b));

    hb.registerHelper('stringConcat', (...a) => { a.pop(); return a.map(v => v ?? '').join(''); });
    hb.registerHelper('stringDefault', (...a) => {
        a.pop();
        return a.find(v => v !== undefined && v !== null && v !== '') ?? '';
    });
    hb.registerHelper('stringUppercase', s => String(s ?? '').toUpperCase());
    hb.registerHelper('stringLowercase', s => String(s ?? '').toLowerCase());

    hb.registerHelper('arrayLength', a => (Array.isArray(a) ? a.length : 0));

    // jPulse prints arrays and objects as JSON.stringify gives them
    hb.registerHelper('json', v => (v === undefined ? '' : JSON.stringify(v)));

    // {{components name=(this)}}: a component is the partial of its name
    hb.registerHelper('partialName', n => String(n));

    hb.registerHelper('fileTimestamp', name => timestamp(name));

    // unknown helpers fail loudly: a silent empty string would make the
    // page smaller and the comparison unfair
    hb.registerHelper('helperMissing', function (...args) {
        const opts = args.pop();
        if (args.length || isBlock([opts])) {
            throw new Error(`missing helper "${opts.name}"`);
        }
        return undefined;
    });
}
