// Headless Chromium (Debian's /usr/bin/chromium) through playwright-core.
// A missing Chromium is a failure, never a skip: CI installs it (.ci/run).
import { access, mkdir } from "node:fs/promises";
import path from "node:path";
import { chromium } from "playwright-core";
import { root } from "./paths.mjs";

export const CHROMIUM = process.env.EDGEFLAG_CHROMIUM ?? "/usr/bin/chromium";
const FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
  "--disable-component-update", "--disable-sync", "--no-first-run"];

/** Screenshots go here (gitignored). */
export const shotsDir = path.join(root, ".dev", "js-e2e");

/** launch starts Chromium, or throws saying how to install it. */
export async function launch() {
  try {
    await access(CHROMIUM);
  } catch {
    throw new Error(`${CHROMIUM} not found: the browser tests need Debian's chromium (apt-get install -y chromium; .ci/run does it)`);
  }
  await mkdir(shotsDir, { recursive: true });
  return chromium.launch({ executablePath: CHROMIUM, args: FLAGS });
}

/** newPage opens a page that fails the test on any uncaught page error. */
export async function newPage(browser, errors) {
  const page = await browser.newPage();
  page.on("pageerror", (e) => errors.push(`page error: ${e.message}`));
  page.on("console", (m) => { if (m.type() === "error") errors.push(`console: ${m.text()}`); });
  return page;
}
