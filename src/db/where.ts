/** Where the database is, for a person: the embedded directory, or PostgreSQL's host and database (never the user or the password). */
export function databaseLabel(databaseUrl: string | null, dataDir: string): string {
  if (!databaseUrl) return `the embedded database in ${dataDir}`;
  try {
    const u = new URL(databaseUrl);
    return `PostgreSQL at ${u.host || 'localhost'}${u.pathname && u.pathname !== '/' ? u.pathname : ''}`;
  } catch {
    return 'PostgreSQL';
  }
}
