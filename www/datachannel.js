// datachannel.js — WebRTC DataChannels between browser members of coupled
// tasks, opened on the page's thread (RTCPeerConnection exists only here)
// for the Web Workers (worker.js), with wsig as the signalling server.
//
// A worker asks {type: 'dc-open', key, sig, group, rank, peer}: a channel
// from its member `<group>-r<rank>` to `<group>-r<peer>`. The page speaks
// for that member to wsig as `<group>-r<rank>-dc` (clear of the relay's
// own connection), the lower rank offers and the higher one answers, with
// PeerJS-style OFFER, ANSWER and CANDIDATE messages; the worker gets a
// MessagePort ({cmd: 'dc-port', key, port}) that carries {ev: 'open'},
// {ev: 'data', bytes} and {ev: 'closed', why} to it and the bytes to send
// and {close: true} from it. Whatever fails is reported as 'closed': the
// worker then uses wsig's relay (members_emscripten.h).
//
// ?datachannel=fail drops every ICE candidate, so no channel ever opens
// (for tests of the fallback); ?ice=relay allows only candidates relayed
// by a TURN server (for tests of TURN, and to check one by hand).
// window.wkitChannels.stats counts what happened.
//
// STUN and TURN servers come from the pool that served the page (`wpool
// serve --ice-server`, GET ice.json beside the page, so a page behind a
// proxy path asks the same pool): without them only peers that can reach
// each other directly get a channel. No ice.json (an older pool, a page
// served elsewhere) means none.
'use strict';

