// The settings types auth reads, inferred from the zod schema without loading it at run time.
import type * as z from "zod/v4";
import type { ApiKeyEntry as ApiKeyEntrySchema, RemoteAuthSettings as RemoteAuthSchema } from "../settings/schema.js";

export type RemoteAuthSettings = z.infer<typeof RemoteAuthSchema>;
export type ApiKeyEntry = z.infer<typeof ApiKeyEntrySchema>;
