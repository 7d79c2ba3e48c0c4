/** Column kinds every table file uses. */
import { bigint, timestamp } from 'drizzle-orm/pg-core';

export const ts = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });
/** Money in minor units. */
export const money = (name: string) => bigint(name, { mode: 'number' });
