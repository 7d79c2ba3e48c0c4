CREATE SEQUENCE IF NOT EXISTS "connection_schedule_slot";--> statement-breakpoint
CREATE TABLE "refresh_schedule" (
	"connection_id" text PRIMARY KEY NOT NULL,
	"application_id" text NOT NULL,
	"next_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
ALTER TABLE "applications" ADD COLUMN "refresh_interval_hours" integer DEFAULT 24 NOT NULL;--> statement-breakpoint
ALTER TABLE "connections" ADD COLUMN "schedule_slot" bigint DEFAULT nextval('connection_schedule_slot') NOT NULL;--> statement-breakpoint
ALTER TABLE "connections" ADD COLUMN "next_scheduled_refresh_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "connections" ADD COLUMN "consecutive_failures" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "refresh_schedule" ADD CONSTRAINT "refresh_schedule_connection_id_connections_id_fk" FOREIGN KEY ("connection_id") REFERENCES "public"."connections"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "refresh_schedule_due_idx" ON "refresh_schedule" USING btree ("application_id","next_at");--> statement-breakpoint
-- connections.next_scheduled_refresh_at is the truth; refresh_schedule mirrors it for the scheduler.
CREATE FUNCTION connections_schedule_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.next_scheduled_refresh_at IS NULL THEN
    DELETE FROM refresh_schedule WHERE connection_id = NEW.id;
  ELSE
    INSERT INTO refresh_schedule (connection_id, application_id, next_at) VALUES (NEW.id, NEW.application_id, NEW.next_scheduled_refresh_at)
    ON CONFLICT (connection_id) DO UPDATE SET next_at = EXCLUDED.next_at;
  END IF;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER connections_schedule_sync AFTER INSERT OR UPDATE OF next_scheduled_refresh_at ON connections
  FOR EACH ROW EXECUTE FUNCTION connections_schedule_sync();
--> statement-breakpoint
-- Connections synced before the scheduler existed: their first background refresh a day after their last sync.
UPDATE "connections" SET "next_scheduled_refresh_at" = coalesce("last_successful_sync_at", "updated_at") + interval '1 day' WHERE "status" IN ('active', 'degraded');
