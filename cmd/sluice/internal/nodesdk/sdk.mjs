// sdk.mjs drives the official TypeScript SDKs against a sluice proxy for
// package nodesdk (the proxy's end-to-end tests and its demo), which
// installs the SDKs beside it.
//
//   node sdk.mjs burst anthropic|openai   CALLS, WORKERS: every third call streams
//   node sdk.mjs call anthropic|openai    one call; MAX_RETRIES, TIMEOUT_MS,
//                                         STAINLESS_TIMEOUT, MODEL, INDEX
//
// It prints one JSON line: {ok, failed, errors: [...], last}, where each
// error (the first ten, and the last) is {class, status, refusal,
// shouldRetry, message} as the SDK raised it.
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';

const [mode, sdk] = process.argv.slice(2);
const base = process.env.PROXY_URL;
const opts = {};
if (process.env.MAX_RETRIES) opts.maxRetries = Number(process.env.MAX_RETRIES);
if (process.env.TIMEOUT_MS) opts.timeout = Number(process.env.TIMEOUT_MS);
// openai 7.55 does not send x-stainless-timeout itself (the Anthropic SDK
// does): a client tells the proxy its timeout with a default header.
if (process.env.STAINLESS_TIMEOUT) opts.defaultHeaders = { 'X-Stainless-Timeout': process.env.STAINLESS_TIMEOUT };
const model = process.env.MODEL || (sdk === 'openai' ? 'gpt-node' : 'claude-node');

const client = sdk === 'openai'
  ? new OpenAI({ apiKey: process.env.API_KEY || 'sk-node', baseURL: base + '/v1', ...opts })
  : new Anthropic({ apiKey: process.env.API_KEY || 'sk-ant-node', baseURL: base, ...opts });

async function call(i) {
  const stream = i % 3 === 0;
  const text = `call ${i} `.repeat(5 + (i % 40));
  const max = 16 + (i % 3) * 16;
  if (sdk === 'openai') {
    const params = { model, max_completion_tokens: max, messages: [{ role: 'user', content: text }] };
    if (!stream) return client.chat.completions.create(params);
    const s = await client.chat.completions.create({ ...params, stream: true });
    for await (const _ of s) { /* drain */ }
    return;
  }
  const params = { model, max_tokens: max, messages: [{ role: 'user', content: text }] };
  if (!stream) return client.messages.create(params);
  const s = await client.messages.create({ ...params, stream: true });
  for await (const _ of s) { /* drain */ }
}

function describe(err) {
  const APIError = sdk === 'openai' ? OpenAI.APIError : Anthropic.APIError;
  return {
    class: err?.constructor?.name ?? String(err),
    apiError: err instanceof APIError,
    status: err?.status ?? 0,
    refusal: err?.headers?.get?.('sluice-refusal') ?? '',
    shouldRetry: err?.headers?.get?.('x-should-retry') ?? '',
    message: String(err?.message ?? err).slice(0, 200),
  };
}

const result = { ok: 0, failed: 0, errors: [], last: null };
async function run(i) {
  try {
    await call(i);
    result.ok++;
  } catch (err) {
    result.failed++;
    result.last = describe(err);
    if (result.errors.length < 10) result.errors.push(result.last);
  }
}

if (mode === 'call') {
  await run(Number(process.env.INDEX || 1));
} else {
  const calls = Number(process.env.CALLS || 100), workers = Number(process.env.WORKERS || 20);
  let next = 0;
  await Promise.all(Array.from({ length: workers }, async () => {
    while (next < calls) await run(next++);
  }));
}
console.log(JSON.stringify(result));
