/** mode=products: choose more data for an existing connection to share. */
import { useState } from 'react';
import type { ConnectionStart } from '../shared/api';
import { ErrorBox, Notice, useAction } from '../shared/ui';
import { BankHeader, type BodyProps, type Screen } from './screens';
import { productWords } from './share';

export function Products({ api, who, screen, setScreen }: BodyProps & { screen: Extract<Screen, { kind: 'products' }> }) {
  const missing = screen.institution.products.filter((p) => !screen.connection.products.includes(p));
  const [chosen, setChosen] = useState<string[]>(missing);
  const action = useAction();
  const submit = (e: React.FormEvent) => {
    e.preventDefault();
    void action.run(async () => {
      const r = await api.post<ConnectionStart>(`/users/${who.userId}/connections/${screen.connection.id}/products`, { products: chosen });
      if (r.job) setScreen({ kind: 'progress', institution: screen.institution, connection: r.connection, job: r.job });
      else setScreen({ kind: 'done', institution: screen.institution, connection: r.connection, job: null });
    });
  };
  return (
    <section aria-labelledby="products-title">
      <BankHeader institution={screen.institution} />
      <h2 id="products-title">Choose what else to share</h2>
      {missing.length === 0 ? <Notice>This connection already shares everything {screen.institution.name} offers.</Notice> : (
        <form onSubmit={submit}>
          <fieldset>
            <legend>Data to add</legend>
            {missing.map((p) => (
              <label key={p} className="radio">
                <input type="checkbox" checked={chosen.includes(p)} onChange={(e) => setChosen(e.target.checked ? [...chosen, p] : chosen.filter((x) => x !== p))} />
                <span><strong>{productWords(p, screen.institution).title}</strong><br /><span className="muted small">{productWords(p, screen.institution).detail}</span></span>
              </label>
            ))}
          </fieldset>
          <button type="submit" className="primary" disabled={action.busy || chosen.length === 0}>Share</button>
        </form>
      )}
      <ErrorBox error={action.error} />
    </section>
  );
}
