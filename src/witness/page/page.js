// dnsfence leak test, in the browser. Served by `dnsfence witness` with the page; no external
// resource, no cookie, no storage. It creates a run on the witness, makes the browser look up the
// run's probe names (fetches to http(s)://<probe>.<zone>/, answered by the witness with CORS and
// Timing-Allow-Origin), reads the run back (who asked the authority; what a reporting VPN server
// caught) and says what happened in the words of docs/leaktest.md.
//
// The pure part (judge, timing, clock) takes plain data and is unit-tested in headless Chromium
// (tests/witness/page_logic_test.html); the rest drives the DOM.
'use strict';

const DnsfenceLeaktest = (() => {
  const ORDER = ['TAMPERED', 'STEALTH', 'LEAK-TYPE2', 'INCONCLUSIVE', 'INTERCEPTED', 'OK'];
  const SETTINGS = {
    probes: 4, // fresh names looked up at once
    stealthMs: 600, // a wait this long before the authority saw a name means a fallback
    maxClockErrorMs: 300, // beyond it the page's and the witness's clocks cannot be compared
    slackMs: 50, // the authority's time may lie this far outside a lookup (timer granularity)
    maxHoldMs: 2000, // ?hold=MS: the authority answers every name this late (a slow authority)
    probeTimeoutMs: 9000, // a lookup still pending then is given up
    reportWaitMs: 1500, // how long to wait for a reporting VPN server's batch
    pollMs: 250,
  };

  const worst = (verdicts) =>
    verdicts.reduce((w, v) => (ORDER.indexOf(v) < ORDER.indexOf(w) ? v : w), 'OK');

  const median = (xs) => {
    if (xs.length === 0) return NaN;
    const s = [...xs].sort((a, b) => a - b);
    const m = Math.floor(s.length / 2);
    return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
  };

  const bare = (name) => String(name).toLowerCase().replace(/\.$/, '');

  // The token name a probe is recorded under: behaviour labels (delay-300., noreply.) stripped.
  const tokenName = (name) => bare(name).replace(/^(noreply|servfail|delay-\d+)\./, '');

  // How the witness's clock relates to the page's: server = page + offset, to within `error`.
  // `sendMs`/`recvMs` bracket the request whose answer carried `serverIso`.
  function clock(sendMs, recvMs, serverIso) {
    const server = Date.parse(serverIso);
    if (!Number.isFinite(server) || !(recvMs >= sendMs)) return { offset: 0, error: Infinity };
    return { offset: server - (sendMs + recvMs) / 2, error: (recvMs - sendMs) / 2 };
  }

  // When the authority first saw each token name, in the witness's clock (ms): the earliest
  // first_seen of the resolvers that asked for it. All probes leave at once, so a resolver's
  // first_seen is when its first one arrived.
  function authorityTimes(run) {
    const at = new Map();
    for (const r of run.resolvers || []) {
      const t = Date.parse(r.first_seen);
      if (!Number.isFinite(t)) continue;
      for (const n of r.names || []) {
        const k = bare(n);
        if (!at.has(k) || at.get(k) > t) at.set(k, t);
      }
    }
    return at;
  }

  // Stealth by timing. Each probe's lookup splits at the moment the authority saw its name:
  // before (the device's resolvers, fallbacks included) and after (the answer's way back). A
  // device that asked a resolver which never answered waits its fallback time (about 1 s) before
  // asking the next one: every fresh name then waits long *before* the authority, while the
  // resolver that did answer is quick after it. A slow authority or a distant resolver makes the
  // time *after* long instead: that is not a fallback. The chain is checked on each name: the
  // authority's time must fall inside the lookup, to within the clocks' matching error.
  // probes: [{name, ok, lookupStart (page epoch ms), lookupMs}]
  function timing(probes, run, clk) {
    const out = { state: 'unmeasured', reason: '', rows: [], preMs: NaN, postMs: NaN };
    const at = authorityTimes(run);
    for (const p of probes) {
      if (!Number.isFinite(p.lookupMs) || !Number.isFinite(p.lookupStart)) continue;
      const seen = at.get(tokenName(p.name));
      const pre = seen === undefined ? NaN : seen - clk.offset - p.lookupStart;
      out.rows.push({ name: p.name, lookupMs: p.lookupMs, preMs: pre, postMs: p.lookupMs - pre });
    }
    const timed = out.rows.filter((r) => Number.isFinite(r.preMs));
    if (timed.length < 3) {
      out.reason = 'the browser gave the lookup times of too few test names';
      return out;
    }
    if (!(clk.error <= SETTINGS.maxClockErrorMs)) {
      out.reason = `the clocks of this page and the test server could only be matched to within ${Math.round(clk.error)} ms`;
      return out;
    }
    const slack = clk.error + SETTINGS.slackMs;
    const outside = timed.filter((r) => r.preMs < -slack || r.postMs < -slack);
    if (outside.length > 0) {
      out.reason = `the test server saw ${outside.length} name(s) outside the time your browser spent looking them up: these times do not measure the lookups`;
      return out;
    }
    out.preMs = median(timed.map((r) => r.preMs));
    out.postMs = median(timed.map((r) => r.postMs));
    const lookup = median(timed.map((r) => r.lookupMs));
    const slowBefore = timed.filter((r) => r.preMs >= SETTINGS.stealthMs).length;
    if (slowBefore >= timed.length - 1 && out.preMs >= SETTINGS.stealthMs && out.postMs < out.preMs) {
      out.state = 'stealth';
    } else if (lookup >= SETTINGS.stealthMs) {
      out.state = 'slow'; // slow after the authority: a distant or busy resolver, not a fallback
    } else {
      out.state = 'fast';
    }
    return out;
  }

  const ms = (v) => (Number.isFinite(v) ? `${Math.round(v)} ms` : 'unknown');
  const list = (xs) => (xs && xs.length ? xs.join(', ') : 'none');
  const vpnName = (r) => (r.operator ? `your VPN's resolver (${r.operator})` : "your VPN's resolver");

  function resolverFinding(r) {
    const details = [
      ['Address', r.address],
      ['Family', r.family === 'ipv6' ? 'IPv6' : 'IPv4'],
      ['Transport', list(r.transports)],
      ['Query types', list(r.types)],
      ['Test names it asked for', String((r.names || []).length)],
      ['First seen', r.first_seen],
    ];
    if (r.role === 'vpn') {
      details.push(['Whose', r.operator || "your VPN's"]);
      return {
        verdict: 'OK',
        title: `${r.address} is ${vpnName(r)}`,
        text: 'It looked up the test names for you, as it should.',
        details,
      };
    }
    details.push(['Whose', 'not your VPN\'s']);
    return {
      verdict: 'LEAK-TYPE2',
      title: `${r.address} is not your VPN's resolver, and it saw your lookups`,
      text:
        'This resolver looked up the test names your browser asked for, so it sees every name you look up, ' +
        'even while you use the VPN. Usually it is the one a Wi-Fi network, hotel or ISP handed out.',
      note:
        'If your device asked it outside the VPN tunnel, it also saw your real address (a Type 1 leak); ' +
        'a browser cannot tell which.',
      details,
    };
  }

  function reportFinding(rep) {
    const details = [
      ['Address your device asked', rep.destination],
      ['Family', rep.family === 'ipv6' ? 'IPv6' : 'IPv4'],
      ['Kind of address', rep.class],
      ['Transport', rep.transport],
      ['What the VPN server did', rep.action],
      ['Reported by', rep.reporter],
      ['Test names', String((rep.names || []).length)],
    ];
    if (rep.role === 'vpn') {
      return {
        verdict: 'OK',
        title: `Your device asked ${rep.destination}, your VPN's resolver`,
        text: 'The VPN server answered it with your VPN\'s resolver.',
        details,
      };
    }
    if (rep.action === 'passed') {
      return {
        verdict: 'OK',
        title: `Your device asked ${rep.destination}; your VPN lets lookups through to it`,
        text: 'The VPN operator allows this resolver (a resolver users may choose), so it answered itself.',
        details,
      };
    }
    if (rep.action === 'refused') {
      return {
        verdict: 'OK',
        title: `Your device asked ${rep.destination}; your VPN blocked it`,
        text: 'The VPN server refused the lookup, so that resolver never saw it.',
        details,
      };
    }
    return {
      verdict: 'INTERCEPTED',
      title: `Your device sent lookups to ${rep.destination}, which is not your VPN's resolver; this VPN server caught them`,
      text:
        'Your VPN answered them through its own resolver, so that resolver never saw your names. ' +
        'Your device is still set to use it (often the Wi-Fi hands it out): on a VPN without this protection, it would leak.',
      details,
    };
  }

  function timingFinding(t) {
    const details = [
      ['Wait before the test server saw each name', t.rows.map((r) => ms(r.preMs)).join(', ')],
      ['Time after it (the answer\'s way back)', t.rows.map((r) => ms(r.postMs)).join(', ')],
      ['Threshold', `${SETTINGS.stealthMs} ms`],
    ];
    return {
      verdict: 'STEALTH',
      title: 'A resolver on your network\'s settings received your lookups and did not answer: a Stealth DNS server is likely',
      text:
        `Every test name waited about ${ms(t.preMs)} before any resolver brought it to the test server, then came back quickly. ` +
        'That is how long a device waits for a resolver that never answers before it asks the next one. ' +
        'The silent resolver can still log every name you look up, and leak tests that only list the resolvers they see cannot show it.',
      details,
    };
  }

  const HEADLINE = {
    OK: 'No leak: your lookups stayed with your VPN',
    INTERCEPTED: 'Protected: your VPN caught lookups meant for another resolver',
    'LEAK-TYPE2': 'Leak: a resolver that is not your VPN\'s sees your lookups',
    STEALTH: 'Leak: a hidden resolver likely receives your lookups',
    TAMPERED: 'Forged answers: someone answers lookups in the test server\'s place',
    INCONCLUSIVE: 'The test could not tell',
  };

  const SUMMARY = {
    OK: 'Your lookups went to your VPN\'s resolver. Nobody else saw the names you look up.',
    INTERCEPTED:
      'Your device is set to ask a resolver that is not your VPN\'s, but your VPN caught those lookups and answered them itself. You are protected.',
    'LEAK-TYPE2': 'Your lookups reached a resolver that is not your VPN\'s. It sees every name you look up.',
    STEALTH:
      'A resolver on your network\'s settings received your lookups and did not answer: a Stealth DNS server is likely. It can log every name you look up.',
    TAMPERED: 'A resolver answered the test names with addresses the test server never gave out.',
    INCONCLUSIVE: 'The test could not tell. This never means "no leak".',
  };

  // The verdict from what the browser saw (probes, with timings) and what the witness recorded
  // (run: resolvers with roles, reports from VPN servers). Findings are worst first.
  function judge(run, probes, clk) {
    const findings = [];
    const resolvers = run.resolvers || [];
    const reports = run.reports || [];
    for (const r of resolvers) findings.push(resolverFinding(r));
    for (const rep of reports) findings.push(reportFinding(rep));
    const t = timing(probes, run, clk);
    const caught = reports.some((rep) => rep.role !== 'vpn' && rep.action !== 'passed');
    if (t.state === 'stealth' && !caught) findings.push(timingFinding(t));
    const reached = probes.filter((p) => p.ok).length;
    const forged = probes.filter((p) => p.forged).length;
    if (forged > 0) {
      findings.push({
        verdict: 'TAMPERED',
        title: `${forged} test name(s) led your browser to a server that is not the test server`,
        text: 'Something on the way answered the lookups with other addresses.',
        details: [['Names', probes.filter((p) => p.forged).map((p) => p.name).join(', ')]],
      });
    }
    if (resolvers.length === 0 && reports.length === 0) {
      findings.push({
        verdict: 'INCONCLUSIVE',
        title: 'No resolver brought the test names to the test server',
        text:
          reached === 0
            ? 'Your browser could not look up the test names (no network, a blocker, or a browser that resolves names elsewhere).'
            : 'The lookups worked, but the test server has no record of them.',
        details: [['Names looked up', `${reached} of ${probes.length}`]],
      });
    } else if (reached < probes.length) {
      const failed = probes.filter((p) => !p.ok && !p.forged);
      if (failed.length > 0 && reached === 0) {
        findings.push({
          verdict: 'INCONCLUSIVE',
          title: 'Your browser could not fetch any test name',
          text: 'The test server saw the lookups, but your browser did not reach it afterwards.',
          details: [['Names', failed.map((p) => p.name).join(', ')]],
        });
      }
    }
    findings.sort((a, b) => ORDER.indexOf(a.verdict) - ORDER.indexOf(b.verdict));
    const overall = findings.length ? worst(findings.map((f) => f.verdict)) : 'INCONCLUSIVE';
    return { overall, headline: HEADLINE[overall], summary: SUMMARY[overall], findings, timing: t };
  }

  return { ORDER, SETTINGS, worst, median, clock, timing, judge, tokenName, HEADLINE, SUMMARY };
})();

