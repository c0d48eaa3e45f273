// Runs one CloudFront Function for the local stack, as CloudFront runs it: the code (its template parameters
// already filled in) in a context of its own, with no require, module or process, and a time limit.
// Protocol, one JSON document per line: stdin's first line is {"code": "..."}; each next line is an event,
// answered on stdout by {"result": <what handler returned>} or {"error": "<why it failed>"}.
'use strict';
const readline = require('node:readline');
const vm = require('node:vm');

// CloudFront stops a function that uses too much of its compute budget (about 1 ms of CPU); locally a loop is
// caught. Node's limit is wall time, so it is set far above any real run: on a loaded machine the process may
// wait for a core longer than 100 ms, and a correct function must not fail (503) for that.
const TIME_LIMIT_MS = 1000;
let handler = null;

function answer(value) {
    process.stdout.write(JSON.stringify(value) + '\n');
}

readline.createInterface({ input: process.stdin }).on('line', (line) => {
    try {
        const message = JSON.parse(line);
        if (handler === null) {
            const context = vm.createContext({});
            vm.runInContext(message.code, context, { filename: 'function.js', timeout: TIME_LIMIT_MS });
            if (typeof context.handler !== 'function') {
                throw new Error('the function code defines no handler(event)');
            }
            handler = (event) => {
                context.__event = JSON.parse(JSON.stringify(event));
                return vm.runInContext('handler(__event)', context, { timeout: TIME_LIMIT_MS });
            };
            answer({ ready: true });
            return;
        }
        answer({ result: handler(message) });
    } catch (error) {
        answer({ error: String(error && error.stack || error) });
    }
});
