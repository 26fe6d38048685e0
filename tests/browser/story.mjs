// The demo's story through the web console, in Debian's headless Chromium
// driven by playwright-core (no browser download): XA's analyst asks XB and
// sees the hit; XB's analyst asks XA, whose terms want a person's approval;
// XA's approver approves; XB's analyst collects the hit; XA's DPO searches
// the traveller's history. Screenshots of each step at 1280 px, and of the
// ask form at 800 px. Prints "ok N - ..." or "not ok N - ..." per step and
// exits 1 if any failed.
//   node story.mjs XA_URL XB_URL SHOTS_DIR   (passwords in PW_ANA, PW_APR, PW_DPO)
import { chromium } from 'playwright-core';

const [xa, xb, shots] = process.argv.slice(2);
const users = { ana: ['pwt-ana', process.env.PW_ANA], apr: ['pwt-apr', process.env.PW_APR],
  dpo: ['pwt-dpo1', process.env.PW_DPO] };
let n = 0, failed = 0;

async function step(name, fn) {
  n++;
  try {
    await fn();
    console.log(`ok ${n} - ${name}`);
  } catch (e) {
    failed++;
    console.log(`not ok ${n} - ${name}: ${String(e.message || e).split('\n')[0]}`);
  }
}

function expect(cond, what) {
  if (!cond) throw new Error(what);
}

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});

// A person's own browser: a context of its own (cookies apart), the test CA not installed.
async function signIn(url, who, width = 1280) {
  const ctx = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width, height: 900 } });
  const page = await ctx.newPage();
  page.on('pageerror', (e) => { failed++; console.log(`not ok - page error: ${e.message}`); });
  await page.goto(url + '/');
  await page.getByLabel('User name').fill(users[who][0]);
  await page.getByLabel('Password').fill(users[who][1]);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('#who-name').filter({ hasText: users[who][0] }).waitFor({ timeout: 10000 });
  return { ctx, page };
}

async function ask(page, partner, caseRef, doc = 'P1234567', issuer = 'XAA') {
  await page.getByRole('tab', { name: 'Ask' }).click();
  const f = page.locator('#ask');
  await page.locator('#ask-to option').first().waitFor({ state: 'attached' });
  await f.getByLabel('Partner', { exact: true }).selectOption(partner);
  await f.getByLabel('Purpose', { exact: true }).selectOption('terrorism');
  await f.getByLabel('Search by', { exact: true }).selectOption('document');
  await f.getByLabel('Document number', { exact: true }).fill(doc);
  await f.getByLabel('Issuing state (ICAO code)', { exact: true }).fill(issuer);
  await f.getByLabel('Case reference', { exact: true }).fill(caseRef);
  await f.getByLabel('Justification', { exact: true }).fill('a known associate of a suspect');
  await page.getByRole('button', { name: 'Ask', exact: true }).click();
  await page.locator('#ask-result .answer').first().waitFor({ timeout: 40000 });
}

let xaAna, xbAna, xaApr, xaDpo;

await step('XA analyst signs in with her machine account', async () => {
  xaAna = await signIn(xa, 'ana');
  expect(await xaAna.page.getByRole('tab', { name: 'Approvals' }).count() === 0,
    'an operator has no Approvals tab');
});

await step('the ask form offers only what the XA-XB agreement allows', async () => {
  const p = xaAna.page;
  await p.getByRole('tab', { name: 'Ask' }).click();
  await p.locator('#ask-to option').first().waitFor({ state: 'attached' });
  await p.locator('#ask').getByLabel('Partner', { exact: true }).selectOption('XB-PIU');
  const purposes = await p.locator('#ask-purpose option').evaluateAll((o) => o.map((x) => x.value));
  expect(purposes.join(',') === 'terrorism,serious_crime', 'purposes ' + purposes);
  const types = await p.locator('#ask-type option').evaluateAll((o) => o.map((x) => x.value));
  expect(!types.includes('flight'), 'XA-XB has no flight queries: ' + types);
  await p.locator('#ask').getByLabel('Partner', { exact: true }).selectOption('XC-PIU');
  const typesC = await p.locator('#ask-type option').evaluateAll((o) => o.map((x) => x.value));
  expect(typesC.includes('flight') && !typesC.includes('name'), 'XA-XC types ' + typesC);
});

await step('XA analyst asks XB and sees the hit', async () => {
  const p = xaAna.page;
  await ask(p, 'XB-PIU', 'CASE-B1');
  const box = p.locator('#ask-result .answer').first();
  expect((await box.getAttribute('class')).includes('hit'), 'not a hit');
  expect((await box.textContent()).includes('DOE'), 'no identity shown');
  expect((await box.textContent()).includes('api.identity'), 'categories not named');
  await p.screenshot({ path: `${shots}/1-xa-analyst-hit.png`, fullPage: true });
});

await step('an old record comes masked, and the page says so', async () => {
  const p = xaAna.page;
  await ask(p, 'XB-PIU', 'CASE-B3', 'M1111111', 'XBB');
  const box = p.locator('#ask-result .answer').first();
  const badge = box.locator('.badge.masked');
  expect(await badge.count() === 1, 'no MASKED badge');
  expect((await badge.textContent()).startsWith('MASKED: '), 'badge says ' + await badge.textContent());
  expect(!(await box.textContent()).includes('Müller'), 'a masked name is shown');
  await p.screenshot({ path: `${shots}/1b-xa-analyst-masked.png`, fullPage: true });
});

