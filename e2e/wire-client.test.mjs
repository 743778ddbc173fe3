// A js-libp2p client of `/trustchain/relay/1` written from docs/wire.md (and the byte layouts of
// docs/encoding.md) alone, without the relay's source: if this test needs something the page does
// not say, the page is wrong. It asks a real dev relay over WebSocket and WebRTC-direct and checks
// each answer against the HTTP API as wire.md promises (byte for byte where it says so, field for
// field elsewhere), and that a malformed request gets what wire.md says it gets.
//
// Never awaits a stream's close: over WebRTC-direct that waits 10 s and fails (wire.md).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createLibp2p } from "libp2p";
import { webSockets } from "@libp2p/websockets";
import { webRTCDirect } from "@libp2p/webrtc";
import { noise } from "@chainsafe/libp2p-noise";
import { yamux } from "@chainsafe/libp2p-yamux";
import { multiaddr } from "@multiformats/multiaddr";
import { WebSocket as NodeWebSocket } from "ws";
import { startRelay, getJson } from "./lib.mjs";

// js-libp2p 3 expects Node 22 (a global WebSocket, Promise.withResolvers); this repository's
// machines run Node 20, so supply both when missing.
globalThis.WebSocket ??= NodeWebSocket;
Promise.withResolvers ??= function withResolvers() {
  let resolve, reject;
  const promise = new this((a, b) => { resolve = a; reject = b; });
  return { promise, resolve, reject };
};

const PROTOCOL = "/trustchain/relay/1";
const MAX_FRAME = 1_179_712; // wire.md: receipt limit (1,179,648) + 64
const SCENARIO = "demo/budget";

// ---- canonical encoding (encoding.md §1) ----------------------------------------------------

const u64 = (n) => { const b = new Uint8Array(8); new DataView(b.buffer).setBigUint64(0, BigInt(n)); return b; };
const u32 = (n) => { const b = new Uint8Array(4); new DataView(b.buffer).setUint32(0, n); return b; };
const text = (s) => { const b = new TextEncoder().encode(s); return concat(u32(b.length), b); };
function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}
const hex = (b) => Buffer.from(b).toString("hex");

/** A reader over canonical bytes: every read checks the bytes are there. */
class Reader {
  constructor(bytes) { this.b = bytes; this.at = 0; this.dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.length); }
  take(n) {
    if (this.at + n > this.b.length) throw new Error(`unexpected end at ${this.at} (+${n})`);
    const s = this.b.subarray(this.at, this.at + n); this.at += n; return s;
  }
  u8() { return this.take(1)[0]; }
  u16() { const v = this.dv.getUint16(this.at); this.take(2); return v; }
  u32() { const v = this.dv.getUint32(this.at); this.take(4); return v; }
  u64() { this.take(8); return Number(this.dv.getBigUint64(this.at - 8)); }
  hash() { return hex(this.take(32)); }
  key() { return hex(this.take(32)); }
  sig() { return hex(this.take(64)); }
  text() { return new TextDecoder("utf-8", { fatal: true }).decode(this.take(this.u32())); }
  seq(item) { const n = this.u32(); const out = []; for (let i = 0; i < n; i++) out.push(item()); return out; }
  version() { const v = this.u8(); if (v !== 1) throw new Error(`unsupported format version ${v}`); }
  done() { if (this.at !== this.b.length) throw new Error(`${this.b.length - this.at} trailing bytes`); }
}

// encoding.md §4, "Main chain", "Checkpoints", "Proofs".
const validatorSet = (r) => { r.version(); return { epoch: r.u64(), validators: r.seq(() => ({ key: r.key(), weight: r.u64() })) }; };
function header(r) {
  r.version();
  return {
    chain_id: r.text(), height: r.u64(), epoch: r.u64(), prev: r.hash(), time_ms: r.u64(),
    anchor_root: r.hash(), moved: r.u32(), body_hash: r.hash(), validators_hash: r.hash(),
    next_validators_hash: r.hash(),
  };
}
function certificate(r) {
  r.version();
  return { height: r.u64(), round: r.u32(), block: r.hash(), signatures: r.seq(() => ({ validator: r.u16(), signature: r.sig() })) };
}
const consistencyProof = (r) => ({ from: r.u64(), to: r.u64(), path: r.seq(() => r.hash()) });
function checkpointUnlinked(r) {
  r.version();
  const c = { scenario: r.text(), size: r.u64(), root: r.hash(), main_ref: r.hash(), time_ms: r.u64() };
  c.signatures = r.seq(() => ({ key: r.key(), signature: r.sig() }));
  return c;
}

