CREATE TABLE "deletions" (
	"id" text PRIMARY KEY NOT NULL,
	"application_id" text NOT NULL,
	"user_id" text NOT NULL,
	"connection_id" text,
	"operation" text NOT NULL,
	"counts" jsonb NOT NULL,
	"requested_by" text NOT NULL,
	"created_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
ALTER TABLE "deletions" ADD CONSTRAINT "deletions_application_id_applications_id_fk" FOREIGN KEY ("application_id") REFERENCES "public"."applications"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "deletions_app_idx" ON "deletions" USING btree ("application_id","id");--> statement-breakpoint
CREATE INDEX "deletions_connection_idx" ON "deletions" USING btree ("connection_id");--> statement-breakpoint
CREATE INDEX "deletions_user_idx" ON "deletions" USING btree ("user_id");