// The settings module: schema, loading, layering and ${VAR} expansion.
export * from "./schema.js";
export * from "./paths.js";
export * from "./errors.js";
export * from "./expand.js";
export * from "./resolve.js";
export * from "./load.js";
