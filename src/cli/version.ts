/** The version package.json names, read once (package.json is not under src/, so it is read rather than imported). */
import fs from 'node:fs';

export const VERSION: string = (JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