/** Response tags (wire.md, "Responses"): not the request's numbers. */
function decodeResponse(payload) {
  const r = new Reader(payload);
  r.version();
  const tag = r.u8();
  let out;
  switch (tag) {
    case 0: {
      r.version();
      out = { Trust: { chain_id: r.text(), height: r.u64(), block: r.hash(), validators: validatorSet(r) } };
      break;
    }
    case 1: out = { Block: { header: header(r), certificate: certificate(r) } }; break;
    case 2: {
      const changes = r.seq(() => ({ header: header(r), certificate: certificate(r), next: validatorSet(r) }));
      out = { EpochChanges: { changes, current: validatorSet(r) } };
      break;
    }
    case 3: return { Record: payload.subarray(2) }; // a RecordProof: compared as bytes
    case 4: out = { Consistency: { from: checkpointUnlinked(r), to: checkpointUnlinked(r), proof: consistencyProof(r) } }; break;
    case 5: out = { Error: { code: r.text(), message: r.text() } }; break;
    default: throw new Error(`unknown response tag ${tag}`);
  }
  r.done();
  return out;
}

// Requests (wire.md, "Requests").
const req = {
  trust: () => concat([1, 0]),
  head: (after) => concat([1, 1], u64(after)),
  block: (height) => concat([1, 2], u64(height)),
  epochChanges: (from) => concat([1, 3], u64(from)),
  record: (scenario, index) => concat([1, 4], text(scenario), u64(index)),
  consistency: (scenario, from, to) => concat([1, 5], text(scenario), u64(from), u64(to)),
};
const frame = (payload) => concat(u32(payload.length), payload);

// ---- the libp2p side --------------------------------------------------------------------------

