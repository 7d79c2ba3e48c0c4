/**
 * The Hosted Link page, `GET /hl/:link_token`, and its form, `POST /hl/:link_token`
 * (application/x-www-form-urlencoded):
 *
 *   action          success | exit | error   (the three buttons: Continue, Exit, Institution error)
 *   institution_id  the chosen institution (ignored when preselected or in update mode)
 *   username        default user_good
 *   password        default pass_good; `error_<CODE>` ends the session with that error
 *   error_code      for action=error; default INSTITUTION_NOT_RESPONDING
 *
 * A finished session answers 303 to the token's hosted_link.completion_redirect_uri (its query
 * string untouched), or a small "done" page when there is none. Plain HTML with stable ids, so a
 * browser test can click through and a fetch-only test can post the form.
 */
import type { FakeInstitution } from './institutions.js';
import { SANDBOX_PASSWORD, SANDBOX_USERNAME, type LinkToken } from './link.js';

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

function layout(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font-family:system-ui,sans-serif;max-width:28rem;margin:2rem auto;padding:0 1rem}
label{display:block;margin:.75rem 0 .25rem}input,select{width:100%;padding:.4rem}
.buttons{display:flex;gap:.5rem;margin-top:1rem;flex-wrap:wrap}button{padding:.5rem 1rem}
.problem{color:#b00020}.inst{font-weight:600}</style></head>
<body><h1>${esc(title)}</h1>${body}</body></html>`;
}

export interface PageInput {
  token: LinkToken;
  /** Institution fixed by preselection or update mode. */
  fixed: FakeInstitution | undefined;
  /** Choices when nothing is fixed. */
  choices: FakeInstitution[];
  problem?: string;
  chosen?: string | undefined;
}

export function linkPage(p: PageInput): string {
  const t = p.token;
  const mode = t.updateItem ? 'Reconnect your account' : `Connect your account to ${t.request.client_name}`;
  const institution = p.fixed
    ? `<p>Institution: <span class="inst" id="institution-name" data-institution-id="${esc(p.fixed.institution_id)}">${esc(p.fixed.name)}</span></p>
<input type="hidden" name="institution_id" value="${esc(p.fixed.institution_id)}">`
    : `<label for="institution_id">Institution</label>
<select id="institution_id" name="institution_id">${p.choices.map((i) => `<option value="${esc(i.institution_id)}"${i.institution_id === p.chosen ? ' selected' : ''}>${esc(i.name)}</option>`).join('')}</select>`;
  return layout(mode, `
${p.problem ? `<p class="problem" id="problem" role="alert">${esc(p.problem)}</p>` : ''}
<form method="post" action="/hl/${esc(t.token)}" id="link-form">
${institution}
<p>Sandbox credentials: <code>${SANDBOX_USERNAME}</code> / <code>${SANDBOX_PASSWORD}</code></p>
<label for="username">Username</label><input id="username" name="username" value="${SANDBOX_USERNAME}" autocomplete="off">
<label for="password">Password</label><input id="password" name="password" type="password" value="${SANDBOX_PASSWORD}" autocomplete="off">
<input type="hidden" name="error_code" value="INSTITUTION_NOT_RESPONDING">
<div class="buttons">
<button type="submit" name="action" value="success" id="continue">Continue</button>
<button type="submit" name="action" value="exit" id="exit">Exit</button>
<button type="submit" name="action" value="error" id="institution-error">Institution error</button>
</div>
</form>`);
}

export function messagePage(title: string, message: string): string {
  return layout(title, `<p id="message">${esc(message)}</p>`);
}