// ---- The page: runs the test and shows the result. ----------------------------------------------

(() => {
  if (typeof document === 'undefined' || !document.getElementById('dnsfence-test')) return;
  const L = DnsfenceLeaktest;
  const S = L.SETTINGS;
  const $ = (id) => document.getElementById(id);
  const say = (text) => {
    $('status').textContent = text;
  };

  async function json(method, path, body) {
    const init = { method, cache: 'no-store', credentials: 'omit', headers: {} };
    if (body !== undefined) {
      init.body = JSON.stringify(body);
      init.headers['Content-Type'] = 'application/json';
    }
    const send = Date.now();
    const res = await fetch(path, init);
    const recv = Date.now();
    let data = null;
    try {
      data = await res.json();
    } catch (e) {
      data = null;
    }
    if (!res.ok) throw new Error((data && data.error) || `the test server answered HTTP ${res.status}`);
    return { data, send, recv };
  }

  function probeUrl(name) {
    const port = location.port ? `:${location.port}` : '';
    return `${location.protocol}//${name.replace(/\.$/, '')}${port}/probe`;
  }

  // One fetch to a probe name: the browser looks the name up, then asks the witness (which names
  // the host it was asked as, so a forged answer that reached another server shows).
  async function probe(name) {
    const url = probeUrl(name);
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), S.probeTimeoutMs);
    const out = { name, ok: false, forged: false, lookupStart: NaN, lookupMs: NaN, error: '' };
    try {
      const res = await fetch(url, { cache: 'no-store', credentials: 'omit', mode: 'cors', referrerPolicy: 'no-referrer', signal: ctl.signal });
      const body = await res.json().catch(() => null);
      out.ok = res.ok && body !== null && String(body.probe).toLowerCase() === name.replace(/\.$/, '').toLowerCase();
      out.forged = !out.ok && res.ok;
    } catch (e) {
      out.error = e.name === 'AbortError' ? 'timed out' : 'failed';
    } finally {
      clearTimeout(timer);
    }
    const entry = performance.getEntriesByName(url, 'resource').pop();
    if (entry && entry.domainLookupEnd > 0 && entry.domainLookupStart > 0) {
      out.lookupStart = performance.timeOrigin + entry.domainLookupStart;
      out.lookupMs = entry.domainLookupEnd - entry.domainLookupStart;
    }
    return out;
  }

  async function runTest() {
    $('start').disabled = true;
    $('result').hidden = true;
    document.body.dataset.state = 'running';
    const t0 = performance.now();
    try {
      say('Creating a test run on the test server…');
      const created = await json('POST', '/runs', { count: S.probes });
      const run0 = created.data;
      const clk = L.clock(created.send, created.recv, run0.now || run0.created);
      const names = run0.probes.slice(0, S.probes);
      if (names.length < S.probes) throw new Error('the test server gave too few test names');
      // ?hold=MS makes the authority answer every name MS late (its delay-<ms>. label): how a slow
      // authority looks, for operators checking the timing verdict.
      const hold = Math.min(Number(new URLSearchParams(location.search).get('hold')) || 0, S.maxHoldMs);
      const jobs = names.map((n) => ({ name: hold > 0 ? `delay-${Math.round(hold)}.${n}` : n }));
      let done = 0;
      say(`Looking up ${jobs.length} test names (waiting for your device's resolvers)…`);
      const probes = await Promise.all(
        jobs.map((j) =>
          probe(j.name).then((p) => {
            done += 1;
            say(`Looking up test names: ${done} of ${jobs.length} done…`);
            return p;
          }),
        ),
      );
      say('Reading which resolvers asked the test server…');
      let run = (await json('GET', `/runs/${run0.run}`)).data;
      const until = performance.now() + S.reportWaitMs;
      while ((run.reporters || 0) > 0 && (run.reports || []).length === 0 && performance.now() < until) {
        say(`Waiting for your VPN server's report (up to ${(S.reportWaitMs / 1000).toFixed(1)} s)…`);
        await new Promise((r) => setTimeout(r, S.pollMs));
        run = (await json('GET', `/runs/${run0.run}`)).data;
      }
      show(L.judge(run, probes, clk), run, performance.now() - t0, probes);
    } catch (e) {
      show({ overall: 'INCONCLUSIVE', headline: L.HEADLINE.INCONCLUSIVE, summary: L.SUMMARY.INCONCLUSIVE, findings: [{ verdict: 'INCONCLUSIVE', title: 'The test could not run', text: String(e.message || e), details: [] }] }, null, performance.now() - t0);
    }
    $('start').disabled = false;
  }

  function el(tag, text, cls) {
    const e = document.createElement(tag);
    if (text !== undefined) e.textContent = text;
    if (cls) e.className = cls;
    return e;
  }

  function findingItem(f) {
    const li = el('li', undefined, `finding v-${f.verdict.toLowerCase()}`);
    const head = el('p', undefined, 'finding-title');
    head.append(el('span', f.verdict, 'tag'), ' ', el('strong', f.title));
    li.append(head, el('p', f.text));
    if (f.note) li.append(el('p', f.note, 'note'));
    if (f.details && f.details.length) {
      const d = el('details');
      d.append(el('summary', 'Details'));
      const dl = el('dl');
      for (const [k, v] of f.details) dl.append(el('dt', k), el('dd', String(v)));
      d.append(dl);
      li.append(d);
    }
    return li;
  }

  // What the lookups' times said, for the curious: one line per name, or why they say nothing.
  function timingDetails(t) {
    if (!t) return [];
    const out = [el('summary', 'How long the lookups took')];
    const word = { stealth: 'a wait before any resolver reached the test server: a silent resolver', fast: 'quick, no fallback', slow: 'slow, but after reaching the test server: a slow path, not a silent resolver', unmeasured: `not measured: ${t.reason}` };
    out.push(el('p', `Timing check: ${word[t.state] || t.state}.`));
    const dl = el('dl');
    for (const r of t.rows || []) {
      dl.append(el('dt', r.name), el('dd', `${Math.round(r.lookupMs)} ms lookup, ${Number.isFinite(r.preMs) ? Math.round(r.preMs) : '?'} ms before the test server saw it`));
    }
    out.push(dl);
    return out;
  }

  function show(result, run, elapsedMs, probes) {
    const box = $('result');
    box.dataset.verdict = result.overall;
    $('verdict-word').textContent = result.overall;
    $('verdict-headline').textContent = result.headline;
    $('verdict-text').textContent = result.summary;
    $('timing').replaceChildren(...timingDetails(result.timing));
    const ul = $('findings');
    ul.replaceChildren(...result.findings.map(findingItem));
    $('elapsed').textContent = `Finished in ${(elapsedMs / 1000).toFixed(1)} s.`;
    if (run && run.expires && run.created) {
      const minutes = Math.round((Date.parse(run.expires) - Date.parse(run.created)) / 60000);
      $('retention').textContent = `${minutes} minutes`;
    }
    box.hidden = false;
    say(`Done: ${result.overall}.`);
    // For scripts driving the page (the lab's tests): what it concluded and from what.
    window.dnsfenceResult = {
      overall: result.overall,
      findings: result.findings.map((f) => ({ verdict: f.verdict, title: f.title })),
      timing: result.timing,
      probes: (probes || []).map((p) => ({ name: p.name, ok: p.ok, lookupMs: p.lookupMs })),
      run: run && run.run,
      elapsedMs,
    };
    document.body.dataset.state = 'done';
    $('verdict').focus();
  }

  $('start').addEventListener('click', runTest);
  runTest();
})();