async function client() {
  return createLibp2p({
    transports: [webSockets(), webRTCDirect()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
  });
}

/**
 * One request on its own stream: write one frame, read one frame (prefix, then exactly that many
 * bytes), abort the stream. Resolves `{ payload }` or `{ ended }` when the stream ends or resets
 * without a whole frame. Never awaits close.
 */
async function ask(node, addr, payload, { raw = false } = {}) {
  const stream = await node.dialProtocol(multiaddr(addr), PROTOCOL, { signal: AbortSignal.timeout(35_000) });
  stream.send(raw ? payload : frame(payload));
  const chunks = [];
  let have = 0;
  let need = null;
  const timer = setTimeout(() => stream.abort(new Error("timed out")), 35_000);
  try {
    for await (const chunk of stream) {
      const bytes = chunk.subarray(); // Uint8Array or Uint8ArrayList
      chunks.push(bytes);
      have += bytes.length;
      if (need === null && have >= 4) {
        const all = concat(...chunks);
        need = new DataView(all.buffer, all.byteOffset).getUint32(0);
        if (need > MAX_FRAME) throw new Error(`response frame of ${need} bytes`);
      }
      if (need !== null && have >= 4 + need) break;
    }
  } catch (e) {
    return { ended: `reset: ${e.message}` };
  } finally {
    clearTimeout(timer);
    stream.abort(new Error("done")); // not close(): see wire.md, WebRTC-direct
  }
  if (need === null || have < 4 + need) return { ended: `ended after ${have} bytes` };
  const all = concat(...chunks);
  assert.equal(all.length, 4 + need, "one frame and nothing after it");
  return { payload: all.subarray(4) };
}

async function call(node, addr, payload) {
  const res = await ask(node, addr, payload);
  assert.ok(res.payload, `no answer: ${res.ended}`);
  return { payload: res.payload, value: decodeResponse(res.payload) };
}

// ---- the test ---------------------------------------------------------------------------------

let relay;
let node;
let status;

before(async () => {
  // No new demo payments: the head stays put, so HTTP and libp2p answers can be compared.
  relay = await startRelay({ args: ["--demo-every-ms", "0"] });
  status = await getJson(relay.url, "/v1/status");
  node = await client();
});

after(async () => {
  await node?.stop();
  await relay?.stop();
});

const bytesOf = async (path) => new Uint8Array(await (await fetch(`${relay.url}${path}`)).arrayBuffer());
const addrOf = (kind) => status.browser_addresses.find((a) => a.includes(kind === "ws" ? "/ws/" : "/webrtc-direct/"));

for (const kind of ["ws", "webrtc-direct"]) {
  test(`wire.md client over ${kind}: answers equal the HTTP API's`, { timeout: 120_000 }, async () => {
    const addr = addrOf(kind);
    assert.ok(addr, `the relay publishes a ${kind} address: ${status.browser_addresses}`);

    // Trust: field for field with GET /v1/trust.
    const trust = (await call(node, addr, req.trust())).value.Trust;
    assert.deepEqual(trust, await getJson(relay.url, "/v1/trust"));

    // Block: byte for byte with ?format=bytes; Head answers at once when the head is above `after`.
    for (const h of [0, 1, trust.height]) {
      const { payload, value } = await call(node, addr, req.block(h));
      assert.deepEqual(payload, await bytesOf(`/v1/main/blocks/${h}?format=bytes`), `block ${h}`);
      const json = await getJson(relay.url, `/v1/main/blocks/${h}`);
      assert.deepEqual(value.Block, json.block);
    }
    const head = await call(node, addr, req.head(trust.height - 1));
    assert.equal(head.value.Block.header.height, trust.height);
    assert.deepEqual(head.payload, await bytesOf("/v1/main/head?format=bytes"));

    // Epoch changes: field for field with GET /v1/main/epochs.
    const epochs = (await call(node, addr, req.epochChanges(1))).value.EpochChanges;
    const ej = await getJson(relay.url, "/v1/main/epochs");
    assert.deepEqual(epochs.changes, ej.changes);
    assert.deepEqual(epochs.current, ej.epochs.at(-1));

    // Records: the payload minus `01 03` is the receipt's bytes.
    for (const index of [0, 1, 17]) {
      const { value } = await call(node, addr, req.record(SCENARIO, index));
      assert.ok(value.Record, `record ${index}: ${JSON.stringify(value)}`);
      const http = await bytesOf(`/v1/scenarios/${encodeURIComponent(SCENARIO)}/records/${index}?format=bytes`);
      assert.deepEqual(value.Record, http, `record ${index}`);
    }

    // Consistency: field for field, HTTP's checkpoints also carrying their link.
    const cps = (await getJson(relay.url, `/v1/scenarios/${encodeURIComponent(SCENARIO)}/checkpoints`)).checkpoints;
    const from = cps[0].size;
    const c = (await call(node, addr, req.consistency(SCENARIO, from, 0))).value.Consistency;
    const cj = await getJson(relay.url, `/v1/scenarios/${encodeURIComponent(SCENARIO)}/consistency?from=${from}`);
    const unlinked = ({ link, ...rest }) => rest;
    assert.deepEqual(c.from, unlinked(cj.from));
    assert.deepEqual(c.to, unlinked(cj.to));
    assert.deepEqual(c.proof, cj.proof);

    // Errors carry the HTTP API's codes.
    const missing = (await call(node, addr, req.record(SCENARIO, 1_000_000))).value;
    assert.equal(missing.Error?.code, "not_found", JSON.stringify(missing));
    const httpMissing = await fetch(`${relay.url}/v1/scenarios/${encodeURIComponent(SCENARIO)}/records/1000000`);
    assert.equal((await httpMissing.json()).error, "not_found");
    const noBlock = (await call(node, addr, req.block(1e12))).value;
    assert.equal(noBlock.Error?.code, "not_found", JSON.stringify(noBlock));

    // Malformed requests: wire.md says the stream is reset, with no Error answer.
    for (const [what, bytes] of [
      ["unknown tag", frame(concat([1, 9]))],
      ["wrong version", frame(concat([2, 0]))],
      ["trailing bytes", frame(concat([1, 0, 0]))],
      ["frame above 4 KiB", concat(u32(5000), new Uint8Array(5000))],
    ]) {
      const res = await ask(node, addr, bytes, { raw: true });
      assert.ok(res.ended, `${what}: expected a reset, got ${res.payload && JSON.stringify(decodeResponse(res.payload))}`);
    }

    // The connection still serves well-formed requests afterwards.
    assert.ok((await call(node, addr, req.trust())).value.Trust);
  });
}
