// The /img/* CloudFront Function, run in Node as CloudFront runs it: the file's text with the template's
// ${Widths} filled in (as !Sub does), evaluated in a context of its own with no require and no module.
// Run by tests/unit/test_edge_function.py (node --test), so `make test` runs it.
'use strict';
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const test = require('node:test');
const vm = require('node:vm');

const SOURCE = path.join(__dirname, '..', '..', '..', 'src', 'edge', 'image_request.js');
const DEFAULT_WIDTHS = '160,320,640,960,1280,1920,2560';
const ID = '6c0d2d5e-8f1a-4c1b-9a59-2f4d6c7b8e90';

// The Accept headers browsers send for <img> in December 2026 (each browser's current release).
const ACCEPT = {
    chrome: 'image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8',
    firefox: 'image/avif,image/webp,image/png,image/svg+xml,image/*;q=0.8,*/*;q=0.5',
    safari: 'image/webp,image/avif,image/jxl,image/heic,image/heic-sequence,video/*;q=0.8,image/png,image/svg+xml,image/*;q=0.8,*/*;q=0.5',
    // Safari 15 and 16.0 decode WebP but not AVIF.
    safari15: 'image/webp,image/png,image/svg+xml,image/*;q=0.8,video/*;q=0.8,*/*;q=0.5',
    curl: '*/*',
};

function load(widths) {
    const code = fs.readFileSync(SOURCE, 'utf8').split('${Widths}').join(widths);
    const context = vm.createContext({});
    vm.runInContext(code, context, { filename: SOURCE });
    return context.handler;
}

function event(uri, headers, querystring) {
    const lowered = {};
    for (const [name, value] of Object.entries(headers || {})) {
        lowered[name.toLowerCase()] = { value: value };
    }
    return {
        version: '1.0',
        context: { eventType: 'viewer-request' },
        viewer: { ip: '198.51.100.11' },
        request: { method: 'GET', uri: uri, querystring: querystring || {}, headers: lowered, cookies: {} },
    };
}

function errorOf(response) {
    assert.equal(response.headers['content-type'].value, 'application/json');
    assert.equal(response.headers['cache-control'].value, 'no-store');
    assert.equal(response.body.encoding, 'text');
    return JSON.parse(response.body.data).error;
}

const handler = load(DEFAULT_WIDTHS);

test('auto is AVIF for the current Chrome, Firefox and Safari', () => {
    for (const browser of ['chrome', 'firefox', 'safari']) {
        const request = handler(event(`/img/${ID}/640.auto`, { Accept: ACCEPT[browser] }));
        assert.equal(request.uri, `/img/${ID}/640.avif`, browser);
    }
});

test('auto is WebP for a browser that names WebP and not AVIF', () => {
    assert.equal(handler(event(`/img/${ID}/640.auto`, { Accept: ACCEPT.safari15 })).uri, `/img/${ID}/640.webp`);
});

test('auto falls back for */*, image/*, no Accept at all, and AVIF or WebP refused with q=0', () => {
    const accepts = [ACCEPT.curl, 'image/*', undefined, 'image/avif;q=0,image/webp;q=0,*/*',
                     'image/webp;q=0, image/png', 'image/avif;q=0.0'];
    for (const accept of accepts) {
        const headers = accept === undefined ? {} : { Accept: accept };
        assert.equal(handler(event(`/img/${ID}/320.auto`, headers)).uri, `/img/${ID}/320.fallback`, String(accept));
    }
});

test('a q=0 refusal wins over the same type named again, and q and case are read as HTTP says', () => {
    assert.equal(handler(event(`/img/${ID}/320.auto`, { Accept: 'image/avif, image/avif;q=0, image/webp' })).uri,
                 `/img/${ID}/320.webp`);
    assert.equal(handler(event(`/img/${ID}/320.auto`, { Accept: 'IMAGE/AVIF ; q=0.5' })).uri,
                 `/img/${ID}/320.avif`);
});

test('repeated Accept headers are read together', () => {
    const request = event(`/img/${ID}/160.auto`);
    request.request.headers.accept = { value: 'image/png', multiValue: [{ value: 'image/png' }, { value: 'image/webp' }] };
    assert.equal(handler(request).uri, `/img/${ID}/160.webp`);
});

test('an explicit format is kept whatever Accept says, and the query string is dropped', () => {
    for (const format of ['avif', 'webp', 'jpeg', 'png']) {
        const request = handler(event(`/img/${ID}/1920.${format}`, { Accept: ACCEPT.curl }, { v: { value: '2' } }));
        assert.equal(request.uri, `/img/${ID}/1920.${format}`);
        assert.deepEqual(Object.keys(request.querystring), []);
    }
});

test('every width of Widths is admitted; any other is 400 with the error shape', () => {
    for (const width of DEFAULT_WIDTHS.split(',')) {
        assert.equal(handler(event(`/img/${ID}/${width}.jpeg`)).uri, `/img/${ID}/${width}.jpeg`);
    }
    for (const width of ['641', '0', '0640', '99999', '1']) {
        const response = handler(event(`/img/${ID}/${width}.auto`, { Accept: ACCEPT.chrome }));
        assert.equal(response.statusCode, 400, width);
        const error = errorOf(response);
        assert.equal(error.code, 'invalid_option');
        assert.match(error.message, /160, 320, 640, 960, 1280, 1920, 2560/);
    }
});

test('the Widths parameter decides the widths', () => {
    const custom = load('100,200');
    assert.equal(custom(event(`/img/${ID}/200.png`)).uri, `/img/${ID}/200.png`);
    assert.equal(custom(event(`/img/${ID}/640.png`)).statusCode, 400);
});

test('an unknown format is 400; the internal fallback name cannot be asked for', () => {
    for (const format of ['gif', 'fallback', 'jpg', 'AVIF']) {
        const response = handler(event(`/img/${ID}/640.${format}`));
        assert.equal(response.statusCode, 400, format);
        assert.equal(errorOf(response).code, 'invalid_option');
    }
});

test('anything not shaped /img/{id}/{width}.{format} is 404', () => {
    const uris = ['/img/', `/img/${ID}`, `/img/${ID}/640`, `/img/${ID.toUpperCase()}/640.auto`,
                  '/img/not-an-id/640.auto', `/img/${ID}/640.auto/x`, `/img/${ID}/../640.auto`,
                  `/img//${ID}/640.auto`, `/img/${ID}/640.auto%00`];
    for (const uri of uris) {
        const response = handler(event(uri));
        assert.equal(response.statusCode, 404, uri);
        assert.equal(errorOf(response).code, 'not_found');
    }
});

// Signed in, the owner's hash comes first (the signed cookie admits /img/{owner}/*); it stays in the URI, so the
// cache key and the bucket's key keep one owner's images apart from another's.
const OWNER = 'ab'.repeat(32);

test('an owner path keeps its owner in the URI, and only a 64-hex-digit owner is one', () => {
    const request = handler(event(`/img/${OWNER}/${ID}/640.auto`, { Accept: ACCEPT.chrome }));
    assert.equal(request.uri, `/img/${OWNER}/${ID}/640.avif`);
    const uris = [`/img/${OWNER.toUpperCase()}/${ID}/640.auto`, `/img/${OWNER.slice(2)}/${ID}/640.auto`,
                  `/img/${OWNER}/${OWNER}/${ID}/640.auto`, `/img/${OWNER}//${ID}/640.auto`, `/img/${OWNER}/640.auto`];
    for (const uri of uris) {
        assert.equal(handler(event(uri)).statusCode, 404, uri);
    }
});