await step('partner text is shown as text, never as HTML', async () => {
  const p = xaAna.page;
  // A case reference the page shows again (My queries) with markup in it.
  await p.evaluate(() => sessionStorage.setItem('asked', JSON.stringify([{ id: 'f'.repeat(32),
    peer: '<img src=x onerror="document.title=1">', case: '<b>x</b>', outcome: 'answered' }])));
  await p.getByRole('tab', { name: 'My queries' }).click();
  expect(await p.locator('#results-table img, #results-table b').count() === 0, 'markup was rendered');
  expect((await p.locator('#results-table').textContent()).includes('<img src=x'), 'text not shown');
});

await step('XB analyst asks XA: held for approval there', async () => {
  xbAna = await signIn(xb, 'ana');
  const p = xbAna.page;
  await ask(p, 'XA-PIU', 'CASE-B2');
  const t = await p.locator('#ask-result').textContent();
  expect(t.includes('WAITING') || t.includes('waiting'), 'not waiting: ' + t.slice(0, 200));
  await p.screenshot({ path: `${shots}/2-xb-analyst-waiting.png`, fullPage: true });
});

await step('XA approver sees the request and approves it', async () => {
  xaApr = await signIn(xa, 'apr');
  const p = xaApr.page;
  expect(await p.getByRole('tab', { name: 'Ask' }).count() === 0, 'an approver has no Ask tab');
  await p.getByRole('tab', { name: 'Approvals' }).click();
  const item = p.locator('#approvals-list .item').filter({ hasText: 'CASE-B2' });
  await item.waitFor({ timeout: 10000 });
  await p.screenshot({ path: `${shots}/3-xa-approver-queue.png`, fullPage: true });
  await item.getByRole('button', { name: 'Approve' }).click();
  await p.locator('#notice.ok').filter({ hasText: 'Approved' }).waitFor({ timeout: 10000 });
});

await step('XB analyst collects the hit', async () => {
  const p = xbAna.page;
  await p.getByRole('tab', { name: 'My queries' }).click();
  await p.locator('#results-table tbody tr').filter({ hasText: 'CASE-B2' }).getByRole('button', { name: 'Collect' }).click();
  await p.locator('#results-detail .answer.hit').waitFor({ timeout: 20000 });
  // XB-XA answers hit or no hit only (disclosure hit_no_hit): no one's details.
  const t = await p.locator('#results-detail').textContent();
  expect(t.includes('hit_no_hit') && !t.includes('DOE'), 'not a hit/no-hit answer: ' + t.slice(0, 200));
  await p.screenshot({ path: `${shots}/4-xb-analyst-collected.png`, fullPage: true });
});

await step('XA DPO searches the traveller: who asked, who approved, via piugw-web', async () => {
  xaDpo = await signIn(xa, 'dpo');
  const p = xaDpo.page;
  await p.getByRole('tab', { name: 'Audit' }).click();
  await p.locator('#audit').getByLabel('Document number').fill('P1234567');
  await p.locator('#audit').getByLabel('Issuing state').fill('XAA');
  await p.getByRole('button', { name: 'Search' }).click();
  await p.locator('#audit-list table tbody tr').first().waitFor({ timeout: 20000 });
  const t = await p.locator('#audit-list').textContent();
  expect(t.includes('pwt-apr (via piugw-web)'), 'the approval by pwt-apr via piugw-web is not listed');
  expect(t.includes('pwt-ana (via piugw-web)'), 'the query by pwt-ana via piugw-web is not listed');
  await p.screenshot({ path: `${shots}/5-xa-dpo-audit.png`, fullPage: true });
});

await step('XA DPO opens the oversight report from the console', async () => {
  const p = xaDpo.page;
  const today = new Date().toISOString().slice(0, 10);
  await p.locator('#report-form').getByLabel('First day').fill(today);
  await p.locator('#report-form').getByLabel('Last day').fill(today);
  const [tab] = await Promise.all([p.context().waitForEvent('page'),
    p.getByRole('button', { name: 'Open the report' }).click()]);
  await tab.waitForLoadState();
  const t = await tab.textContent('body');
  expect(t.includes('XB-PIU'), 'no exchanges with XB in the report');
  expect(!t.includes('P1234567') && !t.includes('DOE'), 'a traveller in the report');
  await tab.screenshot({ path: `${shots}/7-xa-dpo-report.png`, fullPage: true });
  await tab.close();
});

await step('the console works at 800 px: nothing wider than the window', async () => {
  const { ctx, page } = await signIn(xa, 'ana', 800);
  await page.getByRole('tab', { name: 'Ask' }).click();
  await page.locator('#ask-to option').first().waitFor({ state: 'attached' });
  const w = await page.evaluate(() => document.documentElement.scrollWidth);
  expect(w <= 800, 'page is ' + w + ' px wide');
  await page.screenshot({ path: `${shots}/6-ask-800px.png`, fullPage: true });
  await ctx.close();
});

await step('every form field has a label', async () => {
  const unlabelled = await xaAna.page.evaluate(() => [...document.querySelectorAll('input, select, textarea')]
    .filter((e) => !e.labels?.length && !e.getAttribute('aria-label')).map((e) => e.id));
  expect(unlabelled.length === 0, 'unlabelled: ' + unlabelled.join(','));
});

await step('signing out ends the session', async () => {
  const p = xaAna.page;
  await p.getByRole('button', { name: 'Sign out' }).click();
  await p.getByRole('heading', { name: 'Sign in' }).waitFor();
  const r = await p.evaluate(async () => (await fetch('/v1/session')).status);
  expect(r === 401, 'session still answers ' + r);
});

await browser.close();
console.log(`${n - failed} of ${n} steps passed`);
process.exit(failed ? 1 : 0);
