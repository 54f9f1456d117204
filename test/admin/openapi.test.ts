// The OpenAPI description against the routes the app really registers, both
// ways, with and without demo mode; and auth coverage derived from the same
// route table. Uses the HTTP-layer harness (fake-node.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { build } from './harness.ts';

type Doc = { openapi: string; paths: Record<string, Record<string, { security?: unknown[] }>> };

for (const demo of [false, true]) {
  for (const auth of [false, true]) {
    test(`every registered route is described and every described path is registered (demo ${demo}, auth ${auth})`, async (t) => {
      const { app } = build({ demo, ...(auth ? { adminToken: 'tok' } : {}) });
      t.after(() => app.close());
      await app.ready();
      const res = await app.inject({ method: 'GET', url: '/openapi.json', headers: auth ? { authorization: 'Bearer tok' } : {} });
      assert.equal(res.statusCode, 200);
      const doc = res.json() as Doc;
      assert.equal(doc.openapi, '3.1.0');

      const registered = new Set(app.adminRoutes.filter((r) => !r.static).map((r) => `${r.method} ${r.url}`));
      const described = new Set(Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`)));
      // The dashboard page is described as GET /; fastify registers it as a static file.
      assert.ok(app.adminRoutes.some((r) => r.static && r.method === 'GET' && r.url === '/'), 'the dashboard is served at /');
      registered.add('GET /');

      assert.deepEqual([...registered].filter((r) => !described.has(r)).sort(), [], 'registered but not described');
      assert.deepEqual([...described].filter((d) => !registered.has(d)).sort(), [], 'described but not registered');
      assert.equal(described.has('POST /demo/kill-primary'), demo);

      // Security in the description matches the app: open routes say so, the others need the bearer.
      for (const r of app.adminRoutes.filter((x) => !x.static)) {
        const op = doc.paths[r.url]?.[r.method.toLowerCase()];
        assert.ok(op, `${r.method} ${r.url}`);
        const needsToken = auth && !r.public;
        assert.equal((op.security ?? []).length > 0, needsToken, `security of ${r.method} ${r.url}`);
        if (needsToken) {
          const denied = await app.inject({ method: r.method as 'GET', url: r.url });
          assert.equal(denied.statusCode, 401, `${r.method} ${r.url} refuses a request without the token`);
        }
      }
    });
  }
}

test('only the static files the page needs are served', async (t) => {
  const { app } = build();
  t.after(() => app.close());
  await app.ready();
  const statics = app.adminRoutes.filter((r) => r.static && r.method === 'GET').map((r) => r.url).sort();
  assert.deepEqual(statics, ['/', '/app.js', '/index.html', '/style.css', '/vendor/uplot/uPlot.iife.min.js', '/vendor/uplot/uPlot.min.css']);
  assert.ok(app.adminRoutes.filter((r) => r.static).every((r) => r.public));
});
