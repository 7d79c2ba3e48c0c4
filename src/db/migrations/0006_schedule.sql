CREATE SEQUENCE IF NOT EXISTS "connection_schedule_slot";--> statement-breakpoint
ALTER TABLE "applications" ADD COLUMN "refresh_interval_hours" integer DEFAULT 24 NOT NULL;--> statement-breakpoint
ALTER TABLE "connections" ADD COLUMN "schedule_slot" bigint DEFAULT nextval('connection_schedule_slot') NOT NULL;--> statement-breakpoint
ALTER TABLE "connections" ADD COLUMN "next_scheduled_refresh_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "connections" ADD COLUMN "consecutive_failures" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
CREATE INDEX "connections_due_idx" ON "connections" USING btree ("next_scheduled_refresh_at") WHERE "connections"."status" in ('active', 'degraded');
--> statement-breakpoint
-- Connections synced before the scheduler existed: their first background refresh a day after their last sync.
UPDATE "connections" SET "next_scheduled_refresh_at" = coalesce("last_successful_sync_at", "updated_at") + interval '1 day' WHERE "status" IN ('active', 'degraded');
