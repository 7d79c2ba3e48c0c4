CREATE TABLE "provider_budgets" (
	"connection_id" text NOT NULL,
	"account_key" text NOT NULL,
	"scope" text NOT NULL,
	"limit" integer,
	"remaining" integer NOT NULL,
	"reset_at" timestamp with time zone NOT NULL,
	"updated_at" timestamp with time zone NOT NULL,
	CONSTRAINT "provider_budgets_connection_id_account_key_scope_pk" PRIMARY KEY("connection_id","account_key","scope")
);
--> statement-breakpoint
CREATE TABLE "provider_state" (
	"provider" text NOT NULL,
	"key" text NOT NULL,
	"value_enc" text NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"updated_at" timestamp with time zone NOT NULL,
	CONSTRAINT "provider_state_provider_key_pk" PRIMARY KEY("provider","key")
);
--> statement-breakpoint
ALTER TABLE "institutions" ADD COLUMN "history_days" integer;--> statement-breakpoint
ALTER TABLE "institutions" ADD COLUMN "max_access_days" integer;--> statement-breakpoint
ALTER TABLE "provider_budgets" ADD CONSTRAINT "provider_budgets_connection_id_connections_id_fk" FOREIGN KEY ("connection_id") REFERENCES "public"."connections"("id") ON DELETE cascade ON UPDATE no action;