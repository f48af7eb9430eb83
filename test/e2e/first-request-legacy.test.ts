// Conformance, 2025-era (legacy) clients: every request that names an item works as the first
// request after the handshake (the cases: first-request-cases.ts).
import { firstRequestSuites } from "./first-request-cases.js";

firstRequestSuites("legacy");
