// The machine's real PostgreSQL (127.0.0.1:5432, trust auth, database `test`), shared with other
// tests: each test gets its own schema (and, when it asks, its own login role) with a random suffix,
// reached through the URL's search_path, and drops them afterwards.
import { randomBytes } from "node:crypto";
import { createConnection, createServer, type Server, type Socket } from "node:net";
import pg from "pg";

export const PG_HOST = "127.0.0.1";
export const PG_PORT = 5432;
export const PG_DATABASE = "test";

export interface PgScratch {
  schema: string;
  /** The superuser's URL, with search_path set to the scratch schema. */
  adminUrl: string;
  /** The URL of `user` (default the superuser), search_path set to the scratch schema; `port` for a proxy. */
  urlFor(user?: string, port?: number): string;
  /** Runs SQL as the superuser in the scratch schema. */
  admin<T extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, params?: unknown[]): Promise<pg.QueryResult<T>>;
  /** Creates a LOGIN role (dropped by drop()). */
  createRole(): Promise<string>;
  drop(): Promise<void>;
}

/** Why the machine's PostgreSQL cannot be used, or undefined when it can. */
export async function postgresUnavailable(): Promise<string | undefined> {
  const c = new pg.Client({ host: PG_HOST, port: PG_PORT, database: PG_DATABASE, user: "postgres", connectionTimeoutMillis: 3000 });
  try {
    await c.connect();
    await c.query("SELECT 1");
    return undefined;
  } catch (e) {
    return `PostgreSQL at ${PG_HOST}:${PG_PORT}/${PG_DATABASE} is not reachable (${(e as Error).message})`;
  } finally {
    await c.end().catch(() => undefined);
  }
}

export async function pgScratch(): Promise<PgScratch> {
  const suffix = randomBytes(5).toString("hex");
  const schema = `mcpw_audit_${suffix}`;
  const roles: string[] = [];
  const urlFor = (user = "postgres", port = PG_PORT) => `postgresql://${user}@${PG_HOST}:${port}/${PG_DATABASE}?options=${encodeURIComponent(`-c search_path=${schema}`)}`;
  const client = new pg.Client({ connectionString: urlFor() });
  client.on("error", () => undefined);
  await client.connect();
  await client.query(`CREATE SCHEMA ${schema}`);
  return {
    schema,
    adminUrl: urlFor(),
    urlFor,
    admin: (sql, params) => client.query(sql, params),
    async createRole() {
      const role = `mcpw_gw_${suffix}_${roles.length}`;
      await client.query(`CREATE ROLE ${role} LOGIN`);
      roles.push(role);
      return role;
    },
    async drop() {
      try {
        await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
        for (const role of roles) {
          await client.query(`DROP OWNED BY ${role}`);
          await client.query(`DROP ROLE IF EXISTS ${role}`);
        }
      } finally {
        await client.end().catch(() => undefined);
      }
    },
  };
}

/** Runs `fn` with a client connected to `url`, and disconnects it afterwards. */
export async function withPgClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url });
  c.on("error", () => undefined);
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

export interface TcpProxy {
  port: number;
  /** Stops listening and cuts every connection: PostgreSQL becomes unreachable through it. */
  cut(): Promise<void>;
  /** Listens again on the same port after a cut: PostgreSQL is reachable again. */
  restore(): Promise<void>;
}

/** A TCP proxy on 127.0.0.1 to PostgreSQL, so a test can make the database unreachable for one process only. */
export async function pgProxy(): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  const open = (port: number) => {
    const server = createServer((client) => {
      const upstream = createConnection({ host: PG_HOST, port: PG_PORT });
      for (const s of [client, upstream]) {
        sockets.add(s);
        s.on("close", () => sockets.delete(s));
        s.on("error", () => undefined);
      }
      client.pipe(upstream).pipe(client);
    });
    return new Promise<{ server: Server; port: number }>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => {
        const address = server.address();
        resolve({ server, port: typeof address === "object" && address ? address.port : 0 });
      });
    });
  };
  let current: Server | undefined;
  const first = await open(0);
  current = first.server;
  return {
    port: first.port,
    cut: () =>
      new Promise<void>((done) => {
        const server = current;
        current = undefined;
        for (const s of sockets) s.destroy();
        if (!server) return done();
        server.close(() => done());
      }),
    restore: async () => {
      if (current) return;
      current = (await open(first.port)).server;
    },
  };
}
