/** The sandbox bank's consent page: plain HTML that works without JavaScript, by keyboard and with a screen reader. */
const PERSONAS = [
  ['user_good', 'A typical customer (four accounts, a year of history)'],
  ['user_flaky', 'A customer whose bank fails now and then'],
  ['user_new_accounts', 'A customer who opens a new account later'],
  ['user_expiring', 'A customer whose consent expires in 3 days'],
] as const;

const escape = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function layout(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escape(title)}</title><style>
body{font-family:system-ui,sans-serif;max-width:32rem;margin:2rem auto;padding:0 1rem;color:#1a1a1a;line-height:1.5}
h1{font-size:1.4rem}fieldset{border:1px solid #ccc;border-radius:8px;padding:1rem}label{display:block;margin:.4rem 0}
.actions{display:flex;gap:1rem;margin-top:1.2rem}button{font-size:1rem;padding:.6rem 1.2rem;border-radius:6px;border:1px solid #555;cursor:pointer}
button.approve{background:#0b5;color:#fff;border-color:#094}button:focus-visible{outline:3px solid #36c;outline-offset:2px}
.note{color:#555;font-size:.9rem}</style></head><body><main>${body}</main></body></html>`;
}

export function consentPage(state: string): string {
  const options = PERSONAS.map(([value, label], i) =>
    `<label><input type="radio" name="persona" value="${value}"${i === 0 ? ' checked' : ''}> <code>${value}</code>: ${escape(label)}</label>`).join('');
  return layout('Sandbox bank: share your data?', `<h1>Sandbox bank: share your data?</h1>
<p>An app is asking to read your accounts, balances, transactions and contact details for 12 months. You can withdraw consent at any time.</p>
<form method="post" action="/sandbox/consent/${encodeURIComponent(state)}">
<fieldset><legend>Sign in to the sandbox bank as</legend>${options}</fieldset>
<div class="actions"><button class="approve" type="submit" name="decision" value="approve">Approve</button>
<button type="submit" name="decision" value="deny">Deny</button></div></form>
<p class="note">This is Causeway's sandbox: no real bank is contacted.</p>`);
}

export function consentResultPage(approved: boolean, connectionId: string | null, error?: string): string {
  if (error) return layout('Authorisation failed', `<h1>This link cannot be used</h1><p role="alert">${escape(error)}</p>`);
  return approved
    ? layout('Consent given', `<h1>Consent given</h1><p role="status">Your data is being retrieved for connection <code>${escape(connectionId ?? '')}</code>. You can close this window and return to the app.</p>`)
    : layout('Consent denied', `<h1>Consent denied</h1><p role="status">Nothing was shared. You can close this window and return to the app.</p>`);
}
