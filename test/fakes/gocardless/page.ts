/**
 * The requisition's `link`: GoCardless's consent step and the bank's login in one plain page,
 * `GET /psd2/start/{requisition}/{institution}`, and its form, `POST` to the same address
 * (application/x-www-form-urlencoded):
 *
 *   action  approve | deny | error   (buttons #approve, #deny, #bank-error)
 *   login   the bank login (default `default`): the same login reaches the same bank accounts again
 *
 * A finished visit answers 303 to the requisition's `redirect` with `ref=<reference>` added to its
 * query (its own parameters kept), as GoCardless does; a refusal also carries `error` and `details`.
 * Plain HTML with stable ids, so a browser test can click through and a fetch-only test can post.
 */
import type { GcWorld, Requisition } from './world.js';

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

export interface PageAnswer { status: number; html?: string; location?: string }

function layout(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font-family:system-ui,sans-serif;max-width:30rem;margin:2rem auto;padding:0 1rem}
label{display:block;margin:.75rem 0 .25rem}input{width:100%;padding:.4rem}.buttons{display:flex;gap:.5rem;margin-top:1rem;flex-wrap:wrap}
button{padding:.5rem 1rem}</style></head><body><h1>${esc(title)}</h1>${body}</body></html>`;
}

const message = (status: number, title: string, text: string): PageAnswer => ({ status, html: layout(title, `<p id="message">${esc(text)}</p>`) });

const FINISHED = new Set(['LN', 'RJ', 'ER', 'EX', 'SU']);

function back(r: Requisition, extra: Record<string, string> = {}): PageAnswer {
  const url = new URL(r.redirect);
  url.searchParams.set('ref', r.reference);
  for (const [k, v] of Object.entries(extra)) url.searchParams.set(k, v);
  return { status: 303, location: url.toString() };
}

export function requisitionPage(world: GcWorld, method: string, id: string, institutionId: string, form: Record<string, string>): PageAnswer {
  const r = world.requisitions.get(id);
  if (!r || r.institution_id !== institutionId) return message(404, 'Link not found', 'This link is not valid.');
  const status = world.statusOf(r);
  if (FINISHED.has(status)) return message(410, 'Link already used', `This link can no longer be used (${status}). Go back to the app to start again.`);
  const inst = world.institution(r.institution_id)!;
  if (method !== 'POST') {
    world.open(r);
    const agreement = world.agreements.get(r.agreement)!;
    return {
      status: 200,
      html: layout(`Connect ${inst.name}`, `
<p>Share your <span id="institution-name" data-institution-id="${esc(inst.id)}">${esc(inst.name)}</span> data (${esc(agreement.access_scope.join(', '))})
for ${agreement.access_valid_for_days} days, with ${agreement.max_historical_days} days of history.</p>
<form method="post" action="/psd2/start/${esc(r.id)}/${esc(inst.id)}" id="consent-form">
<label for="login">Bank login</label><input id="login" name="login" value="default" autocomplete="off">
<div class="buttons">
<button type="submit" name="action" value="approve" id="approve">Approve</button>
<button type="submit" name="action" value="deny" id="deny">Deny</button>
<button type="submit" name="action" value="error" id="bank-error">Bank error</button>
</div></form>`),
    };
  }
  switch (form.action) {
    case 'approve':
      world.approve(r, form.login?.trim() || 'default');
      return back(r);
    case 'deny':
      world.deny(r);
      return back(r, { error: 'UserCancelledSession', details: 'User cancelled the session.' });
    case 'error':
      world.fail(r);
      return back(r, { error: 'ConnectionError', details: 'Couldn\'t connect to Institution' });
    default:
      return message(400, 'Unknown action', `No such action: ${form.action ?? '(none)'}.`);
  }
}
