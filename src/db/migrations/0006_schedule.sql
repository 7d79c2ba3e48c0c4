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
-- Connections linked before the scheduler existed: their first background refresh at their phase of
-- the day (domain/schedule.ts phaseMs: frac(slot x golden ratio) of the interval), within the next 24 h
-- on their application's clock, so an upgraded deployment spreads them as evenly as new ones, with no
-- burst of every refresh that would be "overdue".
UPDATE "connections" SET "next_scheduled_refresh_at" = p.at + CASE WHEN p.at <= p.now THEN interval '1 day' ELSE interval '0' END
FROM (
  SELECT c.id, n.now, (date_trunc('day', n.now AT TIME ZONE 'UTC') AT TIME ZONE 'UTC') + (c.schedule_slot * 0.6180339887498949 - floor(c.schedule_slot * 0.6180339887498949)) * interval '1 day' AS at
  FROM "connections" c JOIN "applications" a ON a.id = c.application_id
  CROSS JOIN LATERAL (SELECT now() + a.clock_offset_ms * interval '1 millisecond' AS now) n
) p
WHERE p.id = "connections".id AND "connections"."status" IN ('active', 'degraded');
