// dashboard.mjs - e2e.dashboard's browser half: Debian's chromium,
// headless, driven by playwright-core (which downloads no browser),
// against a real gateway, clock and test service that run.sh started.
//
// As a person would: the page asks for a token (a wrong one is refused),
// the admin's token shows the job table (schedule in words, zone, next
// fire), survives a reload (session storage), the event stream goes
// live; Trigger on a job makes its run appear in the job's history,
// running, then succeeded, with live events for it; a failing job shows
// its error; pause and resume flip the row; the gateway restarts under
// the open page, which reconnects by itself and gets the next run's
// events live; a viewer's token shows the same table with no buttons; a
// stored token the gateway refuses asks again. Any console error (a CSP
// violation among them) fails the test. A screenshot goes to $SCREENSHOT.
//
// Environment: GW_URL, ADMIN_TOKEN, VIEWER_TOKEN, SCREENSHOT, JOB_OK,
// JOB_FAIL, CHROMIUM (default /usr/bin/chromium), RESTART_FLAG (optional,
// see below). Prints "ok"/"FAIL" lines, and "fire <job> <fire_id>" for
// run.sh to check in PostgreSQL.
import { existsSync } from 'node:fs';
import { chromium } from 'playwright-core';

const env = (k, d) => {
  const v = process.env[k] ?? d;
  if (v === undefined) {
    console.error(`dashboard.mjs: ${k} is not set`);
    process.exit(2);
  }
  return v;
};
const GW = env('GW_URL');
const ADMIN = env('ADMIN_TOKEN');
const VIEWER = env('VIEWER_TOKEN');
const SHOT = env('SCREENSHOT');
const JOB_OK = env('JOB_OK');
const JOB_FAIL = env('JOB_FAIL');
const CHROMIUM = env('CHROMIUM', '/usr/bin/chromium');
// run.sh restarts the gateway when we print "restart-gateway", then
// creates this file.
const RESTART_FLAG = process.env.RESTART_FLAG;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let fails = 0;
const ok = (m) => console.log(`ok   ${m}`);
const bad = (m) => { console.log(`FAIL ${m}`); fails++; };
const check = (cond, m) => (cond ? ok(m) : bad(m));

// A step that must happen: its failure is reported, the test goes on
// (so one screenshot still shows the state) unless later steps need it.
async function step(name, fn) {
  try {
    const v = await fn();
    ok(name);
    return v;
  } catch (e) {
    bad(`${name}: ${String(e.message).split('\n')[0]}`);
    return undefined;
  }
}

// The flags the machine needs: root (no sandbox), no GPU, and nothing
// that reaches for Google's hosts on a closed network.
const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update',
    '--disable-sync', '--disable-dev-shm-usage'],
});

const consoleErrors = [];
function watch(page, who) {
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(`${who}: ${m.text()}`);
  });
  page.on('pageerror', (e) => consoleErrors.push(`${who}: ${e.message}`));
}

let shotPage = null; // the admin's page, for a picture even on failure
let shotTaken = false;

const row = (page, job) => page.locator(`#jobs-body tr[data-job="${job}"]`);

