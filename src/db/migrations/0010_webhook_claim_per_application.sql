DROP INDEX "webhook_deliveries_due_idx";--> statement-breakpoint
CREATE INDEX "webhook_deliveries_app_due_idx" ON "webhook_deliveries" USING btree ("application_id","next_attempt_at") WHERE "webhook_deliveries"."status" = 'pending';--> statement-breakpoint
-- A test clock an earlier version let run past the bound (domain/clock.ts MAX_CLOCK_OFFSET_MS: 3,650 days) is brought back within it.
UPDATE "applications" SET "clock_offset_ms" = least(greatest("clock_offset_ms", 0), 315360000000) WHERE "clock_offset_ms" NOT BETWEEN 0 AND 315360000000;
