CREATE TABLE "events" (
	"id" text PRIMARY KEY NOT NULL,
	"seq" bigint GENERATED ALWAYS AS IDENTITY (sequence name "events_seq_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"application_id" text NOT NULL,
	"user_id" text NOT NULL,
	"connection_id" text,
	"type" text NOT NULL,
	"data" jsonb NOT NULL,
	"actor" text,
	"created_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "transaction_removals" (
	"id" text PRIMARY KEY NOT NULL,
	"application_id" text NOT NULL,
	"user_id" text NOT NULL,
	"connection_id" text NOT NULL,
	"account_id" text NOT NULL,
	"created_seq" bigint NOT NULL,
	"change_seq" bigint NOT NULL,
	"removed_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
ALTER TABLE "applications" ADD COLUMN "consent_end_data" text DEFAULT 'keep' NOT NULL;--> statement-breakpoint
ALTER TABLE "applications" ADD COLUMN "sandbox_outages" text[] DEFAULT '{}'::text[] NOT NULL;--> statement-breakpoint
ALTER TABLE "connections" ADD COLUMN "login_hash" text;--> statement-breakpoint
ALTER TABLE "events" ADD CONSTRAINT "events_application_id_applications_id_fk" FOREIGN KEY ("application_id") REFERENCES "public"."applications"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "transaction_removals" ADD CONSTRAINT "transaction_removals_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "events_connection_idx" ON "events" USING btree ("connection_id","created_at","seq");--> statement-breakpoint
CREATE INDEX "events_app_idx" ON "events" USING btree ("application_id","created_at","seq");--> statement-breakpoint
CREATE INDEX "transaction_removals_feed_idx" ON "transaction_removals" USING btree ("user_id","change_seq");--> statement-breakpoint
CREATE INDEX "connections_auth_state_idx" ON "connections" USING btree ("auth_state_hash");
--> statement-breakpoint
-- Ids as src/domain/ids.ts makes them: prefix, 10 base32 chars of milliseconds, 16 random.
CREATE FUNCTION causeway_new_id(prefix text, at timestamptz) RETURNS text LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  alphabet constant text := '0123456789abcdefghjkmnpqrstvwxyz';
  ms bigint := floor(extract(epoch from at) * 1000)::bigint;
  result text := '';
BEGIN
  FOR i IN 1..10 LOOP
    result := substr(alphabet, (ms % 32)::int + 1, 1) || result;
    ms := ms / 32;
  END LOOP;
  FOR i IN 1..16 LOOP
    result := result || substr(alphabet, floor(random() * 32)::int + 1, 1);
  END LOOP;
  RETURN prefix || '_' || result;
END $$;
--> statement-breakpoint
-- Every status change of a connection becomes an event in the same transaction, whichever
-- statement made it (schema.ts, events). On the application's clock: updated_at.
CREATE FUNCTION connections_status_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO events (id, application_id, user_id, connection_id, type, data, actor, created_at)
  VALUES (
    causeway_new_id('evt', NEW.updated_at), NEW.application_id, NEW.user_id, NEW.id,
    CASE WHEN TG_OP = 'INSERT' THEN 'connection.created' ELSE 'connection.status_changed' END,
    jsonb_build_object(
      'from', CASE WHEN TG_OP = 'INSERT' THEN NULL ELSE OLD.status END,
      'previousReason', CASE WHEN TG_OP = 'INSERT' THEN NULL ELSE OLD.status_reason END,
      'to', NEW.status, 'reason', NEW.status_reason, 'method', NEW.method, 'institutionId', NEW.institution_id),
    NULL, NEW.updated_at);
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER connections_created_event AFTER INSERT ON connections
  FOR EACH ROW EXECUTE FUNCTION connections_status_event();
--> statement-breakpoint
CREATE TRIGGER connections_status_event AFTER UPDATE OF status, status_reason ON connections
  FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.status_reason IS DISTINCT FROM NEW.status_reason)
  EXECUTE FUNCTION connections_status_event();
