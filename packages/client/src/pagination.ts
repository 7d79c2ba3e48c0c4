/**
 * Cursor iteration over Causeway's lists. Every list answers `{ data, nextCursor }`, and the next
 * page is asked for with `cursor=<nextCursor>` until it is null. A List fetches nothing until it is
 * iterated, then one page at a time:
 *
 *   for await (const tx of client.transactions.list(userId, { limit: 100 })) { … }
 */
import type { Page } from './types.js';

export class List<T> implements AsyncIterable<T> {
  constructor(private readonly fetchPage: (cursor: string | undefined) => Promise<Page<T>>) {}

  /** Each page in turn, for callers that work a page at a time (or want its cursor to resume later). */
  async *pages(): AsyncGenerator<Page<T>> {
    let cursor: string | undefined;
    do {
      const page = await this.fetchPage(cursor);
      yield page;
      cursor = page.nextCursor ?? undefined;
    } while (cursor !== undefined);
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<T> {
    for await (const page of this.pages()) yield* page.data;
  }

  /** Every item of every page, in order. Lists can be long: prefer `for await` unless you need them all at once. */
  async toArray(): Promise<T[]> {
    const all: T[] = [];
    for await (const item of this) all.push(item);
    return all;
  }
}
