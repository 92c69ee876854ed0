#!/usr/bin/env node
// Opens the rendered reference page (scripts/render-spec.sh) in headless Debian Chromium and
// checks, the way a reader sees it, that the page shows the operation, every request and
// response field of the DIS document with its constraints and required flag, the X-Auth-Token
// header and both error body shapes, and that it loads nothing from the network.
//
//   node scripts/check-rendered-page.mjs [HTML] [--screenshot PNG]
//   default HTML: target/spec-review/reference.html
//
// The expectations below are written out by hand from the DIS document, not
// read from the spec: a field or constraint removed from the spec must make this check fail.
// Driver: playwright-core (pinned in scripts/package.json; it downloads no browser) with
// executablePath /usr/bin/chromium. Exit 0 = all checks passed, 1 = a check failed.

import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';

const args = process.argv.slice(2);
let html = 'target/spec-review/reference.html';
let screenshot = null;
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--screenshot') screenshot = args[++i];
  else html = args[i];
}

const failures = [];
const fail = (msg) => failures.push(msg);
let passed = 0;
const ok = () => passed++;
let fieldsShown = 0;

// ---- 1. Static: the file itself references no external script, stylesheet or font. ----------
const source = readFileSync(html, 'utf8');
const external = [
  /<script[^>]*\ssrc\s*=\s*["']?(?!data:)[^"'\s>]+/gi, // any <script src> (the bundle is inline)
  /<link\s[^>]*href\s*=\s*["']?https?:[^"'\s>]+/gi, // stylesheet, preload, font links
  /url\(\s*["']?https?:[^)]+\)/gi, // CSS url(http...) (fonts, images in styles)
  /@import\s+(?:url\()?\s*["']?https?:[^;]+/gi,
];
for (const re of external) {
  for (const m of source.match(re) ?? []) fail(`static: external reference in the page: ${m.slice(0, 160)}`);
}
ok();

// ---- 2. Runtime: open the page with every network request intercepted. ---------------------
// Redoc 3 always tries to show Redocly's attribution logo from cdn.redoc.ly (an <img>, hidden
// when it fails to load). It is not a script, style or font and the page works without it, so
// it is the one request tolerated; it is blocked like everything else.
const TOLERATED = [/^https:\/\/cdn\.redoc\.ly\/redoc\/logo-mini(-full)?\.svg$/];
const requests = [];
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: [
    '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-sync',
    '--disable-background-networking', '--disable-component-update',
  ],
});
try {
  const context = await browser.newContext({ viewport: { width: 1400, height: 2400 } });
  await context.route('**/*', (route) => {
    const req = route.request();
    if (/^(file|data|blob):/.test(req.url())) return route.continue();
    requests.push({ url: req.url(), type: req.resourceType() });
    return route.abort('blockedbyclient');
  });
  const page = await context.newPage();
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  await page.goto(pathToFileURL(resolve(html)).href, { waitUntil: 'load' });

  // The operation, as listed on the landing page; a click opens it (hash route).
  const opLink = page.locator('a[href="#/records/sendrecords"]').filter({ hasText: '/v2/{project_id}/records' });
  try {
    await opLink.first().waitFor({ state: 'visible', timeout: 20000 });
    ok();
  } catch {
    fail('operation: no visible link "POST /v2/{project_id}/records" (#/records/sendrecords) on the page');
  }
  if (await opLink.count()) {
    await opLink.first().click();
  } else {
    await page.goto(pathToFileURL(resolve(html)).href + '#/records/sendrecords');
  }
  const id = (key) => page.locator(`[id="records/sendrecords/${key}"]`);
  await id('t=request&path=stream_name').waitFor({ state: 'visible', timeout: 20000 }).catch(() => {});

  const visibleText = async (text, what) => {
    const l = page.getByText(text, { exact: true });
    const n = await l.count();
    for (let i = 0; i < n; i++) if (await l.nth(i).isVisible()) return ok();
    fail(`${what}: ${JSON.stringify(text)} is not visible`);
  };
  await visibleText('Upload records to a stream. 上传数据。', 'operation summary');
  await visibleText('/v2/{project_id}/records', 'operation path');
  await visibleText('POST', 'operation method');
  if (!page.url().endsWith('#/records/sendrecords')) fail(`operation: link led to ${page.url()}`);

  // ---- 3. Every field of tables 1, 3, 4, 5, 6: name, required flag, constraints, wording. ----
  // [Redoc's property id (below records/sendrecords/), field name, required, things the
  //  field's header line must show, a piece of the DIS document's Chinese description]
  const EHK = '^(0|[1-9][0-9]{0,17}|[1-8][0-9]{18}|9[0-1][0-9]{17}|92[0-1][0-9]{16}|922[0-2][0-9]{15}|9223[0-2][0-9]{14}|92233[0-6][0-9]{13}|922337[0-1][0-9]{12}|92233720[0-2][0-9]{10}|922337203[0-5][0-9]{9}|9223372036[0-7][0-9]{8}|92233720368[0-4][0-9]{7}|922337203685[0-3][0-9]{6}|9223372036854[0-6][0-9]{5}|92233720368547[0-6][0-9]{4}|922337203685477[0-4][0-9]{3}|9223372036854775[0-7][0-9]{2}|922337203685477580[0-7])$';
  const FIELDS = [
    ['t=request&in=path&path=project_id', 'project_id', true, ['string'], '项目ID'],
    // maxLength 60: Redoc 3 writes "[ 1 .. 60 ] characters" (with minLength 1) or "<= 60 characters".
    ['t=request&path=stream_name', 'stream_name', true, ['string', /\[ 1 \.\. 60 \] characters|<= 60 characters/], '已创建的通道名称'],
    ['t=request&path=stream_id', 'stream_id', false, ['string'], '通道唯一标识符'],
    ['t=request&path=records', 'records', true, ['Array of objects', 'non-empty', 'PutRecordsRequestEntry'], '待上传的记录列表'],
    ['t=request&path=records[]/data', 'data', true, ['string', '(byte)'], '需要上传的数据'],
    ['t=request&path=records[]/explicit_hash_key', 'explicit_hash_key', false, ['string', EHK], '取值范围：0~long.max'],
    ['t=request&path=records[]/partition_id', 'partition_id', false, ['string', '^(shardId-[0-9]{10}|[0-9]{1,10})$'], '通道的分区标识符'],
    ['t=request&path=records[]/partition_key', 'partition_key', false, ['string'], '数据将写入的分区'],
    ['t=response&c=200&path=failed_record_count', 'failed_record_count', false, ['integer', '(int32)', '>= 0'], '上传失败的数据数量'],
    ['t=response&c=200&path=records', 'records', false, ['Array of objects', 'PutRecordsResultEntry'], '上传结果列表'],
    ['t=response&c=200&path=records[]/partition_id', 'partition_id', false, ['string'], '数据上传到的分区ID'],
    ['t=response&c=200&path=records[]/sequence_number', 'sequence_number', false, ['string'], '数据上传到的序列号'],
    ['t=response&c=200&path=records[]/error_code', 'error_code', false, ['string'], '错误码'],
    ['t=response&c=200&path=records[]/error_message', 'error_message', false, ['string'], '错误消息'],
  ];
  const checkField = async ([key, name, required, shows, chinese], where) => {
    const item = id(key);
    const what = `${where} field ${name} (${key})`;
    if ((await item.count()) !== 1 || !(await item.isVisible())) return fail(`${what}: not visible on the page`);
    // A long pattern is cut short until "Show pattern" is clicked.
    const more = item.getByText('Show pattern', { exact: true });
    if (await more.count()) await more.first().click();
    const head = (await item.locator(':scope > div').first().innerText()).replace(/\u200b/g, '');
    const lines = head.split('\n').map((s) => s.trim());
    const shown = lines[0].replace(/^records\[\]\./, '');
    if (shown !== name) fail(`${what}: shows the name ${JSON.stringify(lines[0])}`);
    const isRequired = lines.includes('required');
    if (isRequired !== required) fail(`${what}: required flag on the page is ${isRequired}, expected ${required}`);
    for (const s of shows) {
      const found = typeof s === 'string' ? head.includes(s) : s.test(head);
      if (!found) fail(`${what}: does not show ${s} (shows ${JSON.stringify(head.slice(0, 200))})`);
    }
    if (!(await item.getByText(chinese).first().isVisible().catch(() => false)))
      fail(`${what}: the document's wording ${JSON.stringify(chinese)} is not visible`);
    fieldsShown++;
    ok();
  };
  for (const f of FIELDS) await checkField(f, f[0].includes('response') ? 'response 200' : 'request');

  if (screenshot) {
    // A window as tall as the page, so the sticky sidebar sits at the top of the picture.
    const height = await page.evaluate(() => document.documentElement.scrollHeight);
    await page.setViewportSize({ width: 1400, height: Math.min(height, 8000) });
    await page.waitForTimeout(500);
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: screenshot });
    await page.setViewportSize({ width: 1400, height: 2400 });
    console.log(`screenshot: ${screenshot}`);
  }

  // ---- 4. Responses: every status of the spec, and both error body shapes. ------------------
  for (const code of ['200', '400', '401', '403', '404', '413', '429', '441', '500', '503']) {
    const tab = page.getByRole('tab', { name: code, exact: true });
    if (!(await tab.first().isVisible().catch(() => false))) fail(`responses: status ${code} is not visible`);
    else ok();
  }
  await page.getByRole('tab', { name: '400', exact: true }).first().click().catch(() => {});
  await checkField(['t=response&c=400&path=&oneof=0/errorcode', 'errorCode', true, ['string'], 'DIS错误码'], 'response 400 DisServiceError');
  await checkField(['t=response&c=400&path=&oneof=0/message', 'message', false, ['string'], 'DIS错误消息'], 'response 400 DisServiceError');
  const gw = page.getByRole('tab', { name: 'ApiGatewayError', exact: true });
  if (await gw.count()) {
    await gw.first().click();
    await checkField(['t=response&c=400&path=&oneof=1/error_code', 'error_code', true, ['string'], 'API网关错误码'], 'response 400 ApiGatewayError');
    await checkField(['t=response&c=400&path=&oneof=1/error_msg', 'error_msg', false, ['string'], 'API网关错误消息'], 'response 400 ApiGatewayError');
  } else fail('response 400: no "One of: ... ApiGatewayError" switch');

  // ---- 5. Table 2: the X-Auth-Token header, shown by the operation's security details. -------
  const details = page.getByText('View security details', { exact: true });
  if (await details.count()) {
    await details.first().click();
    const dialog = page.locator('[role="dialog"]').filter({ hasText: 'Header parameter name' });
    const panel = (await dialog.count()) ? dialog.first() : page.locator('body');
    const token = panel.getByText('X-Auth-Token', { exact: true });
    if (!(await token.first().isVisible().catch(() => false)))
      fail('security: header parameter name "X-Auth-Token" is not visible in the security details');
    else ok();
    if (!(await panel.getByText('Header parameter name').first().isVisible().catch(() => false)))
      fail('security: "Header parameter name" is not visible');
    if (!(await panel.getByText(/用户Token/).first().isVisible().catch(() => false)))
      fail('security: the document\'s X-Auth-Token wording (用户Token) is not visible');
    await page.keyboard.press('Escape');
  } else fail('security: no "View security details" on the operation');

  for (const e of pageErrors) fail(`page error: ${e}`);
} finally {
  await browser.close();
}

for (const r of requests) {
  if (TOLERATED.some((re) => re.test(r.url)) && r.type === 'image') continue;
  fail(`network: the page requested ${r.type} ${r.url}`);
}
const tolerated = requests.filter((r) => TOLERATED.some((re) => re.test(r.url)) && r.type === 'image');

if (failures.length) {
  for (const f of failures) console.error(`FAIL ${f}`);
  console.error(`page check FAILED: ${failures.length} problem(s) in ${html}`);
  process.exit(1);
}
console.log(
  `page check OK: ${html}: operation, ${fieldsShown} fields with required flags, constraints and ` +
    `Chinese wording, 10 response statuses, both error shapes, X-Auth-Token; ${passed} checks; ` +
    `network: nothing loaded (${tolerated.length} attribution-logo image request(s) blocked)`,
);