(() => {
  const failOnPurpose = new URLSearchParams(location.search).get('datachannel') === 'fail';
  const relayOnly = new URLSearchParams(location.search).get('ice') === 'relay';
  let iceServers = [];
  const iceReady = fetch('ice.json', { cache: 'no-store' })
    .then((r) => (r.ok ? r.json() : { iceServers: [] }))
    .then((j) => { if (j && Array.isArray(j.iceServers)) iceServers = j.iceServers; })
    .catch(() => {});
  const HIGH_WATER = 8 << 20;  // bytes buffered in a channel before the page holds more
  const stats = { requested: 0, opened: 0, failed: 0, closed: 0, sent: 0, received: 0,
    sentBytes: 0, receivedBytes: 0, maxQueuedBytes: 0 };
  const signals = new Map();  // our signalling id -> {ws, channels: Map(peer id -> ch), early}

  function token() {
    const a = new Uint32Array(2);
    crypto.getRandomValues(a);
    return a[0].toString(16) + a[1].toString(16);
  }

  // wsig's URL as RelayLink reads it: ws://host:port/path[?key=K].
  function signalUrl(sig, id) {
    let base = sig, key = 'peerjs';
    const q = base.indexOf('?');
    if (q >= 0) {
      const k = new URLSearchParams(base.slice(q + 1)).get('key');
      if (k) key = k;
      base = base.slice(0, q);
    }
    if (!base.endsWith('/')) base += '/';
    return `${base}peerjs?key=${encodeURIComponent(key)}&id=${encodeURIComponent(id)}` +
      `&token=${token()}`;
  }

  function signal(sig, id) {
    let s = signals.get(id);
    if (s) return s;
    s = { id, ws: new WebSocket(signalUrl(sig, id)), channels: new Map(), early: new Map(),
      out: [] };
    signals.set(id, s);
    s.ws.onopen = () => {
      for (const m of s.out) s.ws.send(m);
      s.out = [];
    };
    s.ws.onmessage = (e) => {
      let m;
      try { m = JSON.parse(e.data); } catch (x) { return; }
      if (!m || !m.src) return;
      const ch = s.channels.get(m.src);
      if (ch) return onSignal(ch, m);
      if (m.type === 'OFFER' || m.type === 'CANDIDATE') {  // before the worker asked
        if (!s.early.has(m.src)) s.early.set(m.src, []);
        s.early.get(m.src).push(m);
      }
    };
    s.ws.onclose = () => {
      signals.delete(id);
      for (const ch of s.channels.values()) fail(ch, 'wsig connection closed');
    };
    s.ws.onerror = () => {};
    // wsig disconnects a silent peer.
    s.heartbeat = setInterval(() => send(s, { type: 'HEARTBEAT' }), 5000);
    return s;
  }

  function send(s, m) {
    const text = JSON.stringify(m);
    if (s.ws.readyState === WebSocket.OPEN) s.ws.send(text);
    else if (s.ws.readyState === WebSocket.CONNECTING) s.out.push(text);
  }

  function release(s, peerId) {
    s.channels.delete(peerId);
    if (s.channels.size) return;
    clearInterval(s.heartbeat);
    signals.delete(s.id);
    s.ws.close();
  }

  function post(ch, m, transfer) {
    if (ch.port) ch.port.postMessage(m, transfer || []);
  }

  // Ends a channel (once): tells the worker unless it asked for the end.
  function fail(ch, why) {
    if (ch.done) return;
    ch.done = true;
    if (ch.opened) ++stats.closed; else ++stats.failed;
    post(ch, { ev: 'closed', why });
    finish(ch);
  }

  function finish(ch) {
    ch.done = true;
    clearTimeout(ch.timer);
    if (ch.port) ch.port.close();
    ch.port = null;
    try { if (ch.pc) ch.pc.close(); } catch (x) { /* closed already */ }
    release(ch.signal, ch.peerId);
  }

  function useChannel(ch, dc) {
    ch.dc = dc;
    dc.binaryType = 'arraybuffer';
    dc.bufferedAmountLowThreshold = HIGH_WATER / 2;
    dc.onopen = () => {
      if (ch.done) return;
      ch.opened = true;
      ++stats.opened;
      clearTimeout(ch.timer);
      post(ch, { ev: 'open' });
      flush(ch);
    };
    dc.onmessage = (e) => {
      ++stats.received;
      stats.receivedBytes += e.data.byteLength;
      post(ch, { ev: 'data', bytes: e.data }, [e.data]);
    };
    dc.onclose = () => fail(ch, 'the DataChannel closed');
    dc.onbufferedamountlow = () => flush(ch);
  }

  // Moves what the member queued into the channel while its buffer is below
  // HIGH_WATER, and tells the member how much went: its w_send is held while
  // what it handed the page and the page has not sent is large, so a fast
  // sender's bytes wait in its own worker, bounded, not here.
  function flush(ch) {
    let moved = 0;
    while (ch.queue.length && ch.dc && ch.dc.readyState === 'open' &&
           ch.dc.bufferedAmount < HIGH_WATER) {
      const b = ch.queue.shift();
      ch.dc.send(b);
      ++stats.sent;
      stats.sentBytes += b.byteLength;
      moved += b.byteLength;
    }
    ch.queued -= moved;
    if (moved) post(ch, { ev: 'sent', n: moved });
  }

  function newPeerConnection(ch) {
    const pc = new RTCPeerConnection(
      { iceServers, iceTransportPolicy: relayOnly ? 'relay' : 'all' });
    ch.pc = pc;
    pc.onicecandidate = (e) => {
      if (!e.candidate || failOnPurpose) return;
      send(ch.signal, { type: 'CANDIDATE', dst: ch.peerId,
        payload: { candidate: e.candidate.toJSON(), type: 'data', connectionId: ch.connectionId } });
    };
    pc.onconnectionstatechange = () => {
      if (pc.connectionState === 'failed') fail(ch, 'ICE failed');
    };
    return pc;
  }

  async function onSignal(ch, m) {
    await iceReady;  // resolved once; messages still resume in arrival order
    if (ch.done) return;
    const p = m.payload || {};
    try {
      if (m.type === 'OFFER' && !ch.offerer && !ch.pc) {
        ch.connectionId = p.connectionId;
        const pc = newPeerConnection(ch);
        pc.ondatachannel = (e) => useChannel(ch, e.channel);
        await pc.setRemoteDescription(p.sdp);
        const answer = await pc.createAnswer();
        await pc.setLocalDescription(answer);
        send(ch.signal, { type: 'ANSWER', dst: ch.peerId,
          payload: { sdp: { type: answer.type, sdp: answer.sdp }, type: 'data',
            connectionId: ch.connectionId } });
        await remoteSet(ch);
      } else if (m.type === 'ANSWER' && ch.offerer && ch.pc) {
        await ch.pc.setRemoteDescription(p.sdp);
        await remoteSet(ch);
      } else if (m.type === 'CANDIDATE' && p.candidate) {
        if (ch.remote) await ch.pc.addIceCandidate(p.candidate);
        else ch.candidates.push(p.candidate);
      } else if (m.type === 'EXPIRE') {
        fail(ch, 'the peer never came to wsig');
      }
    } catch (e) {
      fail(ch, 'signalling: ' + (e && e.message ? e.message : e));
    }
  }

  async function remoteSet(ch) {
    ch.remote = true;
    for (const c of ch.candidates.splice(0)) await ch.pc.addIceCandidate(c);
  }

  async function open(worker, m) {
    ++stats.requested;
    const { port1, port2 } = new MessageChannel();
    const myId = `${m.group}-r${m.rank}-dc`;
    const peerId = `${m.group}-r${m.peer}-dc`;
    const s = signal(m.sig, myId);
    const ch = { port: port1, signal: s, peerId, offerer: m.rank < m.peer, connectionId: '',
      pc: null, dc: null, queue: [], queued: 0, candidates: [], remote: false, opened: false,
      done: false };
    s.channels.set(peerId, ch);
    port1.onmessage = (e) => {
      if (e.data instanceof ArrayBuffer) {
        ch.queue.push(e.data);
        ch.queued += e.data.byteLength;
        stats.maxQueuedBytes = Math.max(stats.maxQueuedBytes, ch.queued);
        flush(ch);
      } else if (e.data && e.data.close) {
        if (!ch.done) ++stats.closed;
        finish(ch);
      }
    };
    worker.postMessage({ cmd: 'dc-port', key: m.key, port: port2 }, [port2]);
    // The worker gives up after its own wait; this one only frees the page.
    ch.timer = setTimeout(() => { if (!ch.opened) fail(ch, 'no DataChannel within 30 s'); },
      30000);
    if (typeof RTCPeerConnection === 'undefined') return fail(ch, 'no WebRTC in this browser');
    try {
      await iceReady;
      if (ch.offerer) {
        ch.connectionId = 'dc_' + token();
        const pc = newPeerConnection(ch);
        useChannel(ch, pc.createDataChannel('wkit', { ordered: true }));
        const offer = await pc.createOffer();
        await pc.setLocalDescription(offer);
        send(s, { type: 'OFFER', dst: peerId,
          payload: { sdp: { type: offer.type, sdp: offer.sdp }, type: 'data',
            connectionId: ch.connectionId, label: 'wkit', reliable: true,
            serialization: 'binary' } });
      }
      for (const early of s.early.get(peerId) || []) await onSignal(ch, early);
      s.early.delete(peerId);
    } catch (e) {
      fail(ch, 'WebRTC: ' + (e && e.message ? e.message : e));
    }
  }

  window.wkitChannels = {
    // Brokers the channels `worker` asks for.
    attach(worker) {
      worker.addEventListener('message', (e) => {
        if (e.data && e.data.type === 'dc-open') open(worker, e.data);
      });
    },
    get stats() { return Object.assign({}, stats); },
    // The STUN/TURN URLs the page's connections use (not the credentials).
    async iceUrls() {
      await iceReady;
      return iceServers.map((s) => s.urls);
    },
  };
})();
