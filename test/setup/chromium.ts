// Run by `npm test` before the suites: finds or provides the browser the portal tests drive and
// says in one line which it is, so an install (minutes, once) is not mistaken for a hung test.
import { chromiumExecutable } from '../helpers/chromium.js';

const path = chromiumExecutable();
process.stdout.write(`browser tests: Chromium at ${path}${process.env.CHROMIUM_PATH ? ' (CHROMIUM_PATH)' : ''}\n`);
