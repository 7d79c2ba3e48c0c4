/**
 * The page a user lands on back from a provider's link: plain HTML, no JavaScript. Where the link
 * was opened by the connect widget (a new window), the widget follows the connection itself.
 */
const escape = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export interface LinkResultView {
  result: 'granted' | 'denied' | 'pending' | 'duplicate' | 'error';
  connectionId: string | null;
  status: string | null;
  message: string | null;
}

const TEXT: Record<LinkResultView['result'], { title: string; body: string }> = {
  granted: { title: 'Bank connected', body: 'Your data is being retrieved. You can close this window and return to the app.' },
  duplicate: { title: 'Already connected', body: 'This bank was already connected; that connection is being updated instead. You can close this window.' },
  denied: { title: 'Not connected', body: 'Nothing was shared. You can close this window and return to the app to try again.' },
  pending: { title: 'Waiting for your bank', body: 'Your bank has not finished yet. Reload this page in a moment.' },
  error: { title: 'This link cannot be used', body: '' },
};

export function linkResultPage(v: LinkResultView): string {
  const t = TEXT[v.result];
  const body = v.result === 'error' ? escape(v.message ?? '') : `${escape(t.body)}${v.message && v.result === 'denied' ? ` <span class="why">(${escape(v.message)})</span>` : ''}`;
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escape(t.title)}</title><style>
body{font-family:system-ui,sans-serif;max-width:32rem;margin:2rem auto;padding:0 1rem;color:#1a1a1a;line-height:1.5}
h1{font-size:1.4rem}.why{color:#555}</style></head><body><main>
<h1>${escape(t.title)}</h1><p role="${v.result === 'error' ? 'alert' : 'status'}">${body}</p>
${v.connectionId ? `<p><small>Connection <code>${escape(v.connectionId)}</code></small></p>` : ''}
</main></body></html>`;
}
