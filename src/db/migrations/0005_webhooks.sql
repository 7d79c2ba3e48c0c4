CREATE TABLE "webhook_attempts" (
	"id" text PRIMARY KEY NOT NULL,
	"delivery_id" text NOT NULL,
	"attempted_at" timestamp with time zone NOT NULL,
	"status_code" integer,
	"duration_ms" integer NOT NULL,
	"error" text,
	"response_body" text
);
--> statement-breakpoint
CREATE TABLE "webhook_deliveries" (
	"id" text PRIMARY KEY NOT NULL,
	"application_id" text NOT NULL,
	"endpoint_id" text NOT NULL,
	"event_id" text NOT NULL,
	"connection_id" text,
	"status" text NOT NULL,
	"trigger" text NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"next_attempt_at" timestamp with time zone NOT NULL,
	"lease_until" timestamp with time zone,
	"lease_token" text,
	"last_status_code" integer,
	"created_at" timestamp with time zone NOT NULL,
	"updated_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "webhook_endpoints" (
	"id" text PRIMARY KEY NOT NULL,
	"application_id" text NOT NULL,
	"url" text NOT NULL,
	"description" text,
	"event_types" text[] NOT NULL,
	"enabled" boolean DEFAULT true NOT NULL,
	"disabled_reason" text,
	"secret_enc" text NOT NULL,
	"previous_secret_enc" text,
	"previous_secret_expires_at" timestamp with time zone,
	"failing_since" timestamp with time zone,
	"created_at" timestamp with time zone NOT NULL,
	"updated_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
ALTER TABLE "events" ALTER COLUMN "user_id" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "webhook_attempts" ADD CONSTRAINT "webhook_attempts_delivery_id_webhook_deliveries_id_fk" FOREIGN KEY ("delivery_id") REFERENCES "public"."webhook_deliveries"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "webhook_deliveries" ADD CONSTRAINT "webhook_deliveries_endpoint_id_webhook_endpoints_id_fk" FOREIGN KEY ("endpoint_id") REFERENCES "public"."webhook_endpoints"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "webhook_endpoints" ADD CONSTRAINT "webhook_endpoints_application_id_applications_id_fk" FOREIGN KEY ("application_id") REFERENCES "public"."applications"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "webhook_attempts_delivery_idx" ON "webhook_attempts" USING btree ("delivery_id","attempted_at");--> statement-breakpoint
CREATE INDEX "webhook_deliveries_due_idx" ON "webhook_deliveries" USING btree ("next_attempt_at") WHERE "webhook_deliveries"."status" = 'pending';--> statement-breakpoint
CREATE INDEX "webhook_deliveries_endpoint_idx" ON "webhook_deliveries" USING btree ("endpoint_id","id");--> statement-breakpoint
CREATE INDEX "webhook_deliveries_connection_idx" ON "webhook_deliveries" USING btree ("connection_id","created_at");--> statement-breakpoint
CREATE INDEX "webhook_endpoints_app_idx" ON "webhook_endpoints" USING btree ("application_id","id");
--> statement-breakpoint
-- Every event reaches every enabled endpoint of its application that takes its type, as a pending
-- delivery written in the event's own transaction (schema.ts, webhook_deliveries). A test event is
-- for one endpoint only and is delivered by the service that makes it.
CREATE FUNCTION events_fan_out() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO webhook_deliveries (id, application_id, endpoint_id, event_id, connection_id, status, trigger, attempts, next_attempt_at, created_at, updated_at)
  SELECT causeway_new_id('whd', NEW.created_at), NEW.application_id, e.id, NEW.id, NEW.connection_id, 'pending', 'event', 0,
    NEW.created_at, NEW.created_at, NEW.created_at
  FROM webhook_endpoints e
  WHERE e.application_id = NEW.application_id AND e.enabled AND (cardinality(e.event_types) = 0 OR NEW.type = ANY (e.event_types));
  IF FOUND THEN
    PERFORM pg_notify('causeway_webhooks', '');
  END IF;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER events_fan_out AFTER INSERT ON events
  FOR EACH ROW WHEN (NEW.type <> 'webhook_endpoint.test') EXECUTE FUNCTION events_fan_out();
--> statement-breakpoint
-- Status changes, as in 0004, plus the events PRODUCT.md §4 names for the changes apps act on:
-- connection.activated, connection.access_expiring_soon, connection.new_accounts_available.
CREATE OR REPLACE FUNCTION connections_status_event() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  was_status text := CASE WHEN TG_OP = 'INSERT' THEN NULL ELSE OLD.status END;
  was_reason text := CASE WHEN TG_OP = 'INSERT' THEN NULL ELSE OLD.status_reason END;
  data jsonb := jsonb_build_object('from', was_status, 'previousReason', was_reason, 'to', NEW.status, 'reason', NEW.status_reason,
    'method', NEW.method, 'institutionId', NEW.institution_id);
BEGIN
  INSERT INTO events (id, application_id, user_id, connection_id, type, data, actor, created_at)
  VALUES (causeway_new_id('evt', NEW.updated_at), NEW.application_id, NEW.user_id, NEW.id,
    CASE WHEN TG_OP = 'INSERT' THEN 'connection.created' ELSE 'connection.status_changed' END, data, NULL, NEW.updated_at);
  IF NEW.status = 'active' AND was_status IS DISTINCT FROM 'active' THEN
    INSERT INTO events (id, application_id, user_id, connection_id, type, data, actor, created_at)
    VALUES (causeway_new_id('evt', NEW.updated_at), NEW.application_id, NEW.user_id, NEW.id, 'connection.activated', data, NULL, NEW.updated_at);
  END IF;
  IF NEW.status_reason IN ('access_expiring_soon', 'new_accounts_available') AND was_reason IS DISTINCT FROM NEW.status_reason THEN
    INSERT INTO events (id, application_id, user_id, connection_id, type, data, actor, created_at)
    VALUES (causeway_new_id('evt', NEW.updated_at), NEW.application_id, NEW.user_id, NEW.id, 'connection.' || NEW.status_reason, data, NULL, NEW.updated_at);
  END IF;
  RETURN NULL;
END $$;
--> statement-breakpoint
-- A job that ends writes job.completed or job.failed (a cancelled job is a failed one, with its
-- status in the data), whichever statement ended it.
CREATE FUNCTION jobs_end_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO events (id, application_id, user_id, connection_id, type, data, actor, created_at)
  VALUES (causeway_new_id('evt', NEW.updated_at), NEW.application_id, NEW.user_id, NEW.connection_id,
    CASE WHEN NEW.status = 'succeeded' THEN 'job.completed' ELSE 'job.failed' END,
    jsonb_build_object('jobId', NEW.id, 'type', NEW.type, 'trigger', NEW.trigger, 'status', NEW.status, 'errorCode', NEW.error_code),
    NULL, NEW.updated_at);
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER jobs_end_event AFTER UPDATE OF status ON jobs
  FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status AND NEW.status IN ('succeeded', 'failed', 'cancelled'))
  EXECUTE FUNCTION jobs_end_event();
--> statement-breakpoint
-- Causeway disabling an endpoint (a 410, or five days of failures) says so in an event, in the
-- same statement that disabled it. The app switching one off itself (no reason) is no news.
CREATE FUNCTION webhook_endpoint_disabled_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO events (id, application_id, user_id, connection_id, type, data, actor, created_at)
  VALUES (causeway_new_id('evt', NEW.updated_at), NEW.application_id, NULL, NULL, 'webhook_endpoint.disabled',
    jsonb_build_object('endpointId', NEW.id, 'url', NEW.url, 'reason', NEW.disabled_reason), 'system', NEW.updated_at);
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER webhook_endpoint_disabled_event AFTER UPDATE OF enabled ON webhook_endpoints
  FOR EACH ROW WHEN (OLD.enabled AND NOT NEW.enabled AND NEW.disabled_reason IS NOT NULL)
  EXECUTE FUNCTION webhook_endpoint_disabled_event();