try {
  // ---- the admin ---------------------------------------------------------
  const ctx = await browser.newContext({ viewport: { width: 1440, height: 1100 } });
  const page = await ctx.newPage();
  watch(page, 'admin');
  page.setDefaultTimeout(15000);
  shotPage = page;

  const resp = await page.goto(`${GW}/admin/scheduler`);
  check(resp && resp.status() === 200, `GET /admin/scheduler: ${resp && resp.status()}`);
  await step('the page asks for a token', () => page.locator('#login').waitFor({ state: 'visible' }));

  await page.fill('#token', 'not-a-token');
  await page.click('#login-button');
  await step('a wrong token is refused (401, asked again)', async () => {
    await page.locator('#login-error').filter({ hasText: '401' }).waitFor();
    if (!(await page.locator('#main').isHidden())) throw new Error('main shown');
  });

  await page.fill('#token', ADMIN);
  await page.click('#login-button');
  await step('the admin token opens the dashboard', () => page.locator('#main').waitFor({ state: 'visible' }));
  await step('whoami: admin', async () => {
    await page.locator('#who[data-role="admin"]').waitFor();
  });
  await step('job table lists both jobs', async () => {
    await row(page, JOB_OK).waitFor();
    await row(page, JOB_FAIL).waitFor();
  });
  const cells = await row(page, JOB_OK).locator('td').allTextContents();
  check(/every|minute|hour|at /i.test(cells[2] || ''), `schedule in words: "${(cells[2] || '').trim()}"`);
  check((cells[3] || '').trim() === 'Europe/Berlin', `zone: "${(cells[3] || '').trim()}"`);
  check(/\d{4}-\d\d-\d\d \d\d:\d\d:\d\d/.test(cells[4] || ''), `next fire: "${(cells[4] || '').trim()}"`);
  check(/ingest/.test(cells[1] || ''), `service: "${(cells[1] || '').trim()}"`);

  const stored = await page.evaluate(() => sessionStorage.getItem('cronfleet.token'));
  check(stored === ADMIN, 'the token is kept in sessionStorage');
  const local = await page.evaluate(() => localStorage.length);
  check(local === 0, 'nothing in localStorage');

  await page.reload();
  await step('after a reload the page is signed in without asking', async () => {
    await row(page, JOB_OK).waitFor();
    if (await page.locator('#login').isVisible()) throw new Error('asked again');
  });
  await step('the event stream is live', () => page.locator('#live[data-live="true"]').waitFor());
  await step('scheduler running, start/stop buttons shown', async () => {
    await page.locator('#sched-state[data-state="running"]').waitFor();
    await page.locator('#sched-stop').waitFor({ state: 'visible' });
  });

  // Trigger: the run appears in the job's history, running, then done.
  await row(page, JOB_OK).locator('button[data-action="trigger"]').click();
  const fid = await step('trigger answers with a fire id', async () => {
    const n = page.locator(`#notice[data-action="trigger"][data-job="${JOB_OK}"]`);
    await n.waitFor();
    const f = await n.getAttribute('data-fire-id');
    if (!f) throw new Error(`no fire id: ${await n.textContent()}`);
    return f;
  });
  if (fid) {
    console.log(`fire ${JOB_OK} ${fid}`);
    const hist = (st) => page.locator(`#history-body tr[data-fire-id="${fid}"]${st ? `[data-status="${st}"]` : ''}`);
    await step('the run appears in the history', () => hist().first().waitFor());
    await step('the run is shown running', () => hist('running').first().waitFor({ timeout: 10000 }));
    await step('the run is shown succeeded', () => hist('succeeded').first().waitFor({ timeout: 30000 }));
    const dur = (await hist('succeeded').first().locator('td').nth(5)
      .textContent({ timeout: 2000 }).catch(() => '')) || '';
    check(/\d+(\.\d+)? s|\d+ ms/.test(dur), `the run's duration is shown: "${dur.trim()}"`);
    await step('live events: started and succeeded for the fire', async () => {
      await page.locator(`#events li[data-job="${JOB_OK}"][data-state="started"][data-fire-id="${fid}"]`).waitFor();
      await page.locator(`#events li[data-job="${JOB_OK}"][data-state="succeeded"][data-fire-id="${fid}"]`).waitFor();
    });
    await step('the job table shows the last run succeeded', () =>
      page.locator(`#jobs-body tr[data-job="${JOB_OK}"][data-last-status="succeeded"]`).waitFor({ timeout: 20000 }));
  }

  // A job that fails: its error is in the history.
  await row(page, JOB_FAIL).locator('button[data-action="trigger"]').click();
  const ffid = await step('trigger of the failing job', async () => {
    const n = page.locator(`#notice[data-action="trigger"][data-job="${JOB_FAIL}"]`);
    await n.waitFor();
    return n.getAttribute('data-fire-id');
  });
  if (ffid) {
    console.log(`fire ${JOB_FAIL} ${ffid}`);
    await step('the failed run shows its error', async () => {
      const r = page.locator(`#history-body tr[data-fire-id="${ffid}"][data-status="failed"]`).first();
      await r.waitFor({ timeout: 30000 });
      const t = await r.locator('td.err').textContent({ timeout: 2000 });
      if (!/planned failure/.test(t || '')) throw new Error(`error cell: ${t}`);
    });
    await step('live event: failed', () =>
      page.locator(`#events li[data-job="${JOB_FAIL}"][data-state="failed"]`).first().waitFor());
  }

  // Pause and resume flip the row.
  await row(page, JOB_OK).locator('button[data-action="pause"]').click();
  await step('pause: the row says paused', () =>
    page.locator(`#jobs-body tr[data-job="${JOB_OK}"][data-paused="true"] button[data-action="resume"]`).waitFor());
  await row(page, JOB_OK).locator('button[data-action="resume"]').click();
  await step('resume: the row is active again', () =>
    page.locator(`#jobs-body tr[data-job="${JOB_OK}"][data-paused="false"] button[data-action="pause"]`).waitFor());

  // The gateway restarts under the open page: the stream drops, the page
  // reconnects by itself, and the next run arrives live again.
  if (RESTART_FLAG) {
    console.log('restart-gateway');
    await step('the page shows the stream offline while the gateway is away', () =>
      page.locator('#live[data-live="false"]').waitFor({ timeout: 20000 }));
    await step('the gateway is back', async () => {
      for (let i = 0; i < 400 && !existsSync(RESTART_FLAG); i++) await sleep(100);
      if (!existsSync(RESTART_FLAG)) throw new Error('no restart within 40 s');
    });
    await step('the page reconnects to the event stream', () =>
      page.locator('#live[data-live="true"]').waitFor({ timeout: 45000 }));
    await row(page, JOB_OK).locator('button[data-action="trigger"]').click();
    const n = page.locator(`#notice[data-action="trigger"][data-job="${JOB_OK}"]`);
    const fid2 = await step('trigger after the restart', async () => {
      await n.waitFor();
      return n.getAttribute('data-fire-id');
    });
    if (fid2 && fid2 !== fid) {
      console.log(`fire ${JOB_OK} ${fid2}`);
      await step('its succeeded event arrives on the new stream', () =>
        page.locator(`#events li[data-job="${JOB_OK}"][data-state="succeeded"][data-fire-id="${fid2}"]`).waitFor({ timeout: 30000 }));
    } else {
      bad(`trigger after the restart: fire ${fid2}`);
    }
  }

  // The successful job's history open for the picture.
  await row(page, JOB_OK).locator('button.jobname').click();
  await page.locator('#detail-fires li').first().waitFor().catch(() => {});
  await page.screenshot({ path: SHOT, fullPage: true });
  shotTaken = true;
  ok(`screenshot ${SHOT}`);

  // ---- a viewer ------------------------------------------------------------
  const vctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const vpage = await vctx.newPage();
  watch(vpage, 'viewer');
  vpage.setDefaultTimeout(15000);
  await vpage.goto(`${GW}/admin/scheduler`);
  check(await vpage.evaluate(() => sessionStorage.getItem('cronfleet.token')) === null,
    'another browser context does not share the token');
  await vpage.fill('#token', VIEWER);
  await vpage.click('#login-button');
  await step('viewer sees the job table', async () => {
    await vpage.locator('#who[data-role="viewer"]').waitFor();
    await row(vpage, JOB_OK).waitFor();
  });
  check(await vpage.locator('button[data-action]').count() === 0, 'viewer: no trigger/pause buttons');
  check(!(await vpage.locator('#sched-stop').isVisible()), 'viewer: no scheduler start/stop');
  await row(vpage, JOB_OK).locator('button.jobname').click();
  await step('viewer reads the history', () =>
    vpage.locator('#history-body tr[data-status]').first().waitFor());

  // A stored token the gateway no longer takes (revoked, rotated): the
  // page asks again instead of showing stale data.
  await vpage.evaluate(() => sessionStorage.setItem('cronfleet.token', 'revoked-token'));
  await vpage.reload();
  await step('a refused stored token (401) asks for a token again', async () => {
    await vpage.locator('#login-error').filter({ hasText: '401' }).waitFor();
    if (await vpage.evaluate(() => sessionStorage.getItem('cronfleet.token')) !== null) {
      throw new Error('the refused token was kept');
    }
  });
  await vpage.fill('#token', VIEWER);
  await vpage.click('#login-button');
  await vpage.locator('#main').waitFor({ state: 'visible' });

  // Signing out forgets the token.
  await vpage.click('#signout');
  await step('sign out asks for a token again', () => vpage.locator('#login').waitFor({ state: 'visible' }));
  check(await vpage.evaluate(() => sessionStorage.getItem('cronfleet.token')) === null,
    'sign out removes the token');

  // The wrong token's 401 is the only expected console error.
  const unexpected = consoleErrors.filter((e) => !/401 \(Unauthorized\)/.test(e));
  check(unexpected.length === 0, `no console errors or CSP violations${unexpected.length ? ': ' + unexpected.join(' | ') : ''}`);
} catch (e) {
  bad(`unexpected: ${e.stack || e}`);
} finally {
  // On a failure, the state the page was in is the best clue.
  if (!shotTaken && shotPage) {
    await shotPage.screenshot({ path: SHOT, fullPage: true }).then(
      () => console.log(`screenshot of the failure: ${SHOT}`), () => {});
  }
  await browser.close();
}
process.exit(fails ? 1 : 0);
