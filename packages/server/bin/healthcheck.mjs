#!/usr/bin/env node
// Container health check (Docker HEALTHCHECK, Kubernetes exec probes). GETs FEDWEB_HEALTH_URL (default
// http://127.0.0.1:8080/api/status) within 4 s and exits 0 when the server answers 200. With auth on,
// /api/status wants a token: FEDWEB_HEALTH_TOKEN (a viewer token) is sent as a bearer when set; without one a
// 401 also counts as healthy (the HTTP server answers; the token check itself ran). Anything else exits 1.
const url = process.env.FEDWEB_HEALTH_URL || 'http://127.0.0.1:8080/api/status';
const token = process.env.FEDWEB_HEALTH_TOKEN;
try {
  const res = await fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {}, signal: AbortSignal.timeout(4000) });
  await res.arrayBuffer();
  const healthy = res.status === 200 || (!token && res.status === 401);
  if (!healthy) console.error(`unhealthy: GET ${url} answered HTTP ${res.status}`);
  process.exit(healthy ? 0 : 1);
} catch (e) {
  console.error(`unhealthy: GET ${url} failed: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
}
