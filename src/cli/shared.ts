/**
 * What every `causeway` command shares and --help may load: messages and the errors that end a
 * command. What needs the database (the core, the application a command acts for) is in context.ts.
 */

/** Messages and progress go to stderr; stdout keeps what a script reads. */
export const say = (line: string) => process.stderr.write(`${line}\n`);

export const count = (n: number) => n.toLocaleString('en-US');

/**
 * A mistake in the command: the message, then the usage (the command's help, added by index.ts
 * when the command does not give one). Exit code 2.
 */
export class UsageError extends Error {
  constructor(message: string, readonly usage: string | null = null) { super(message); }
}
/** The command was right but cannot be done as things are (a provider without settings, a provider's refusal): one line. Exit code 1. */
export class CliError extends Error {}
