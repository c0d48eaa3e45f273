// CloudFront Function (cloudfront-js-2.0, viewer request) of the /img/* behaviour.
// GET /img/{id}/{width}.{format} becomes the one URI the cache and the processed-images bucket know it by:
// width must be one of the Widths parameter, and format auto becomes avif, webp or fallback (JPEG, or PNG
// for an image with transparency) by the Accept header, so the cache key holds the chosen format and never
// Accept itself. Anything else is answered here: 400 or 404 with the API's error shape, never cached.
// With sign-in on (AuthMode cognito, oidc) the path names the owner, /img/{owner}/{id}/{width}.{format}, and
// CloudFront admits the request only with a signed cookie for /img/{owner}/* (checked before this function
// runs); the owner stays in the URI, so in the cache key and the bucket's key, and RenderFunction checks it.
// template.yaml deploys this file (FunctionCode, kept equal to it by tests/unit/test_edge_function.py,
// scripts/sync_edge_function.py writes it there); CloudFormation's !Sub fills in the parameter below.
var WIDTHS = '${Widths}'.split(',').map(Number);
var FORMATS = ['auto', 'avif', 'webp', 'jpeg', 'png'];
var PATH = /^\/img\/((?:[0-9a-f]{64}\/)?[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12})\/([0-9]{1,5})\.([A-Za-z0-9]{1,10})$/;

function handler(event) {
    var request = event.request;
    var match = PATH.exec(request.uri);
    if (!match) {
        return refuse(404, 'not_found', 'There is no image at this address; use /img/{id}/{width}.{format}.');
    }
    var width = Number(match[2]);
    if (WIDTHS.indexOf(width) < 0 || match[2] !== String(width)) {
        return refuse(400, 'invalid_option', 'The width must be one of ' + WIDTHS.join(', ') + ' pixels.');
    }
    var format = match[3];
    if (FORMATS.indexOf(format) < 0) {
        return refuse(400, 'invalid_option', 'The format must be one of: ' + FORMATS.join(', ') + '.');
    }
    if (format === 'auto') {
        format = chosenFormat(headerValue(request.headers.accept));
    }
    request.uri = '/img/' + match[1] + '/' + width + '.' + format;
    // Nothing else reaches the origin or the cache key: the query string is dropped here too.
    request.querystring = {};
    return request;
}

// Every value of a header sent once or more (CloudFront collapses repeats into multiValue).
function headerValue(header) {
    if (!header) {
        return '';
    }
    if (!header.multiValue) {
        return header.value;
    }
    return header.multiValue.map(function (item) { return item.value; }).join(',');
}

// AVIF or WebP when Accept names it with a non-zero quality (image/* and */* admit any type, yet every
// browser that decodes AVIF or WebP names it), else the fallback.
function chosenFormat(accept) {
    var named = {};
    var parts = accept.toLowerCase().split(',');
    for (var i = 0; i < parts.length; i++) {
        var params = parts[i].split(';');
        var type = params[0].trim();
        var quality = 1;
        for (var j = 1; j < params.length; j++) {
            var param = params[j].trim();
            if (param.indexOf('q=') === 0) {
                quality = Number(param.slice(2));
            }
        }
        if (!(type in named) || quality === 0) {
            named[type] = quality > 0;
        }
    }
    if (named['image/avif']) {
        return 'avif';
    }
    if (named['image/webp']) {
        return 'webp';
    }
    return 'fallback';
}

function refuse(status, code, message) {
    return {
        statusCode: status,
        statusDescription: status === 400 ? 'Bad Request' : 'Not Found',
        headers: {
            'content-type': { value: 'application/json' },
            'cache-control': { value: 'no-store' }
        },
        body: { encoding: 'text', data: JSON.stringify({ error: { code: code, message: message } }) }
    };
}
